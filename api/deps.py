"""What routes depend on: the per-process :class:`Runtime` (settings + the opened Pilot) and the
FastAPI dependency that hands a route the Pilot, or 503 while it is still loading."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fastapi import Request

from pilotkg.api.errors import ServiceStarting
from pilotkg.errors import PilotkgError, TooManyRequests
from pilotkg.service import DoctorReport, Pilot
from pilotkg.settings import Settings

PilotFactory = Callable[[Settings], Pilot]


@dataclass
class Runtime:
    """What the routes need, kept on ``app.state.runtime``."""

    settings: Settings
    pilot: Pilot | None = None
    failure: PilotkgError | None = None
    report: DoctorReport | None = None  # the start-up integrity check (its messages name no paths)
    slots: CallerSlots = field(default_factory=lambda: CallerSlots())

    def unavailable(self) -> ServiceStarting:
        """Why there is no Pilot (yet): still loading, or loading failed (with file paths cut out of
        the message: it is shown to anyone; the server log has the full text)."""
        if self.failure is not None:
            return ServiceStarting(
                f"the service failed to start: {scrub(self.failure.message_en)}",
                f"服务启动失败：{scrub(self.failure.message_zh)}",
                where="startup",
            )
        return ServiceStarting(
            "the service is starting (loading corpus, store and model); retry shortly",
            "服务正在启动（加载语料、图存储与模型），请稍后重试",
        )

    def require_pilot(self) -> Pilot:
        if self.pilot is None:
            raise self.unavailable()
        return self.pilot


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][^\s/\\:：，,；;）)'\"]+){2,}[/\\]?")


def scrub(message: str) -> str:
    """``message`` without file paths (``/home/…/data/qdrant`` → ``…``)."""
    return _PATH.sub("…", message)


class CallerSlots:
    """How many requests of one kind each caller has running; more than its allowance is 429 at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}

    @contextlib.contextmanager
    def hold(self, caller: str, allowance: int) -> Iterator[None]:
        """One of ``caller``'s ``allowance`` slots, taken and counted atomically."""
        with self._lock:
            if self._running.get(caller, 0) >= allowance:
                raise TooManyRequests(
                    f"too many queries running for this caller (at most {allowance} at once); retry when one ends",
                    f"该调用方同时运行的查询过多（最多 {allowance} 个）；请待其结束后重试",
                    where="query",
                )
            self._running[caller] = self._running.get(caller, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[caller] -= 1
                if not self._running[caller]:
                    del self._running[caller]


def pilot_of(request: Request) -> Pilot:
    """FastAPI dependency: the opened Pilot, or 503 while it is loading."""
    runtime: Runtime = request.app.state.runtime
    return runtime.require_pilot()
