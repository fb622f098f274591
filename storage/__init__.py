"""Storage: SQLAlchemy models, Alembic migrations and the queries the rest of veilig needs.

Only this package and :mod:`veilig.api` talk to the database; ``geo`` and ``ledger`` stay pure.
"""

from .db import Database, open_database

__all__ = ["Database", "open_database"]
