"""veilig.data"""
