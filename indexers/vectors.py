"""Build the hybrid search index of the policy in Qdrant (see :func:`pilotkg.service.build_index`)."""

from __future__ import annotations

from collections.abc import Callable

from pilotkg.service import IndexSummary, build_index
from pilotkg.settings import Settings


def run(settings: Settings, progress: Callable[[str], None] | None = None) -> IndexSummary:
    return build_index(settings, progress=progress)
