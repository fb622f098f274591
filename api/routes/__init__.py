"""HTTP routes, one router per resource."""

from __future__ import annotations

from fastapi import FastAPI


def include(app: FastAPI) -> None:
    from . import (admin, auth, emerging, geo, maps, nearrepeat, pages_admin, pages_desk, pages_planner, rhythm,
                   subsidy)

    for module in (auth, geo, subsidy, rhythm, admin, maps, nearrepeat, emerging, pages_desk, pages_admin,
                   pages_planner):
        app.include_router(module.router)
