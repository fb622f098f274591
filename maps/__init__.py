"""veilig.maps"""
