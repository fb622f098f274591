"""The FastAPI application: JSON under /api/v1, HTML maps under /maps. Thin: no analysis here."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from veilig import __version__
from veilig.errors import VeiligError
from veilig.settings import Settings, get_settings
from veilig.storage import open_database


def create_app(settings: Settings | None = None, load_demo: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = open_database(settings.resolved_database_url)
        app.state.db = db
        app.state.settings = settings
        if load_demo:
            from .bootstrap import load_demo_if_empty

            n = load_demo_if_empty(db, settings)
            if n:
                print(f"veilig: lege database; {n} synthetische demo-incidenten geladen", flush=True)
        for hook in getattr(app.state, "startup_hooks", []):
            hook(app)
        yield
        db.dispose()

    app = FastAPI(title="veilig", version=__version__, lifespan=lifespan,
                  description="Hotspots, Ritme van de Stad en de subsidie hang- en sluitwerk voor Zoetermeer.")
    app.state.startup_hooks = []

    @app.exception_handler(VeiligError)
    async def _veilig_error(_request: Request, exc: VeiligError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)})

    @app.get("/health", tags=["service"])
    def health(request: Request) -> dict[str, str]:
        from veilig.storage.db import ping

        ok = ping(request.app.state.db.engine)
        return {"status": "ok" if ok else "degraded", "version": __version__}

    _include_routers(app)
    return app


def _include_routers(app: FastAPI) -> None:
    # Routers of later features register themselves here.
    import importlib

    try:
        routes = importlib.import_module("veilig.api.routes")
    except ModuleNotFoundError as exc:
        if exc.name != "veilig.api.routes":
            raise
        return
    routes.include(app)
