"""Incident upload and import batches over HTTP (analysts): upload, list, undo.

The upload declares no body parameters, so nothing of the body is read before the caller is
authenticated and known to be an analyst (:func:`upload_principal`); the body is then streamed
by :mod:`veilig.api.upload_stream` within the size limit, and the file is read and stored in a
worker thread, so the event loop (and ``/health``) stays free while a big file is checked.
"""

from __future__ import annotations

import hmac
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from veilig.errors import VeiligError
from veilig.geo.categories import label_table
from veilig.geo.io import SUPPORTED, ReadResult, read_incidents
from veilig.storage import Database
from veilig.storage.auth import Principal, audit, user_for_session
from veilig.storage.batches import list_batches, undo_batch
from veilig.storage.incidents import ImportReport, store_incidents

from .. import csrf
from ..deps import ANALYST, SESSION_COOKIE, LoginRequired, bearer_user, get_db, require_roles
from ..upload_stream import StreamedUpload, check_declared_length, read_multipart, too_large

router = APIRouter(prefix="/api/v1", tags=["analyse"])
_bearer = HTTPBearer(auto_error=False)

MAX_NAME = 200
MAX_SOURCE = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class UploadCaller:
    """The authenticated analyst, and the session cookie whose CSRF token is still to be checked
    (None for Bearer callers and when the ``X-CSRF-Token`` header already matched)."""

    user: Principal
    pending_csrf_cookie: str | None


async def upload_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    db: Database = Depends(get_db),
) -> UploadCaller:
    """Authenticate and check the role from the headers alone, before any of the body is read.

    A cookie-authenticated upload must be same-origin and carry the session's CSRF token: in the
    ``X-CSRF-Token`` header, or as the form field ``csrf_token`` *before* the file field (checked
    by the streaming parser before the file is written).
    """
    pending = None
    if credentials is not None:
        user = bearer_user(request, credentials.credentials, db)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        user = user_for_session(db, cookie) if cookie else None
        if user is None:
            if request.url.path.startswith("/api/"):
                raise HTTPException(status_code=401, detail="missing token: send 'Authorization: Bearer <token>'",
                                    headers={"WWW-Authenticate": "Bearer"})
            raise LoginRequired()
        if not csrf.same_origin(request, request.app.state.settings.allowed_origins):
            raise HTTPException(status_code=403, detail=csrf.REFUSED)
        header = request.headers.get(csrf.HEADER)
        if header is not None:
            if not hmac.compare_digest(header, csrf.token_for(cookie)):
                raise HTTPException(status_code=403, detail=csrf.REFUSED)
        else:
            pending = cookie
    if user.role != ANALYST:
        raise HTTPException(status_code=403, detail=f"role '{user.role}' may not use this; allowed: {ANALYST}")
    return UploadCaller(user=user, pending_csrf_cookie=pending)


def _csrf_before_file(caller: UploadCaller):
    def check(fields: dict[str, str]) -> None:
        if caller.pending_csrf_cookie is None:
            return
        token = fields.get(csrf.FORM_FIELD, "")
        if not token or not hmac.compare_digest(token, csrf.token_for(caller.pending_csrf_cookie)):
            raise HTTPException(status_code=403, detail=csrf.REFUSED)
    return check


def check_text(field: str, value: str | None, max_len: int) -> str | None:
    """Refuse control characters and over-long text in a name given by the client (422)."""
    if value is None:
        return None
    value = value.strip()
    if _CONTROL.search(value):
        raise HTTPException(status_code=422, detail=f"{field}: bevat een stuurteken (zoals NUL)")
    if len(value) > max_len:
        raise HTTPException(status_code=422, detail=f"{field}: langer dan {max_len} tekens")
    return value or None


def display_name(filename: str | None) -> str:
    """The file's own name (no directories from the client), checked; only ever shown, never a path."""
    raw = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    name = check_text("bestandsnaam", raw, MAX_NAME)
    if not name or name in (".", ".."):
        raise HTTPException(status_code=422, detail="bestandsnaam: ontbreekt")
    return name


@dataclass
class ImportOutcome:
    name: str
    result: ReadResult
    report: ImportReport | None  # None when refused (invalid rows and no skip_invalid)


def _bool_field(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "on", "yes", "ja")


