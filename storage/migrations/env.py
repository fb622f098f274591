"""Alembic environment: runs against the engine veilig hands over (no alembic.ini needed)."""

from alembic import context

from veilig.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        # Alembic runs inside our own BEGIN on SQLite; make sure it is committed.
        if connection.in_transaction():
            connection.commit()


run_migrations_online()
