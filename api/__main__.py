"""``python -m veilig.api`` runs the command line (same as the ``veilig`` script)."""

from .cli import main

main()
