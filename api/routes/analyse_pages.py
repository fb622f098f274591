"""The analysts' pages: upload an incident file and see the row-by-row report; list and undo imports.

Server-rendered (web/templates/analyse_*.html), working without JavaScript. The upload form puts
its CSRF token before the file field, so the streaming upload (``imports.receive_import``)
checks it before a byte of the file is written; the undo form goes through the ordinary
cookie-CSRF check of ``deps.current_user``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from veilig.errors import VeiligError
from veilig.storage import Database
from veilig.storage.auth import Principal, audit
from veilig.storage.batches import get_batch, list_batches, undo_batch
from veilig.web.render import page

from ..deps import ANALYST, get_db, require_roles
from .imports import UploadCaller, receive_import, upload_principal

router = APIRouter(tags=["pagina's"], include_in_schema=False)
analyst_only = require_roles(ANALYST)

#: Refused rows shown in the page's table (the API returns up to 1000; the CLI writes them all).
MAX_ROWS_SHOWN = 500


@dataclass
class OutcomeView:
    name: str
    refused: bool
    rows_in_file: int
    inserted: int
    skipped: int
    invalid_rows: int
    batch_id: int | None
    errors: list
    errors_shown: int
    errors_total: int


def _upload_page(request: Request, user: Principal, db: Database, status_code: int = 200, **ctx) -> HTMLResponse:
    settings = request.app.state.settings
    return page(request, "analyse_upload.html", user, status_code=status_code,
                batches=list_batches(db, limit=100), max_mb=settings.max_upload_bytes // (1024 * 1024), **ctx)


@router.get("/analyse/upload", response_class=HTMLResponse)
def upload_form(request: Request, user: Principal = Depends(analyst_only), db: Database = Depends(get_db)):
    return _upload_page(request, user, db)


@router.post("/analyse/upload", response_class=HTMLResponse)
async def upload_submit(request: Request, caller: UploadCaller = Depends(upload_principal),
                        db: Database = Depends(get_db)):
    try:
        outcome = await receive_import(request, caller, db)
    except (HTTPException, VeiligError) as exc:
        status = exc.status_code
        if status == 403:
            raise  # CSRF: refuse as everywhere else, render nothing from the forged request
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        field = "crs" if isinstance(detail, str) and detail.lower().startswith("crs") or "CRS" in str(detail) else "file"
        return _upload_page(request, caller.user, db, status_code=status, form_error=str(detail),
                            form_error_field=field)
    result, report = outcome.result, outcome.report
    view = OutcomeView(
        name=outcome.name, refused=report is None, rows_in_file=result.n_rows,
        inserted=report.inserted if report else 0, skipped=report.skipped_existing if report else 0,
        invalid_rows=result.invalid_rows, batch_id=report.batch_id if report else None,
        errors=result.errors[:MAX_ROWS_SHOWN], errors_shown=min(len(result.errors), MAX_ROWS_SHOWN),
        errors_total=len(result.errors))
    return _upload_page(request, caller.user, db, status_code=422 if view.refused else 200, outcome=view)


@router.get("/analyse/upload/importen/{batch_id}/ongedaan", response_class=HTMLResponse)
def undo_confirm(request: Request, batch_id: int, user: Principal = Depends(analyst_only),
                 db: Database = Depends(get_db)):
    return page(request, "analyse_undo.html", user, batch=get_batch(db, batch_id))


@router.post("/analyse/upload/importen/{batch_id}/ongedaan")
def undo_submit(request: Request, batch_id: int, user: Principal = Depends(analyst_only),
                db: Database = Depends(get_db)):
    done = undo_batch(db, batch_id, user.name)
    audit(db, user, "undo_import", f"batch {batch_id}", f"{done.filename}: {done.rows_removed} incidents removed")
    return RedirectResponse("/analyse/upload", status_code=303)
