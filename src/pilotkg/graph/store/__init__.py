"""The RDF store: the contract (:mod:`.base`), embedded Oxigraph and any SPARQL 1.1 endpoint, and the factory."""

from __future__ import annotations

from pilotkg.graph.store.base import (
    DELETE_CHUNK,
    INSERT_CHUNK,
    GraphStore,
    QueryResult,
    SparqlLimits,
    Term,
    serialize_rdf,
)
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.graph.store.remote import RemoteStore
from pilotkg.settings import Settings


def open_store(settings: Settings, *, read_only: bool = False, workers: int = 0) -> GraphStore:
    """The remote endpoint when ``sparql_query_url`` is set, else the embedded store in ``store_dir``
    (with ``workers`` query worker processes for users' queries, each limited to
    ``sparql_worker_memory_mb``: see :mod:`.pool`)."""
    if settings.sparql_query_url:
        return RemoteStore(settings, read_only=read_only)
    return EmbeddedStore(
        settings.store_dir,
        read_only=read_only,
        workers=workers,
        worker_memory_mb=settings.sparql_worker_memory_mb,
    )


__all__ = [
    "DELETE_CHUNK",
    "INSERT_CHUNK",
    "EmbeddedStore",
    "GraphStore",
    "QueryResult",
    "RemoteStore",
    "SparqlLimits",
    "Term",
    "open_store",
    "serialize_rdf",
]
