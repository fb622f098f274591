"""Users, tokens, browser sessions, one-time login links and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select, update

from veilig.errors import ConflictError, VeiligError

from .auth_tables import AuditEntry, LoginLink, LoginSession, User
from .db import Database

ROLES = ("analyst", "planner", "subsidy", "admin")
SESSION_HOURS = 12
LOGIN_LINK_MINUTES = 60 * 24


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    id: int
    name: str
    role: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def add_user(db: Database, name: str, role: str) -> str:
    """Create a user; return the token (shown once, stored only as a hash)."""
    name = name.strip()
    if role not in ROLES:
        raise VeiligError(f"rol: '{role}' is geen van {', '.join(ROLES)}")
    if not name or len(name) > 100:
        raise VeiligError("naam: geef een naam van 1 tot 100 tekens")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in "\u2028\u2029" for ch in name):
        raise VeiligError("naam: geen stuurtekens (zoals NUL) in een gebruikersnaam")
    token = new_token()
    with db.write() as conn:
        if conn.execute(select(User.id).where(User.name == name)).first():
            raise ConflictError(f"naam: er bestaat al een gebruiker '{name}'")
        conn.execute(insert(User).values(name=name, role=role, token_hash=hash_token(token),
                                         active=True, created_at=_now()))
    return token


def list_users(db: Database) -> list[Principal]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(User.id, User.name, User.role).where(User.active).order_by(User.id))
        return [Principal(*r) for r in rows]


def count_users(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(User)).scalar_one())


def user_for_token(db: Database, token: str) -> Principal | None:
    with db.engine.connect() as conn:
        row = conn.execute(select(User.id, User.name, User.role)
                           .where(User.token_hash == hash_token(token), User.active)).first()
    return Principal(*row) if row else None


def start_session(db: Database, user: Principal) -> str:
    token = new_token()
    now = _now()
    with db.write() as conn:
        conn.execute(insert(LoginSession).values(token_hash=hash_token(token), user_id=user.id, created_at=now,
                                                 expires_at=now + timedelta(hours=SESSION_HOURS)))
    return token


def user_for_session(db: Database, token: str) -> Principal | None:
    with db.engine.connect() as conn:
        row = conn.execute(
            select(User.id, User.name, User.role, LoginSession.expires_at)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.token_hash == hash_token(token), User.active)
        ).first()
    if row is None or _aware(row.expires_at) < _now():
        return None
    return Principal(row.id, row.name, row.role)


def end_session(db: Database, token: str) -> None:
    with db.write() as conn:
        conn.execute(LoginSession.__table__.delete().where(LoginSession.token_hash == hash_token(token)))


def create_login_link(db: Database, user: Principal) -> str:
    token = new_token()
    with db.write() as conn:
        conn.execute(insert(LoginLink).values(token_hash=hash_token(token), user_id=user.id,
                                              expires_at=_now() + timedelta(minutes=LOGIN_LINK_MINUTES)))
    return token


def consume_login_link(db: Database, token: str) -> Principal | None:
    """Use a one-time link: valid once, before it expires."""
    now = _now()
    with db.write() as conn:
        row = conn.execute(select(LoginLink.user_id, LoginLink.expires_at, LoginLink.used_at)
                           .where(LoginLink.token_hash == hash_token(token))).first()
        if row is None or row.used_at is not None or _aware(row.expires_at) < now:
            return None
        conn.execute(update(LoginLink).where(LoginLink.token_hash == hash_token(token)).values(used_at=now))
        user = conn.execute(select(User.id, User.name, User.role).where(User.id == row.user_id, User.active)).first()
    return Principal(*user) if user else None


def ensure_first_admin(db: Database) -> str | None:
    """When no admin exists yet: create ``admin`` and return a one-time login token."""
    if any(u.role == "admin" for u in list_users(db)):
        return None
    name = "admin" if not any(u.name == "admin" for u in list_users(db)) else "beheerder"
    add_user(db, name, "admin")
    admin = next(u for u in list_users(db) if u.name == name)
    return create_login_link(db, admin)


def audit(db: Database, user: Principal, action: str, target: str, detail: str | None = None,
          conn=None) -> None:
    """Record a read or change of incident-level or personal data.

    With ``conn`` the entry is written in that (open) transaction, so a change and its audit entry
    are committed together or not at all.
    """
    values = dict(at=_now(), user_name=user.name, role=user.role, action=action, target=target[:500],
                  detail=detail)
    if conn is not None:
        conn.execute(insert(AuditEntry).values(**values))
        return
    with db.write() as conn:
        conn.execute(insert(AuditEntry).values(**values))


def read_audit(db: Database, limit: int = 200) -> list[dict]:
    with db.engine.connect() as conn:
        rows = conn.execute(select(AuditEntry.at, AuditEntry.user_name, AuditEntry.role, AuditEntry.action,
                                   AuditEntry.target, AuditEntry.detail)
                            .order_by(AuditEntry.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


def cli_principal() -> Principal:
    """Who runs a command on the server itself (the audit log names the operating-system user)."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Principal(id=0, name=f"cli:{name}", role="cli")


