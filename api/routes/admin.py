"""Administration: users and the audit log (admin only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from veilig.storage import Database
from veilig.storage.auth import Principal, add_user, list_users, read_audit

from ..deps import ADMIN, get_db, require_roles

router = APIRouter(prefix="/api/v1", tags=["beheer"])
admin_only = require_roles(ADMIN)


class UserIn(BaseModel):
    name: str
    role: str


class UserOut(BaseModel):
    id: int
    name: str
    role: str


class NewUser(UserOut):
    token: str


class AuditOut(BaseModel):
    at: datetime
    user_name: str
    role: str
    action: str
    target: str
    detail: str | None


@router.get("/users", response_model=list[UserOut], summary="Actieve gebruikers")
def users(user: Principal = Depends(admin_only), db: Database = Depends(get_db)) -> list[UserOut]:
    return [UserOut(id=u.id, name=u.name, role=u.role) for u in list_users(db)]


@router.post("/users", response_model=NewUser, status_code=201, summary="Gebruiker toevoegen; het token staat alleen in dit antwoord")
def create_user(body: UserIn, user: Principal = Depends(admin_only), db: Database = Depends(get_db)) -> NewUser:
    token = add_user(db, body.name, body.role)
    created = next(u for u in list_users(db) if u.name == body.name.strip())
    return NewUser(id=created.id, name=created.name, role=created.role, token=token)


@router.get("/audit", response_model=list[AuditOut], summary="Auditlog: wie las of wijzigde welke gegevens")
def audit_log(limit: int = 200, user: Principal = Depends(admin_only), db: Database = Depends(get_db)) -> list[AuditOut]:
    return [AuditOut(**row) for row in read_audit(db, min(max(limit, 1), 5000))]
