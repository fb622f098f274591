"""Request dependencies: the database, the current user (Bearer token or session cookie), role checks."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from veilig.settings import Settings
from veilig.storage import Database
from veilig.storage.auth import Principal, user_for_session, user_for_token

SESSION_COOKIE = "veilig_session"
_bearer = HTTPBearer(auto_error=False)


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


class LoginRequired(Exception):
    """Raised for a browser without a session: the app answers with a redirect to /login."""


async def current_user(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    db: Database = Depends(get_db),
) -> Principal:
    """The caller, from a Bearer token or the session cookie.

    A state-changing request authenticated by the cookie must also pass the CSRF check
    (:mod:`veilig.api.csrf`): same origin and the session's token. Bearer requests need not.
    """
    if credentials is not None:
        return bearer_user(request, credentials.credentials, db)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        user = user_for_session(db, cookie)
        if user is not None:
            from . import csrf

            await csrf.check(request, cookie, request.app.state.settings.allowed_origins)
            return user
    if request.url.path.startswith("/api/"):
        raise HTTPException(status_code=401, detail="token ontbreekt: stuur 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    raise LoginRequired()


def bearer_user(request: Request, token: str, db: Database) -> Principal:
    """The user of a Bearer token; failures count towards the client's login limit (429 beyond)."""
    from . import ratelimit

    ratelimit.refuse_if_blocked(request)
    user = user_for_token(db, token)
    if user is None:
        ratelimit.record_failure(request)
        raise HTTPException(status_code=401, detail="ongeldig token", headers={"WWW-Authenticate": "Bearer"})
    return user


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""

    def check(user: Principal = Depends(current_user)) -> Principal:
        if user.role not in roles:
            raise HTTPException(status_code=403,
                                detail=f"uw rol ({ROLE_NL.get(user.role, user.role)}) mag dit niet gebruiken; "
                                       f"toegestaan: {', '.join(ROLE_NL.get(r, r) for r in roles)}")
        return user

    return check


# Who may do what (BRIEF section 6). One table, so tests can walk every role x route pair.
ANALYST, PLANNER, SUBSIDY, ADMIN = "analyst", "planner", "subsidy", "admin"
ALL_ROLES = (ANALYST, PLANNER, SUBSIDY, ADMIN)
ROLE_NL = {ANALYST: "analist", PLANNER: "planner", SUBSIDY: "subsidiebalie", ADMIN: "beheerder"}
