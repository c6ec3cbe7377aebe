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
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from pilotkg.api import errors
from pilotkg.api.errors import ServiceStarting
from pilotkg.errors import PilotkgError, StoreError
from pilotkg.service import Pilot
from pilotkg.settings import Settings, get_settings

log = logging.getLogger("pilotkg.api")

STATIC_DIR = Path(__file__).parent / "static"

PilotFactory = Callable[[Settings], Pilot]

DESCRIPTION = """
安全应急装备应用试点示范工程政策知识图谱的 Web 服务：方向匹配、要求核对、语义搜索、SPARQL 1.1 查询与项目申报。
政策数据公开；申报项目保密，须携带令牌（`Authorization: Bearer …`）访问。

Web service of the pilotkg knowledge graph (2021 safety and emergency equipment pilot demonstration
policy): direction matching, requirement coverage, semantic search, a read-only SPARQL 1.1 endpoint
and project submission. Policy data is public; submitted projects need a bearer token.

Every error body is `{"error", "message_zh", "message_en", "where"}`.
"""


@dataclass
class Runtime:
    """What the routes need, kept on ``app.state.runtime``."""

    settings: Settings
    pilot: Pilot | None = None
    failure: PilotkgError | None = None

    def unavailable(self) -> ServiceStarting:
        """Why there is no Pilot (yet): still loading, or loading failed."""
        if self.failure is not None:
            return ServiceStarting(
                f"the service failed to start: {self.failure.message_en}",
                f"服务启动失败：{self.failure.message_zh}",
                where=self.failure.where,
            )
        return ServiceStarting(
            "the service is starting (loading corpus, store and model); retry shortly",
            "服务正在启动（加载语料、图存储与模型），请稍后重试",
        )

    def require_pilot(self) -> Pilot:
        if self.pilot is None:
            raise self.unavailable()
        return self.pilot


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
    from pilotkg.api import routes_policy, routes_projects, routes_sparql

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

    @app.get(
        "/healthz",
        tags=["service"],
        summary="就绪检查 / readiness",
        description="Pilot 加载完毕返回 200，之前（或加载失败）返回 503。 / "
        "200 once ready, 503 before or on failure.",
    )
    def healthz() -> JSONResponse:
        if runtime.pilot is not None:
            return JSONResponse({"status": "ok"})
        status = "failed" if runtime.failure is not None else "starting"
        return JSONResponse(runtime.unavailable().to_dict() | {"status": status}, status_code=503)

    app.include_router(routes_policy.router(settings))
    app.include_router(routes_projects.router())
    app.include_router(routes_sparql.router())

    @app.get("/", include_in_schema=False)
    def portal() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def pilot_of(request: Request) -> Pilot:
    """FastAPI dependency: the opened Pilot, or 503 while it is loading."""
    runtime: Runtime = request.app.state.runtime
    return runtime.require_pilot()


# --------------------------------------------------------------------------------------------
# Running a real server (tests, benchmark): uvicorn on loopback in a thread of this process.


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int | None = None, ready_timeout_s: float = 300.0
) -> Iterator[str]:
    """Run ``app`` with uvicorn on ``host`` (loopback) in a daemon thread; yield its base URL once
    ``/healthz`` is 200, and stop the server on exit."""
    import httpx

    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    base = f"http://{host}:{port}"
    deadline = time.monotonic() + ready_timeout_s
    try:
        while True:
            if not thread.is_alive():
                raise RuntimeError(f"uvicorn on {base} exited during start-up")
            with contextlib.suppress(httpx.TransportError):
                resp = httpx.get(f"{base}/healthz", timeout=5.0)
                if resp.status_code == 200:
                    break
                if resp.json().get("status") == "failed":
                    raise RuntimeError(f"pilotkg failed to start: {resp.text}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base} not ready after {ready_timeout_s}s")
            time.sleep(0.05)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)
