"""What routes depend on: the per-process :class:`Runtime` (settings + the opened Pilot) and the
FastAPI dependency that hands a route the Pilot, or 503 while it is still loading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from pilotkg.api.errors import ServiceStarting
from pilotkg.errors import PilotkgError
from pilotkg.service import Pilot
from pilotkg.settings import Settings

PilotFactory = Callable[[Settings], Pilot]


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


def pilot_of(request: Request) -> Pilot:
    """FastAPI dependency: the opened Pilot, or 503 while it is loading."""
    runtime: Runtime = request.app.state.runtime
    return runtime.require_pilot()
