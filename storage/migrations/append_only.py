"""Append-only tables, enforced by the database (a trigger), not only by the code.

Shared by the migrations that create such tables (the ledger's entries and events, the indicator
history). The statements are part of the migrations' history: change them only in a new migration.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


def create_append_only(tables: Sequence[str], function: str) -> None:
    """Refuse UPDATE and DELETE on ``tables``; on PostgreSQL through the trigger function ``function``."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in tables:
            for what in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    elif dialect == "postgresql":
        op.execute(f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$")
        for table in tables:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {function}()")


def drop_append_only(tables: Sequence[str], function: str) -> None:
    """Undo :func:`create_append_only`."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in tables:
            for what in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}")
    elif dialect == "postgresql":
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
