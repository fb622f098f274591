"""veilig.ledger"""
