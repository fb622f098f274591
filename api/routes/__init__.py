"""HTTP routes, one router per resource."""

from __future__ import annotations

from fastapi import FastAPI


def include(app: FastAPI) -> None:
    from . import admin, auth, geo, indicators, maps, nearrepeat, rhythm, subsidy

    for module in (auth, geo, subsidy, rhythm, admin, indicators, maps, nearrepeat):
        app.include_router(module.router)
