"""The FastAPI application: JSON under /api/v1, HTML maps under /maps. Thin: no analysis here."""

from __future__ import annotations

from contextlib import asynccontextmanager

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from veilig import __version__
from veilig.errors import VeiligError
from veilig.settings import Settings, get_settings
from veilig.storage import open_database


def create_app(settings: Settings | None = None, load_demo: bool = True) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = open_database(settings.resolved_database_url, cache_dir=settings.incident_cache_dir)
        app.state.db = db
        app.state.settings = settings
        if load_demo:
            from .bootstrap import load_demo_if_empty

            n = load_demo_if_empty(db, settings)
            if n:
                print(f"veilig: lege database; {n} synthetische demo-incidenten geladen", flush=True)
        from veilig.storage.auth import ensure_first_admin

        once = ensure_first_admin(db)
        if once:
            host = "127.0.0.1" if settings.host in ("127.0.0.1", "0.0.0.0", "localhost") else settings.host
            print("veilig: beheerder 'admin' aangemaakt. Eenmalige inloglink (24 uur geldig):\n"
                  f"    http://{host}:{settings.port}/login/once?token={once}", flush=True)
        yield
        db.dispose()

    # The stock /docs and /redoc pages load Swagger UI and ReDoc from a CDN; veilig serves its own
    # copy of Swagger UI from /static (scripts/vendor_static.sh), so no page contacts a third party.
    app = FastAPI(title="veilig", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Hotspots, Ritme van de Stad en de subsidie hang- en sluitwerk voor Zoetermeer.")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        from fastapi.openapi.docs import get_swagger_ui_html

        from .security import policy_for_html

        page = get_swagger_ui_html(
            openapi_url=app.openapi_url, title="veilig: API",
            swagger_js_url="/static/vendor/swagger-ui-dist/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui-dist/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui-dist/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})
        # Swagger UI's init script is inline: allowed by its hash, like the maps' scripts.
        page.headers["Content-Security-Policy"] = policy_for_html(page.body.decode("utf-8"), None)
        return page
    from .cache import MapCache
    from .deps import LoginRequired

    app.state.map_cache = MapCache()

    from starlette.exceptions import HTTPException as StarletteHTTPException

    from veilig.web.errors import error_page, wants_html

    @app.exception_handler(VeiligError)
    async def _veilig_error(request: Request, exc: VeiligError):
        if wants_html(request):
            return error_page(request, exc.status_code, str(exc))
        return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if wants_html(request):
            if exc.status_code == 401:
                return RedirectResponse("/login", status_code=303)
            return error_page(request, exc.status_code, exc.detail)
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.detail},
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # A bug: log it for the operator, answer without a traceback or internals.
        import logging

        import traceback

        # The type and the frames, not the message: a database error's message carries the
        # statement's parameters, which may hold names or IBANs.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logging.getLogger("veilig").error("unexpected %s on %s %s\n%s", type(exc).__name__,
                                          request.method, request.url.path, frames)
        if wants_html(request):
            return error_page(request, 500)
        return JSONResponse(status_code=500,
                            content={"detail": "interne fout; het logboek van de beheerder bevat de details"})

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # Name the field and the rule, without echoing the (possibly personal) input back.
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}")
        if wants_html(request):
            fields = ", ".join(dict.fromkeys(str(e.get("loc", ("?",))[-1]) for e in exc.errors()))
            return error_page(request, 422, f"Controleer: {fields}." if fields else None)
        return JSONResponse(status_code=422, content={"detail": "; ".join(problems) or "ongeldig verzoek"})

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):
        response = await call_next(request)
        # Pages may load nothing from a third party; only the tile server for images. No inline
        # script: pages that have one name it by hash in their own header (api/security.py).
        from .security import base_policy

        tiles = None
        if settings.tiles_enabled:
            from urllib.parse import urlsplit

            parts = urlsplit(settings.tile_url)
            tiles = f"{parts.scheme}://{parts.netloc}"
        response.headers.setdefault("Content-Security-Policy", base_policy(tiles))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on our own
        # form posts, which the CSRF origin check (api/csrf.py) must refuse. Other origins (the
        # tile server) still get no referrer.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    static_dir = Path(__file__).parent / "static"
    static_dir.mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=static_dir), name="static")
    from veilig.web.render import STATIC_DIR as web_static

    # The pages' own stylesheet (web/static), apart from the vendored npm assets under /static.
    app.mount("/assets", StaticFiles(directory=web_static), name="assets")

    @app.get("/health", tags=["service"], summary="Werkt de dienst? (en de database)")
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
