"""The ``veilig`` command line (Typer). Thin: it parses, calls geo/ledger/storage, prints."""

from __future__ import annotations

import sys

import typer

from veilig.errors import VeiligError

app = typer.Typer(
    help="veilig: hotspots, Ritme van de Stad en de subsidie voor hang- en sluitwerk van Zoetermeer.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    # Each command group lives in its own module; import here so a missing optional piece
    # never breaks the others.
    from . import cli_foundation

    cli_foundation.register(app)
    for name in ("cli_hotspots", "cli_subsidy", "cli_rhythm", "cli_maps", "cli_users", "cli_nearrepeat",
                 "cli_emerging", "cli_indicators"):
        try:
            module = __import__(f"veilig.api.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name == f"veilig.api.{name}":
                continue
            raise
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point: clear messages instead of tracebacks."""
    try:
        # standalone_mode=False: click returns the code of typer.Exit instead of exiting.
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except VeiligError as exc:
        typer.secho(f"fout: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("afgebroken", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        typer.secho(f"interne fout ({type(exc).__name__}): {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)