async def receive_import(request: Request, caller: UploadCaller, db: Database) -> ImportOutcome:
    """Stream the upload, read and check it in a worker thread, store it unless refused."""
    settings = request.app.state.settings
    check_declared_length(request, settings.max_upload_bytes)
    with tempfile.TemporaryDirectory(prefix="veilig-upload-") as tmp:
        # The file is written under a name of our own: the client's name may be 300 characters or
        # hold a NUL, and must never become a path.
        dest = Path(tmp) / "upload.bin"
        upload: StreamedUpload = await read_multipart(request, dest, settings.max_upload_bytes,
                                                      before_file=_csrf_before_file(caller))
        name = display_name(upload.filename)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED:
            raise VeiligError(f"{name}: bestandstype '{suffix[:20]}' wordt niet ondersteund; gebruik "
                              f"{', '.join(sorted(SUPPORTED))}")
        if suffix == ".csv" and upload.newlines > settings.max_upload_rows + 1:
            raise HTTPException(status_code=413, detail=(
                f"{name}: meer dan {settings.max_upload_rows} rijen (VEILIG_MAX_UPLOAD_ROWS); splits het bestand"))
        crs = check_text("crs", upload.fields.get("crs"), 200)
        source = check_text("source", upload.fields.get("source"), MAX_SOURCE)
        skip_invalid = _bool_field(upload.fields.get("skip_invalid"))
        path = dest.rename(Path(tmp) / f"upload{suffix}")
        result = await run_in_threadpool(
            read_incidents, path, crs=crs, source=source, labels=label_table(settings.category_map_file),
            margin_m=settings.boundary_margin_m, earliest=settings.import_earliest,
            future_days=settings.import_future_days, max_rows=settings.max_upload_rows, display_name=name)
        audit(db, caller.user, "import_incidents", name, f"{result.n_rows} rows, {len(result.errors)} errors")
        if result.errors and not skip_invalid:
            return ImportOutcome(name=name, result=result, report=None)
        report = await run_in_threadpool(store_incidents, db, result, skip_invalid=skip_invalid,
                                         imported_by=caller.user.name)
    return ImportOutcome(name=name, result=result, report=report)


class ImportResponse(BaseModel):
    file: str
    rows_in_file: int
    inserted: int
    skipped_existing: int
    invalid_rows: int
    batch_id: int | None = None
    errors: list[dict]


@router.post("/incidents", response_model=ImportResponse, status_code=201,
             summary="Incidenten uploaden (CSV, GeoJSON, GeoPackage, GeoParquet); alleen analisten",
             openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                 "type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary"},
                     "crs": {"type": "string", "maxLength": 200},
                     "source": {"type": "string", "maxLength": MAX_SOURCE},
                     "skip_invalid": {"type": "boolean"}}}}}}})
async def upload_incidents(
    request: Request,
    caller: UploadCaller = Depends(upload_principal),
    db: Database = Depends(get_db),
) -> ImportResponse:
    outcome = await receive_import(request, caller, db)
    errors = [e.__dict__ for e in outcome.result.errors[:1000]]
    if outcome.report is None:
        raise HTTPException(status_code=422, detail={
            "message": (f"{outcome.name}: geweigerd, niets geïmporteerd: {outcome.result.invalid_rows} van "
                        f"{outcome.result.n_rows} rijen zijn ongeldig"),
            "errors": errors})
    rep = outcome.report
    return ImportResponse(file=outcome.name, rows_in_file=rep.rows_in_file, inserted=rep.inserted,
                          skipped_existing=rep.skipped_existing, invalid_rows=rep.invalid_rows,
                          batch_id=rep.batch_id, errors=errors)


class BatchOut(BaseModel):
    id: int
    filename: str
    source: str
    imported_at: str
    imported_by: str | None
    rows_in_file: int
    rows_inserted: int
    rows_skipped_existing: int
    rows_invalid: int
    rows_stored: int
    undone_at: str | None
    undone_by: str | None
    rows_removed: int | None


@router.get("/incidents/batches", response_model=list[BatchOut], summary="Importen (nieuwste eerst); alleen analisten")
def batches(user: Principal = Depends(require_roles(ANALYST)), db: Database = Depends(get_db)) -> list[BatchOut]:
    return [BatchOut(**b.to_dict()) for b in list_batches(db)]


@router.post("/incidents/batches/{batch_id}/undo", response_model=BatchOut,
             summary="Een import ongedaan maken: de incidenten ervan verwijderen; alleen analisten")
def undo(batch_id: int, user: Principal = Depends(require_roles(ANALYST)),
         db: Database = Depends(get_db)) -> BatchOut:
    if not 1 <= batch_id <= 2**31 - 1:
        raise HTTPException(status_code=404, detail=f"import {batch_id} bestaat niet")
    done = undo_batch(db, batch_id, user.name)
    audit(db, user, "undo_import", f"batch {batch_id}", f"{done.filename}: {done.rows_removed} incidents removed")
    return BatchOut(**done.to_dict())


__all__ = ["router", "receive_import", "upload_principal", "too_large"]