# --------------------------------------------------------------------------- administration (the /beheer pages)


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    role: str
    active: bool
    created_at: datetime


def list_all_users(db: Database) -> list[UserRow]:
    """Every user, disabled ones included (the admin page shows both)."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(User.id, User.name, User.role, User.active, User.created_at).order_by(User.id))
        return [UserRow(r.id, r.name, r.role, bool(r.active), _aware(r.created_at)) for r in rows]


def _user_row(conn, user_id: int):
    from veilig.errors import NotFoundError

    row = conn.execute(select(User.id, User.name, User.role, User.active).where(User.id == user_id)).first()
    if row is None:
        raise NotFoundError(f"gebruiker {user_id} bestaat niet")
    return row


def set_user_active(db: Database, user_id: int, active: bool, *, by: Principal) -> None:
    """Disable (or enable again) a user; disabling ends their browser sessions at once.

    An admin cannot disable themselves, and the last active admin cannot be disabled: nobody could
    then manage users any more.
    """
    with db.write() as conn:
        row = _user_row(conn, user_id)
        if not active:
            if row.id == by.id:
                raise ConflictError("u kunt uw eigen account niet uitschakelen")
            if row.role == "admin":
                admins = conn.execute(select(func.count()).select_from(User)
                                      .where(User.role == "admin", User.active)).scalar_one()
                if admins <= 1:
                    raise ConflictError("dit is de laatste actieve beheerder; die kan niet worden uitgeschakeld")
            conn.execute(LoginSession.__table__.delete().where(LoginSession.user_id == user_id))
        conn.execute(update(User).where(User.id == user_id).values(active=active))


def rotate_token(db: Database, user_id: int) -> str:
    """Give a user a new token (returned once); the old token and the user's sessions stop working."""
    token = new_token()
    with db.write() as conn:
        _user_row(conn, user_id)
        conn.execute(update(User).where(User.id == user_id).values(token_hash=hash_token(token)))
        conn.execute(LoginSession.__table__.delete().where(LoginSession.user_id == user_id))
    return token


def search_audit(db: Database, *, user_name: str | None = None, action: str | None = None,
                 start: datetime | None = None, end: datetime | None = None,
                 offset: int = 0, limit: int = 100) -> tuple[list[dict], int]:
    """Audit entries, newest first, filtered by user, action (prefix) and time ``[start, end)``; and the total."""
    conds = []
    if user_name:
        conds.append(AuditEntry.user_name == user_name)
    if action:
        conds.append(AuditEntry.action.like(action.replace("%", "").replace("_", "\\_") + "%", escape="\\"))
    if start is not None:
        conds.append(AuditEntry.at >= start)
    if end is not None:
        conds.append(AuditEntry.at < end)
    with db.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(AuditEntry).where(*conds)).scalar_one()
        rows = conn.execute(select(AuditEntry.at, AuditEntry.user_name, AuditEntry.role, AuditEntry.action,
                                   AuditEntry.target, AuditEntry.detail).where(*conds)
                            .order_by(AuditEntry.id.desc()).offset(max(0, offset)).limit(min(max(1, limit), 1000)))
        out = [{**dict(r._mapping), "at": _aware(r.at)} for r in rows]
    return out, int(total)


def audit_actions(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action))]
