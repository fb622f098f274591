"""Cross-site request forgery protection for cookie-authenticated requests (issues 9 and 10).

SameSite=Strict already keeps the session cookie off cross-*site* requests, but another port or
subdomain of the same host is the same site: an auto-submitting form there would ride on the
cookie. So every state-changing request that is authenticated by the session cookie must also

1. come from this origin: ``Origin`` equal to the request's own origin (or, when a client sends no
   ``Origin``, a ``Referer`` on this origin; with neither it is refused), and
2. carry the session's CSRF token, in the form field ``csrf_token`` or the header ``X-CSRF-Token``.

The token is ``sha256("veilig-csrf|" + session cookie)``: only a page that can read the HttpOnly
cookie's value (the server) can compute it, it needs no server-side state, and it changes with
every session. Requests with ``Authorization: Bearer`` are not affected (a cross-site page cannot
add that header). The login form is protected the same way with a pre-login cookie
(:data:`PRELOGIN_COOKIE`, double-submit), so no other site can log a browser into an account of
the attacker's choosing.

Pages put the token in every form with ``{{ csrf_field() }}`` (see :mod:`veilig.web.render`).
The pages send ``Referrer-Policy: same-origin``: with ``no-referrer`` Chromium sends
``Origin: null`` on same-origin form posts, which would make check 1 refuse our own forms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
#: Random value set on the login form's response; the form echoes it back (double submit).
PRELOGIN_COOKIE = "veilig_prelogin"

REFUSED = "verzoek geweigerd: het formulier is verlopen of komt niet van deze site (CSRF); laad de pagina opnieuw"


def token_for(cookie_value: str) -> str:
    """The CSRF token that belongs to a session (or pre-login) cookie value."""
    return hashlib.sha256(f"veilig-csrf|{cookie_value}".encode()).hexdigest()


def new_prelogin_value() -> str:
    return secrets.token_urlsafe(32)


def own_origin(request: Request) -> str:
    """``scheme://host[:port]`` of this request as the browser addressed it (Host header)."""
    return f"{request.url.scheme}://{request.url.netloc}".lower()


def same_origin(request: Request, allowed: tuple[str, ...] = ()) -> bool:
    """True when ``Origin`` (or, without it, ``Referer``) names this site's origin or one of ``allowed``."""
    ok = {own_origin(request), *(a.rstrip("/").lower() for a in allowed)}
    origin = request.headers.get("origin")
    if origin is not None:
        return origin.rstrip("/").lower() in ok
    referer = request.headers.get("referer")
    if referer:
        return any(referer.lower() == o or referer.lower().startswith(o + "/") for o in ok)
    return False


async def submitted_token(request: Request) -> str | None:
    """The token from the header, or from the form body (urlencoded or multipart, parsed once and cached)."""
    header = request.headers.get(HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data"):
        form = await request.form()
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check(request: Request, cookie_value: str, allowed_origins: tuple[str, ...] = ()) -> None:
    """Raise 403 unless an unsafe request is same-origin and carries the token of ``cookie_value``."""
    if request.method in SAFE_METHODS:
        return
    if not same_origin(request, allowed_origins):
        raise HTTPException(status_code=403, detail=REFUSED)
    token = await submitted_token(request)
    if not token or not hmac.compare_digest(token, token_for(cookie_value)):
        raise HTTPException(status_code=403, detail=REFUSED)
