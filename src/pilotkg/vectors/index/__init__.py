"""The vector index: the contract (:mod:`.base`), the embedded Qdrant engine (:mod:`.edge`), a Qdrant
server (:mod:`.server`), and the factory. qdrant-client is imported by the server adapter only when
one is opened, so importing this package stays light."""

from __future__ import annotations

from pilotkg.settings import Settings
from pilotkg.vectors.index.base import (
    DENSE,
    LEX,
    CollectionInfo,
    Filters,
    Hit,
    IndexPoint,
    Mode,
    Payload,
    SearchRequest,
    SparseVec,
    StoredPoint,
    VectorIndex,
    point_uuid,
)
from pilotkg.vectors.index.edge import EdgeIndex
from pilotkg.vectors.index.server import QdrantServerIndex


def open_index(settings: Settings, *, read_only: bool = False) -> VectorIndex:
    """The configured index: a Qdrant server if ``qdrant_url`` is set, else embedded at ``index_dir``."""
    if settings.qdrant_url:
        return QdrantServerIndex(settings.qdrant_url, api_key=settings.qdrant_api_key, read_only=read_only)
    return EdgeIndex(settings.index_dir, read_only=read_only)


__all__ = [
    "DENSE",
    "LEX",
    "CollectionInfo",
    "EdgeIndex",
    "Filters",
    "Hit",
    "IndexPoint",
    "Mode",
    "Payload",
    "QdrantServerIndex",
    "SearchRequest",
    "SparseVec",
    "StoredPoint",
    "VectorIndex",
    "open_index",
    "point_uuid",
]
