"""Build the policy knowledge graph into the RDF store (see :func:`pilotkg.graph.build`)."""

from __future__ import annotations

from collections.abc import Callable

from pilotkg.graph import BuildSummary, build
from pilotkg.settings import Settings


def run(settings: Settings, progress: Callable[[str], None] | None = None) -> BuildSummary:
    return build(settings, progress)
