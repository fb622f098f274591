"""Small plain HTML pages (login, index): no script at all, nothing external, every value escaped."""

from __future__ import annotations

from collections.abc import Sequence

from .policy import finish_page
from .subsidy import budget_html
from .text import escape_html

ROLE_LABELS = {
    "analyst": "analist (ondermijning)",
    "planner": "planner (handhaving)",
    "subsidy": "subsidiebalie",
    "admin": "beheerder",
}
#: Roles that may see the subsidy budget (BRIEF section 6).
BUDGET_ROLES = ("subsidy", "admin")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; background: #f3f4f1;
  color: #222; }
main { max-width: 560px; margin: 48px auto; background: #fff; padding: 24px 28px; border-radius: 8px;
  box-shadow: 0 1px 6px rgba(0,0,0,0.2); }
h1 { font-size: 22px; margin: 0 0 12px 0; }
h2 { font-size: 16px; margin: 20px 0 6px 0; }
label { display: block; margin: 12px 0 4px 0; }
input[type=password] { width: 100%; box-sizing: border-box; padding: 8px; font-size: 15px; }
button { margin-top: 14px; padding: 8px 16px; font-size: 15px; cursor: pointer; }
.error { background: #fde2e1; border: 1px solid #d9534f; padding: 6px 10px; border-radius: 4px; }
ul { padding-left: 20px; } li { margin: 6px 0; }
.veilig-table th { text-align: left; font-weight: normal; color: #444; padding: 2px 12px 2px 0; }
.veilig-table td { text-align: right; padding: 2px 0; }
.muted { color: #666; font-size: 13px; }
"""


def _page(title: str, body: str) -> str:
    html_text = (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape_html(title)}</title>\n"
        f"<style>{_CSS}</style>\n"
        f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
    return finish_page(html_text)


def login_page(error: str | None = None) -> str:
    """The login form: POSTs ``token`` to ``/login``; ``error`` (escaped) above it."""
    err = f'<p class="error" role="alert">{escape_html(error)}</p>' if error else ""
    body = (
        "<h1>veilig: inloggen</h1>"
        f"{err}"
        '<form method="post" action="/login">'
        '<label for="token">Toegangstoken</label>'
        '<input type="password" id="token" name="token" autocomplete="current-password" required autofocus>'
        "<button type=\"submit\">Inloggen</button>"
        "</form>"
        '<p class="muted">Een token krijgt u van de beheerder (<code>veilig users add</code>).</p>'
    )
    return _page("veilig: inloggen", body)


def index_page(
    user_name: str,
    role: str,
    links: Sequence[tuple[str, str]],
    budget: dict | None,
) -> str:
    """The start page: the maps the user's role may open and, for the subsidy roles, the budget.

    ``links`` are ``(label, href)``; an href must be a path on this site (``/...``), anything
    else (``javascript:``, another origin) is refused.
    """
    items = []
    for label, href in links:
        if not _is_local_path(href):
            raise ValueError(f"link is not a path on this site: {href!r}")
        items.append(f'<li><a href="{escape_html(href)}">{escape_html(label)}</a></li>')
    maps = f"<ul>{''.join(items)}</ul>" if items else "<p>Voor uw rol zijn geen kaarten beschikbaar.</p>"
    budget_part = ""
    if budget is not None or role in BUDGET_ROLES:
        budget_part = budget_html(budget).replace("<h2>Budget</h2>", "<h2>Budget subsidie hang- en sluitwerk</h2>")
    body = (
        "<h1>veilig</h1>"
        f"<p>Ingelogd als <b>{escape_html(user_name)}</b> ({escape_html(ROLE_LABELS.get(role, role))}).</p>"
        f"<h2>Kaarten</h2>{maps}"
        f"{budget_part}"
        '<form method="post" action="/logout"><button type="submit">Uitloggen</button></form>'
    )
    return _page("veilig", body)


def _is_local_path(href: str) -> bool:
    return (
        isinstance(href, str)
        and href.startswith("/")
        and not href.startswith("//")
        and "\\" not in href
        and not any(ord(c) < 32 for c in href)
    )
