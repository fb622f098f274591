"""Styled Dutch error pages for browsers; API clients keep their JSON ``{"detail": ...}``.

A request wants a page when it asks for ``text/html`` and is not under ``/api/``. The page says in
Dutch what happened and what to do; the detail is shown when it is a sentence for people (the
ledger's refusals, the role check), never a traceback or the input that was refused.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

#: status -> (title, what it means for the person in front of the screen)
MESSAGES: dict[int, tuple[str, str]] = {
    400: ("Onjuist verzoek", "Het verzoek kon niet worden verwerkt. Controleer wat u invulde en probeer het opnieuw."),
    401: ("Niet ingelogd", "Log eerst in met uw toegangstoken."),
    403: ("Geen toegang", "U mag deze pagina of handeling niet gebruiken met uw rol."),
    404: ("Niet gevonden", "Deze pagina of dit gegeven bestaat niet (meer)."),
    405: ("Niet toegestaan", "Deze handeling kan op dit adres niet."),
    409: ("Conflict", "Dit kan niet in de huidige toestand."),
    413: ("Te groot", "Het bestand is groter dan is toegestaan."),
    422: ("Invoer klopt niet", "Een of meer waarden kloppen niet."),
    429: ("Te veel verzoeken", "U deed te veel verzoeken kort na elkaar. Wacht even en probeer het opnieuw."),
    500: ("Er ging iets mis", "Er ging aan onze kant iets mis. De beheerder kan het in het logboek terugvinden; "
                              "probeer het later opnieuw."),
}
#: Starlette's own English details that have a Dutch equivalent above.
_STOCK = {"Not Found", "Method Not Allowed", "Internal Server Error", "Bad Request", "Unauthorized",
          "Forbidden", "Too Many Requests", "Unprocessable Entity", "Request Entity Too Large"}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, detail: object = None) -> HTMLResponse:
    from .render import page

    title, message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    text = detail if isinstance(detail, str) and detail not in _STOCK else None
    if text:
        import re

        text = re.sub(r"\s*\[regel: [^\]]+\]$", "", text)
    user = _user_of(request)
    return page(request, "error.html", user, status_code=status, title=title, message=message,
                detail=text, status=status)


def _user_of(request: Request):
    """The logged-in user for the navigation bar, when the session cookie is valid (else None)."""
    try:
        from veilig.api.deps import SESSION_COOKIE
        from veilig.storage.auth import user_for_session

        cookie = request.cookies.get(SESSION_COOKIE)
        return user_for_session(request.app.state.db, cookie) if cookie else None
    except Exception:  # an error page must render even when the database is the problem
        return None
