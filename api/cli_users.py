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
def list_(as_json: Annotated[bool, typer.Option("--json", help="print the users as JSON")] = False) -> None:
    """List active users and their roles."""
    import json

    from veilig.storage.auth import list_users

    from .context import cli_database
    from .tables import Col, print_table

    users = list_users(cli_database())
    if as_json:
        typer.echo(json.dumps([{"id": u.id, "name": u.name, "role": u.role} for u in users], ensure_ascii=False))
        return
    if not users:
        typer.echo("Nog geen gebruikers: maak er een met 'veilig users add NAAM --role ROL'.")
        return
    print_table([Col("id", "right"), Col("naam"), Col("rol")], [(u.id, u.name, u.role) for u in users])


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
