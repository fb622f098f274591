"""Browser log-in: a small form that sets an HttpOnly, SameSite=Strict session cookie; one-time links."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from veilig.storage import Database
from veilig.storage.auth import (
    SESSION_HOURS,
    consume_login_link,
    end_session,
    start_session,
    user_for_token,
)

from .. import csrf, ratelimit
from ..deps import SESSION_COOKIE, get_db

router = APIRouter(tags=["inloggen"], include_in_schema=True)


def _login_page(request: Request, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    """The login form, with a fresh pre-login cookie whose CSRF token the form carries (login CSRF)."""
    from veilig.web.render import page

    value = csrf.new_prelogin_value()
    request.state.prelogin = value
    response = page(request, "login.html", None, status_code=status_code, error=error)
    response.set_cookie(csrf.PRELOGIN_COOKIE, value, httponly=True, samesite="strict", path="/login",
                        max_age=3600, secure=request.app.state.settings.cookie_secure)
    return response


def _with_session(request: Request, db: Database, user, target: str = "/") -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, start_session(db, user), httponly=True, samesite="strict",
                        max_age=SESSION_HOURS * 3600, path="/",
                        secure=request.app.state.settings.cookie_secure)
    response.delete_cookie(csrf.PRELOGIN_COOKIE, path="/login")
    return response


@router.get("/login", response_class=HTMLResponse, summary="Inlogformulier")
def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/login", summary="Inloggen met een token")
async def login(request: Request, token: str = Form(...), db: Database = Depends(get_db)):
    # Login CSRF: the form must come from our own login page (its pre-login cookie and token).
    await csrf.check(request, request.cookies.get(csrf.PRELOGIN_COOKIE) or "",
                     request.app.state.settings.allowed_origins)
    if not request.cookies.get(csrf.PRELOGIN_COOKIE):
        raise HTTPException(status_code=403, detail=csrf.REFUSED)
    wait = ratelimit.limiter(request).retry_after(ratelimit.client_key(request))
    if wait is not None:
        response = _login_page(request, ratelimit.TOO_MANY.format(s=wait).capitalize() + ".", status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = user_for_token(db, token.strip())
    if user is None:
        ratelimit.record_failure(request)
        return _login_page(request, "Onbekend of ongeldig token.", status_code=401)
    return _with_session(request, db, user)


@router.get("/login/once", summary="Eenmalige inloglink (zoals veilig serve die toont)")
def login_once(request: Request, token: str, db: Database = Depends(get_db)):
    wait = ratelimit.limiter(request).retry_after(ratelimit.client_key(request))
    if wait is not None:
        response = _login_page(request, ratelimit.TOO_MANY.format(s=wait).capitalize() + ".", status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = consume_login_link(db, token)
    if user is None:
        ratelimit.record_failure(request)
        return _login_page(request, "Deze inloglink is al gebruikt of verlopen.", status_code=401)
    return _with_session(request, db, user)


@router.post("/logout", summary="Uitloggen")
async def logout(request: Request, db: Database = Depends(get_db)):
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await csrf.check(request, cookie, request.app.state.settings.allowed_origins)
        end_session(db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
