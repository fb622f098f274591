"""Browser log-in: a small form that sets an HttpOnly, SameSite=Strict session cookie; one-time links."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from veilig.storage import Database
from veilig.storage.auth import (
    SESSION_HOURS,
    consume_login_link,
    end_session,
    start_session,
    user_for_token,
)

from ..deps import SESSION_COOKIE, get_db

router = APIRouter(tags=["inloggen"], include_in_schema=True)


def _login_page(error: str | None = None) -> str:
    from veilig.maps.pages import login_page

    return login_page(error=error)


def _with_session(db: Database, user, target: str = "/") -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, start_session(db, user), httponly=True, samesite="strict",
                        max_age=SESSION_HOURS * 3600, path="/")
    return response


@router.get("/login", response_class=HTMLResponse, summary="Inlogformulier")
def login_form() -> HTMLResponse:
    return HTMLResponse(_login_page())


@router.post("/login", summary="Inloggen met een token")
def login(token: str = Form(...), db: Database = Depends(get_db)):
    user = user_for_token(db, token.strip())
    if user is None:
        return HTMLResponse(_login_page("Onbekend of ongeldig token."), status_code=401)
    return _with_session(db, user)


@router.get("/login/once", summary="Eenmalige inloglink (zoals veilig serve die toont)")
def login_once(token: str, db: Database = Depends(get_db)):
    user = consume_login_link(db, token)
    if user is None:
        return HTMLResponse(_login_page("Deze inloglink is al gebruikt of verlopen."), status_code=401)
    return _with_session(db, user)


@router.post("/logout", summary="Uitloggen")
def logout(request: Request, db: Database = Depends(get_db)):
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        end_session(db, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
