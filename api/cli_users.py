"""``veilig users``: add and list users. The token is printed once, alone on the last line."""

from __future__ import annotations

from typing import Annotated

import typer

users_app = typer.Typer(help="Users and their roles (analyst, planner, subsidy, admin).", no_args_is_help=True)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option(help="analyst | planner | subsidy | admin")],
) -> None:
    """Create a user; prints its token once (stored only as a hash)."""
    from veilig.storage.auth import add_user

    from .context import cli_database

    token = add_user(cli_database(), name, role)
    typer.echo(f"gebruiker '{name}' ({role}) aangemaakt; bewaar dit token, het wordt niet opnieuw getoond:")
    typer.echo(token)


@users_app.command("list")
def list_() -> None:
    """List active users and their roles."""
    from veilig.storage.auth import list_users

    from .context import cli_database

    for u in list_users(cli_database()):
        typer.echo(f"{u.id}\t{u.name}\t{u.role}")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
