"""HTTP routes, one router per resource."""

from __future__ import annotations

from fastapi import FastAPI


def include(app: FastAPI) -> None:
    from . import admin, analyse_pages, auth, geo, imports, maps, rhythm, subsidy

    for module in (auth, geo, imports, subsidy, rhythm, admin, maps, analyse_pages):
        app.include_router(module.router)
