"""HTTP routes, one router per resource."""

from __future__ import annotations

from fastapi import FastAPI


def include(app: FastAPI) -> None:
    from . import (admin, analyse_pages, auth, emerging, geo, imports, indicators, maps, nearrepeat, pages_admin,
                   pages_desk, pages_planner, rhythm, subsidy)

    for module in (auth, geo, imports, subsidy, rhythm, admin, indicators, maps, analyse_pages, nearrepeat,
                   emerging, pages_desk, pages_admin, pages_planner):
        app.include_router(module.router)
