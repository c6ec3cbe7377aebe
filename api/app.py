"""The pilotkg web service: REST API, SPARQL 1.1 endpoint and the portal page.

The app stays thin: every route calls one method of :class:`pilotkg.service.Pilot`, which is
opened once per process. Opening loads the corpus, the RDF store, the embedding model and the
vector index, which takes seconds with the real model, so it runs in the background: the server
accepts connections at once, ``/healthz`` answers 503 until the Pilot is ready and 200 after, and
API routes answer 503 (zh + en) meanwhile instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from pilotkg.api import errors
from pilotkg.api.cors import CorsMiddleware
from pilotkg.api.deps import PilotFactory, Runtime
from pilotkg.api.routes import linkeddata as routes_linkeddata
from pilotkg.api.routes import policy as routes_policy
from pilotkg.api.routes import projects as routes_projects
from pilotkg.api.routes import sparql as routes_sparql
from pilotkg.errors import PilotkgError, StoreError
from pilotkg.service import Pilot
from pilotkg.settings import Settings, get_settings

log = logging.getLogger("pilotkg.api")

STATIC_DIR = Path(__file__).parent / "static"
VENDOR = "/static/vendor"  # Swagger UI, ReDoc, YASGUI: installed by scripts/setup.sh, served from here

DESCRIPTION = """
安全应急装备应用试点示范工程政策知识图谱的 Web 服务：方向匹配、要求核对、语义搜索、SPARQL 1.1 查询与项目申报。
政策数据公开；申报项目保密，须携带令牌（`Authorization: Bearer …`）访问。

Web service of the pilotkg knowledge graph (2021 safety and emergency equipment pilot demonstration
policy): direction matching, requirement coverage, semantic search, a read-only SPARQL 1.1 endpoint
and project submission. Policy data is public; submitted projects need a bearer token.

Every error body is `{"error", "message_zh", "message_en", "where"}`.
"""


def _open(runtime: Runtime, factory: PilotFactory) -> None:
    try:
        pilot = factory(runtime.settings)
        try:
            # The facade opens its RDF store and vector index on first use. Both are opened here,
            # once: lazily, concurrent first requests race to open the store (all but one fail on
            # its lock), and /healthz would say 200 while a locked index still fails every match.
            pilot.store  # noqa: B018
            pilot.search("安全应急", limit=1)
        except BaseException:
            pilot.close()
            raise
        runtime.pilot = pilot
    except PilotkgError as exc:
        log.error("pilotkg failed to start: %s", exc)
        runtime.failure = exc
    except Exception as exc:
        # Not a pilotkg error, so a bug: logged with its traceback, and /healthz reports the
        # failure instead of saying "starting" forever.
        log.exception("pilotkg failed to start")
        runtime.failure = StoreError(f"unexpected {type(exc).__name__}", f"意外错误 {type(exc).__name__}")


def create_app(settings: Settings | None = None, *, pilot_factory: PilotFactory | None = None) -> FastAPI:
    """The FastAPI app. ``pilot_factory`` (default :meth:`Pilot.open`) lets tests slow or break start-up."""
    settings = settings or get_settings()
    factory = pilot_factory or Pilot.open
    runtime = Runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loader = asyncio.create_task(asyncio.to_thread(_open, runtime, factory))
        try:
            yield
        finally:
            await loader
            if runtime.pilot is not None:
                runtime.pilot.close()
                runtime.pilot = None

    app = FastAPI(
        title="pilotkg 试点示范工程政策知识图谱 API",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: FastAPI's defaults load them from a CDN
        redoc_url=None,
        openapi_tags=[
            {"name": "policy", "description": "方向匹配、要求核对与搜索 / matching, coverage and search"},
            {"name": "browse", "description": "方向与条款 / directions and articles"},
            {"name": "projects", "description": "申报项目（需令牌） / submitted projects (token needed)"},
            {"name": "sparql", "description": "SPARQL 1.1 查询端点（只读） / read-only SPARQL 1.1 endpoint"},
            {"name": "service", "description": "运行状态 / service status"},
        ],
    )
    app.state.runtime = runtime
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(CorsMiddleware, settings=settings)

    @app.get(
        "/healthz",
        tags=["service"],
        summary="就绪检查 / readiness",
        description="Pilot 加载完毕返回 200，之前（或加载失败）返回 503。 / 200 once ready, 503 before or on failure.",
    )
    def healthz() -> JSONResponse:
        if runtime.pilot is not None:
            return JSONResponse({"status": "ok"})
        status = "failed" if runtime.failure is not None else "starting"
        return JSONResponse(runtime.unavailable().to_dict() | {"status": status}, status_code=503)

    app.include_router(routes_policy.router(settings))
    app.include_router(routes_projects.router())
    app.include_router(routes_sparql.router())
    app.include_router(routes_linkeddata.router())

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} – Swagger UI",
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{app.title} – ReDoc",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )

    @app.get("/", include_in_schema=False)
    def portal() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
