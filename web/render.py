"""Server-rendered pages: one Jinja2 environment, one layout, the navigation per role.

Every page extends ``layout.html`` and is rendered through :func:`page`, which adds what the
layout needs (the user, the navigation of their role, the CSRF token for forms). Autoescaping is
on for every template, so a value can never become markup; templates use no inline script (the
header CSP has no ``'unsafe-inline'`` for scripts) and only the stylesheet under ``/assets``.

Dutch for everything a person reads; identifiers stay English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.autoescape = True


def _register_filters() -> None:
    """Dutch notation for what pages print: money, dates, numbers, statuses."""
    from zoneinfo import ZoneInfo

    from veilig.dates import format_date_nl
    from veilig.ledger.money import format_euros
    from veilig.ledger.status import label

    amsterdam = ZoneInfo("Europe/Amsterdam")

    def nl_datetime(value) -> str:
        return value.astimezone(amsterdam).strftime("%d-%m-%Y %H:%M") if value else ""

    def nl_number(value, decimals: int = 2) -> str:
        if value is None:
            return "—"
        text = f"{float(value):,.{decimals}f}"
        return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")

    def status_nl(value) -> str:
        try:
            return label(value)
        except ValueError:
            return str(value)

    def postcode(value) -> str:
        return f"{value[:4]} {value[4:]}" if value and len(value) == 6 else (value or "")

    templates.env.filters.update(euro=lambda c: format_euros(c) if c is not None else "—",
                                 nl_date=format_date_nl, nl_datetime=nl_datetime, nl_number=nl_number,
                                 status_nl=status_nl, postcode=postcode)


_register_filters()

ROLE_LABELS = {
    "analyst": "analist (ondermijning)",
    "planner": "planner (handhaving)",
    "subsidy": "subsidiebalie",
    "admin": "beheerder",
}

#: The navigation bar per role: (label, path). Features add their pages here, one table for all.
NAV: dict[str, list[tuple[str, str]]] = {
    "analyst": [
        ("Start", "/"),
        ("Hotspotkaart", "/maps/hotspots?category=drugs"),
        ("Ritme van de Stad", "/maps/rhythm?theme=ondermijning"),
        ("Uploaden", "/analyse/upload"),
        ("Dashboard", "/dashboard"),
    ],
    "planner": [
        ("Start", "/"),
        ("Hotspotkaart", "/maps/hotspots?category=burglary"),
        ("Ritme van de Stad", "/maps/rhythm?theme=jeugd"),
        ("Dienstenplan", "/planning"),
        ("Dashboard", "/dashboard"),
    ],
    "subsidy": [
        ("Start", "/"),
        ("Balie", "/balie"),
        ("Aanvragen", "/balie/aanvragen"),
        ("Nieuwe aanvraag", "/balie/aanvragen/nieuw"),
        ("Wachtlijst", "/balie/wachtlijst"),
        ("Subsidiekaart", "/maps/subsidy"),
        ("Dashboard", "/dashboard"),
    ],
    "admin": [
        ("Start", "/"),
        ("Beheer", "/beheer"),
        ("Gebruikers", "/beheer/gebruikers"),
        ("Auditlog", "/beheer/audit"),
        ("Subsidiekaart", "/maps/subsidy"),
        ("Hotspotkaart", "/maps/hotspots?category=burglary"),
        ("Dashboard", "/dashboard"),
    ],
}


def nav_for(role: str) -> list[tuple[str, str]]:
    return list(NAV.get(role, [("Start", "/")]))


def csrf_token_for_request(request: Request) -> str:
    """The CSRF token of this browser's session (or of its pre-login cookie on the login page)."""
    from veilig.api import csrf
    from veilig.api.deps import SESSION_COOKIE

    cookie = request.cookies.get(SESSION_COOKIE) or getattr(request.state, "prelogin", None) \
        or request.cookies.get(csrf.PRELOGIN_COOKIE) or ""
    return csrf.token_for(cookie) if cookie else ""


def page(
    request: Request,
    template: str,
    user: Any | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` (which extends ``layout.html``) for ``user`` (a Principal, or None)."""
    token = csrf_token_for_request(request)

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="csrf_token" value="%s">') % escape(token)

    ctx = {
        "request": request,
        "user": user,
        "role_label": ROLE_LABELS.get(getattr(user, "role", ""), ""),
        "nav": nav_for(user.role) if user is not None else [],
        "current_path": request.url.path,
        "csrf_token": token,
        "csrf_field": csrf_field,
        **context,
    }
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
