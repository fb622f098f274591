"""veilig.api"""
