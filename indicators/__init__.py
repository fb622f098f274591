"""Programma 5 in cijfers: the indicator register, its rules, computed indicators and projections.

Pure logic only (no HTTP, no database): storage lives in ``veilig.storage.indicators_repo``.
"""
