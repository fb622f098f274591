"""``veilig users``: add and list users. The token is printed once, alone on the last line."""

from __future__ import annotations

from typing import Annotated

import typer

users_app = typer.Typer(help="Gebruikers en hun rollen (analyst, planner, subsidy, admin).", no_args_is_help=True)


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="gebruikersnaam")],
    role: Annotated[str, typer.Option(help="analyst | planner | subsidy | admin")],
) -> None:
    """Maak een gebruiker aan; toont zijn token één keer (alleen als hash bewaard)."""
    from veilig.storage.auth import add_user

    from .context import cli_database

    token = add_user(cli_database(), name, role)
    typer.echo(f"gebruiker '{name}' ({role}) aangemaakt; bewaar dit token, het wordt niet opnieuw getoond:")
    typer.echo(token)


@users_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="de gebruikers als JSON, voor scripts")] = False) -> None:
    """De actieve gebruikers en hun rollen."""
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
