"""Tables on the terminal that read well at 80 columns: the one way the CLI prints a table.

Rich's default cuts a cell that does not fit with an ellipsis ("Pale…"), which hides exactly the
name a reader looks for. Here no cell is ever cut: every column folds (wraps) instead, and when the
terminal is narrower than the table's natural width the columns of lowest priority are left out,
with a line that says which and that ``--wide`` shows them all. Numbers are in Dutch notation
(``1.234``, ``12,5``) where people read them; ``--json`` on the read commands is for scripts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from veilig.numbers import nl_number


@dataclass(frozen=True)
class Col:
    """A column: its header, alignment and priority (1 = always shown; higher = first to go)."""

    header: str
    justify: str = "left"
    priority: int = 1


def terminal_width() -> int:
    """``COLUMNS`` when set (as tests and pipes do), else the terminal's width, else 80."""
    env = os.environ.get("COLUMNS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return shutil.get_terminal_size((80, 24)).columns


def console() -> Console:
    return Console(width=terminal_width(), soft_wrap=False, highlight=False)


def _natural_width(cols: Sequence[Col], rows: Sequence[Sequence[str]]) -> int:
    widths = [max([len(c.header), *(len(r[i]) for r in rows)]) for i, c in enumerate(cols)]
    # Rich's default box: one space of padding either side and a border per column, plus one.
    return sum(w + 3 for w in widths) + 1


def print_table(cols: Sequence[Col], rows: Sequence[Sequence[object]], *, title: str | None = None,
                wide: bool = False, out: Console | None = None) -> None:
    """Print ``rows`` under ``cols``; nothing is truncated, low-priority columns yield at 80 columns."""
    out = out or console()
    text_rows = [["" if v is None else str(v) for v in r] for r in rows]
    keep = list(range(len(cols)))
    width = out.width
    dropped: list[str] = []
    if not wide:
        for prio in sorted({c.priority for c in cols if c.priority > 1}, reverse=True):
            if _natural_width([cols[i] for i in keep], [[r[i] for i in keep] for r in text_rows]) <= width:
                break
            dropped += [cols[i].header for i in keep if cols[i].priority == prio]
            keep = [i for i in keep if cols[i].priority != prio]
    table = Table(title=title, title_justify="left", expand=False)
    for i in keep:
        table.add_column(cols[i].header, justify=cols[i].justify, overflow="fold", no_wrap=False)
    for r in text_rows:
        table.add_row(*(r[i] for i in keep))
    out.print(table)
    if dropped:
        out.print(f"(kolommen weggelaten om in {width} tekens te passen: {', '.join(dropped)}; --wide toont alle)")


def nl_int(value: object) -> str:
    """An integer in Dutch notation (``12.345``); ``-`` when missing."""
    try:
        if value is None or value != value:
            return "-"
        return f"{int(round(float(value))):,}".replace(",", ".")
    except (TypeError, ValueError):
        return "-"


def nl_dec(value: object, decimals: int = 1, suffix: str = "") -> str:
    """A decimal number in Dutch notation (``1.234,5``); ``-`` when missing."""
    try:
        if value is None or value != value:
            return "-"
        return nl_number(float(value), decimals) + suffix
    except (TypeError, ValueError):
        return "-"
