"""veilig.geo"""
