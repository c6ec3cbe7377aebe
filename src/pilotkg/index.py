"""Vector index: Qdrant behind one small interface, with two adapters.

* :class:`EdgeIndex` (default) runs the Qdrant engine in-process through ``qdrant-edge-py``: one
  on-disk shard per collection under ``settings.index_dir``.
* :class:`QdrantServerIndex` talks to a Qdrant server through ``qdrant-client`` when
  ``settings.qdrant_url`` is set. It also accepts qdrant-client's local mode (``location=":memory:"``
  or ``path=``), which is how the tests exercise it without a server binary.

Both adapters share one implementation of the public semantics (:class:`_QdrantIndex`); they only
translate a small set of primitives into their engine's request types, so rankings agree.

Layout of a collection:

* named vector ``"dense"``: cosine, dimension fixed at :meth:`create`;
* named sparse vector ``"lex"`` with Qdrant's IDF modifier, so callers store BM25 term-frequency
  weights and Qdrant supplies the IDF from live collection statistics;
* point id = UUID5 of the graph id in :data:`POINT_NAMESPACE`; the graph id is kept in payload
  ``"gid"`` and the kind in ``"kind"`` (both reserved, both indexed, both stripped from returned
  payloads because :class:`Hit` carries them);
* the model name and vector size are recorded with the collection (edge: ``meta.json`` next to the
  shard, written atomically; server: the collection's ``metadata``), checked by :meth:`check_model`.

Fusion for ``mode="hybrid"`` (both run inside Qdrant over a dense and a sparse prefetch):

* ``fusion="rrf"`` (default): reciprocal rank fusion; a point at 0-based rank ``r`` in a prefetch of
  weight ``w`` contributes ``1 / ((r + 1) / w + rrf_k - 1)``. ``rrf_k`` defaults to Qdrant's own
  default, 2; ``dense_weight`` / ``sparse_weight`` give weighted RRF.
* ``fusion="dbsf"``: distribution-based score fusion (each prefetch's scores normalised by mean ± 3σ,
  then summed). Qdrant's DBSF takes no weights, so weights other than 1 are refused with it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import shutil
import threading
import uuid
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np
import qdrant_edge as qe

from pilotkg.errors import InputError, ModelError, NotFoundError, PilotkgError, StoreError
from pilotkg.settings import Settings

if TYPE_CHECKING:
    # qdrant-client takes seconds to import; only the server adapter loads it, at construction.
    from qdrant_client import QdrantClient
    from qdrant_client import models as qm

# Fixed forever: changing it would orphan every stored point (ids are derived, never stored).
POINT_NAMESPACE = uuid.UUID("118de2d9-561b-5277-8079-3a9fa33a757d")

DENSE = "dense"
LEX = "lex"
GID = "gid"
KIND = "kind"
RESERVED_KEYS = frozenset({GID, KIND})
META_KEY = "pilotkg"
META_VERSION = 1

# Fields the product filters on. Indexed at create time; an index on an absent field costs nothing.
INDEXED_FIELDS: dict[str, Literal["keyword", "integer"]] = {
    GID: "keyword",
    KIND: "keyword",
    "direction": "integer",
    "region": "keyword",
    "batch": "integer",
    "year": "integer",
    "lead_unit": "keyword",
    "owner": "keyword",  # applicants search only their own projects: 287 ms → 0.9 ms at 100 000
}

# qdrant-edge-py 0.9.0 converts a Python bool in MatchValue to the integer 0/1, so a bool filter
# never matches a bool payload value. The edge adapter therefore mirrors every top-level bool into
# a hidden keyword field and filters on that instead.
_BOOL_SHADOW_PREFIX = "__pilotkg_bool__"

_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

PayloadValue: TypeAlias = str | int | float | bool | list[str] | None
Payload: TypeAlias = dict[str, PayloadValue]
FilterValue: TypeAlias = str | int | bool | list[str] | list[int]
Filters: TypeAlias = Mapping[str, FilterValue]
Mode: TypeAlias = Literal["hybrid", "dense", "sparse"]
Fusion: TypeAlias = Literal["rrf", "dbsf"]

DEFAULT_RRF_K = 2


# --------------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SparseVec:
    """Sparse vector: term ids and their weights (BM25 TF part for documents, 1.0s for queries)."""

    indices: list[int]
    values: list[float]

    def __post_init__(self) -> None:
        if len(self.indices) != len(self.values):
            raise InputError(
                f"sparse vector has {len(self.indices)} indices but {len(self.values)} values",
                f"稀疏向量的下标数（{len(self.indices)}）与取值数（{len(self.values)}）不一致",
            )
        if len(set(self.indices)) != len(self.indices):
            raise InputError("sparse vector has duplicate indices", "稀疏向量含重复下标")
        if any(i < 0 or i >= 2**32 for i in self.indices):
            raise InputError("sparse vector indices must be in [0, 2^32)", "稀疏向量下标须在 [0, 2^32) 内")
        if not all(math.isfinite(v) for v in self.values):
            raise InputError("sparse vector values must be finite", "稀疏向量取值须为有限数")

    @property
    def is_empty(self) -> bool:
        return not self.indices


@dataclass(frozen=True, eq=False)
class IndexPoint:
    """One graph node to index. ``eq=False`` because numpy arrays have no truth value for ``==``."""

    id: str
    kind: str
    dense: np.ndarray
    sparse: SparseVec
    payload: Payload = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class SearchRequest:
    """One query of :meth:`VectorIndex.search_batch`; the fields mean what ``search``'s arguments do."""

    dense: np.ndarray | Sequence[float] | None = None
    sparse: SparseVec | None = None
    mode: Mode = "hybrid"
    limit: int = 10
    filters: Filters | None = None
    prefetch_limit: int = 50
    exclude_ids: Sequence[str] = ()
    fusion: Fusion = "rrf"
    rrf_k: int = DEFAULT_RRF_K
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    score_threshold: float | None = None
    exact: bool = False
    fields: Sequence[str] | None = None


@dataclass(frozen=True)
class Hit:
    id: str
    kind: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True, eq=False)
class StoredPoint:
    """A point as stored; vectors only when asked for (``dense`` is the normalised stored vector)."""

    id: str
    kind: str
    payload: dict[str, Any]
    dense: np.ndarray | None = None
    sparse: SparseVec | None = None


@dataclass(frozen=True)
class CollectionInfo:
    name: str
    backend: str
    model_name: str
    dim: int
    points: int


@runtime_checkable
class VectorIndex(Protocol):
    def create(self, collection: str, dim: int, model_name: str, *, recreate: bool = False) -> None: ...

    def exists(self, collection: str) -> bool: ...

    def drop(self, collection: str) -> None: ...

    def upsert(self, collection: str, points: Sequence[IndexPoint], batch_size: int = 256) -> None: ...

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    def search(
        self,
        collection: str,
        *,
        dense: np.ndarray | Sequence[float] | None = None,
        sparse: SparseVec | None = None,
        mode: Mode = "hybrid",
        limit: int = 10,
        filters: Filters | None = None,
        prefetch_limit: int = 50,
        exclude_ids: Sequence[str] = (),
        fusion: Fusion = "rrf",
        rrf_k: int = DEFAULT_RRF_K,
        dense_weight: float = 1.0,
        sparse_weight: float = 1.0,
        score_threshold: float | None = None,
        exact: bool = False,
        fields: Sequence[str] | None = None,
    ) -> list[Hit]: ...

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]: ...

    def search_by_id(
        self,
        collection: str,
        point_id: str,
        *,
        limit: int = 10,
        filters: Filters | None = None,
        exclude_ids: Sequence[str] = (),
        score_threshold: float | None = None,
    ) -> list[Hit]: ...

    def get(
        self, collection: str, ids: Sequence[str], *, with_vectors: bool = False
    ) -> list[StoredPoint]: ...

    def count(self, collection: str, filters: Filters | None = None) -> int: ...

    def info(self, collection: str) -> CollectionInfo: ...

    def check_model(self, collection: str, model_name: str, dim: int) -> None: ...

    def optimize(self, collection: str) -> bool: ...

    def close(self) -> None: ...


def point_uuid(graph_id: str) -> str:
    """The Qdrant point id of a graph id (Qdrant accepts only unsigned ints and UUIDs)."""
    return str(uuid.uuid5(POINT_NAMESPACE, graph_id))


# --------------------------------------------------------------------------------------------------
# Engine-neutral request pieces
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Match:
    key: str
    value: str | int | bool | tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True)
class _Meta:
    model_name: str
    dim: int

    def to_json(self) -> dict[str, Any]:
        return {
            "version": META_VERSION,
            "model_name": self.model_name,
            "dim": self.dim,
            "dense": DENSE,
            "sparse": LEX,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    @staticmethod
    def from_json(raw: Mapping[str, Any] | None) -> _Meta | None:
        if not raw or "model_name" not in raw or "dim" not in raw:
            return None
        return _Meta(model_name=str(raw["model_name"]), dim=int(raw["dim"]))


@dataclass(frozen=True)
class _Plan:
    dense: list[float] | None
    sparse: SparseVec | None
    mode: Mode
    limit: int
    prefetch_limit: int
    matches: tuple[_Match, ...]
    exclude: tuple[str, ...]
    fusion: Fusion
    rrf_k: int
    weights: tuple[float, ...] | None
    score_threshold: float | None
    exact: bool
    fields: tuple[str, ...] | None  # payload keys to return (with GID and KIND); None: all

    @property
    def payload_keys(self) -> list[str] | None:
        return None if self.fields is None else [*self.fields, GID, KIND]


@dataclass(frozen=True)
class _Raw:
    """What an adapter hands back: engine payload plus, when asked, vectors."""

    payload: dict[str, Any]
    score: float = 0.0
    dense: list[float] | None = None
    sparse: SparseVec | None = None


def _check_name(collection: str) -> None:
    if not _COLLECTION_NAME.match(collection):
        raise InputError(
            "collection name must be 1-64 chars of letters, digits, '_' or '-'",
            "集合名须为 1-64 个字母、数字、'_' 或 '-'",
            where=f"collection {collection!r}",
        )


def _normalise_filters(filters: Filters | None) -> tuple[_Match, ...] | None:
    """Neutral conditions, or ``None`` when a condition can match nothing (empty any-of list)."""
    if not filters:
        return ()
    out: list[_Match] = []
    for key, value in filters.items():
        where = f"filter {key!r}"
        if not isinstance(key, str) or not key or key.startswith(_BOOL_SHADOW_PREFIX):
            raise InputError("invalid filter field name", "过滤字段名无效", where=where)
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            if not items:
                return None
            if all(isinstance(v, str) for v in items):
                out.append(_Match(key, tuple(str(v) for v in items)))
            elif all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items):
                out.append(_Match(key, tuple(int(v) for v in items)))
            else:
                raise InputError(
                    "an any-of filter list must hold only strings or only integers",
                    "多值过滤列表只能全是字符串或全是整数",
                    where=where,
                )
        elif isinstance(value, str | int):  # bool is an int subclass and is kept as bool
            out.append(_Match(key, value))
        elif isinstance(value, np.integer):
            out.append(_Match(key, int(value)))
        else:
            raise InputError(
                f"filter values must be str, int, bool or a list of them, not {type(value).__name__}",
                f"过滤值须为字符串、整数、布尔或其列表，不能是 {type(value).__name__}",
                where=where,
            )
    return tuple(out)


def _as_dense(vector: np.ndarray | Sequence[float], dim: int, where: str) -> list[float]:
    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim != 1 or arr.shape[0] != dim:
        raise InputError(
            f"dense vector has shape {arr.shape}, the index expects ({dim},)",
            f"稠密向量形状为 {arr.shape}，索引要求 ({dim},)",
            where=where,
        )
    if not np.all(np.isfinite(arr)) or not np.any(arr):
        raise InputError(
            "dense vector must be finite and non-zero", "稠密向量须为有限值且非零向量", where=where
        )
    return arr.tolist()


def _public_payload(stored: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in stored.items() if k not in RESERVED_KEYS and not k.startswith(_BOOL_SHADOW_PREFIX)
    }


# --------------------------------------------------------------------------------------------------
# Shared semantics
# --------------------------------------------------------------------------------------------------


class _QdrantIndex(ABC):
    """Public behaviour of both adapters; subclasses implement only the engine primitives."""

    backend: ClassVar[str]

    def __init__(self, *, read_only: bool) -> None:
        self.read_only = read_only
        self._meta_cache: dict[str, _Meta] = {}

    # ---- engine primitives -------------------------------------------------------------------
    @abstractmethod
    def _exists(self, collection: str) -> bool: ...

    @abstractmethod
    def _create(self, collection: str, meta: _Meta) -> None: ...

    @abstractmethod
    def _drop(self, collection: str) -> None: ...

    @abstractmethod
    def _read_meta(self, collection: str) -> _Meta | None: ...

    @abstractmethod
    def _upsert(self, collection: str, points: Sequence[tuple[str, list[float], SparseVec, Payload]]) -> None:
        """Upsert (uuid, dense, sparse, full stored payload) tuples; one batch."""

    @abstractmethod
    def _flush(self, collection: str) -> None: ...

    @abstractmethod
    def _delete(self, collection: str, uuids: Sequence[str]) -> None: ...

    @abstractmethod
    def _query(self, collection: str, plans: Sequence[_Plan]) -> list[list[_Raw]]:
        """Run the plans as one engine call where the engine has one; results in plan order."""

    @abstractmethod
    def _retrieve(self, collection: str, uuids: Sequence[str], with_vectors: bool) -> list[_Raw]: ...

    @abstractmethod
    def _count(self, collection: str, matches: tuple[_Match, ...]) -> int: ...

    @abstractmethod
    def _optimize(self, collection: str) -> bool: ...

    @abstractmethod
    def _close(self) -> None: ...

    # ---- helpers ------------------------------------------------------------------------------
    def _writable(self, collection: str) -> None:
        if self.read_only:
            raise StoreError(
                "the vector index was opened read-only", "向量索引以只读方式打开，不能写入", where=collection
            )

    def _meta(self, collection: str, *, fresh: bool = False) -> _Meta:
        """The collection's model record; cached, as it changes only when the collection is rebuilt."""
        _check_name(collection)
        cached = None if fresh else self._meta_cache.get(collection)
        if cached is not None:
            return cached
        if not self._exists(collection):
            raise StoreError(
                f"vector index collection {collection!r} does not exist (build the index first)",
                f"向量索引集合 {collection!r} 不存在（请先构建索引）",
                where=f"{self.backend}:{collection}",
            )
        meta = self._read_meta(collection)
        if meta is None:
            raise ModelError(
                f"collection {collection!r} has no model record; rebuild it with pilotkg",
                f"集合 {collection!r} 没有模型记录，请用 pilotkg 重建",
                where=f"{self.backend}:{collection}",
            )
        self._meta_cache[collection] = meta
        return meta

    # ---- lifecycle ----------------------------------------------------------------------------
    def exists(self, collection: str) -> bool:
        _check_name(collection)
        return self._exists(collection)

    def create(self, collection: str, dim: int, model_name: str, *, recreate: bool = False) -> None:
        """Create the collection; a no-op if it exists with the same model and size.

        An existing collection built with another model or size is refused with ModelError unless
        ``recreate=True``, which drops it first.
        """
        _check_name(collection)
        self._writable(collection)
        if dim <= 0 or not model_name:
            raise InputError("dim must be positive and model_name non-empty", "维度须为正、模型名不能为空")
        wanted = _Meta(model_name=model_name, dim=dim)
        if self._exists(collection):
            if recreate:
                self.drop(collection)
            else:
                existing = self._read_meta(collection)
                if existing == wanted:
                    self._meta_cache[collection] = existing
                    return
                raise ModelError(
                    f"collection {collection!r} exists with model {existing.model_name if existing else '?'}"
                    f" (dim {existing.dim if existing else '?'}), not {model_name} (dim {dim});"
                    " pass recreate=True to rebuild",
                    f"集合 {collection!r} 已用模型 {existing.model_name if existing else '?'}"
                    f"（维度 {existing.dim if existing else '?'}）构建，与 {model_name}（维度 {dim}）不符；"
                    "如需重建请指定 recreate=True",
                    where=f"{self.backend}:{collection}",
                )
        self._create(collection, wanted)
        self._meta_cache[collection] = wanted

    def drop(self, collection: str) -> None:
        _check_name(collection)
        self._writable(collection)
        self._meta_cache.pop(collection, None)
        if self._exists(collection):
            self._drop(collection)

    def optimize(self, collection: str) -> bool:
        """Build HNSW / merge segments now. Edge only does this on request; a server does it itself."""
        self._meta(collection)
        self._writable(collection)
        return self._optimize(collection)

    def close(self) -> None:
        self._meta_cache.clear()
        self._close()

    def __enter__(self) -> _QdrantIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writes -------------------------------------------------------------------------------
    def upsert(self, collection: str, points: Sequence[IndexPoint], batch_size: int = 256) -> None:
        """Insert or replace points (same graph id = same point), then flush to durable storage."""
        meta = self._meta(collection)
        self._writable(collection)
        if batch_size <= 0:
            raise InputError("batch_size must be positive", "batch_size 须为正数")
        # Within one call the last occurrence of an id wins, as if upserted one by one.
        latest: dict[str, IndexPoint] = {}
        for p in points:
            latest[p.id] = p
        prepared = [self._prepare(p, meta) for p in latest.values()]
        for start in range(0, len(prepared), batch_size):
            self._upsert(collection, prepared[start : start + batch_size])
        self._flush(collection)

    def _prepare(self, p: IndexPoint, meta: _Meta) -> tuple[str, list[float], SparseVec, Payload]:
        where = f"point {p.id!r}"
        if not isinstance(p.id, str) or not p.id or not isinstance(p.kind, str) or not p.kind:
            raise InputError(
                "point id and kind must be non-empty strings", "点的 id 与 kind 须为非空字符串", where
            )
        for key, value in p.payload.items():
            if key.startswith(_BOOL_SHADOW_PREFIX):
                raise InputError("payload key uses a reserved prefix", "载荷字段名使用了保留前缀", where)
            if key in RESERVED_KEYS and value != {GID: p.id, KIND: p.kind}[key]:
                raise InputError(
                    f"payload key {key!r} is reserved and must equal the point's {key}",
                    f"载荷字段 {key!r} 为保留字段，须与点的 {key} 一致",
                    where,
                )
        payload: Payload = {**p.payload, GID: p.id, KIND: p.kind}
        return point_uuid(p.id), _as_dense(p.dense, meta.dim, where), p.sparse, payload

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        """Delete points by graph id; unknown ids are ignored."""
        self._meta(collection)
        self._writable(collection)
        if not ids:
            return
        self._delete(collection, [point_uuid(i) for i in dict.fromkeys(ids)])
        self._flush(collection)

    # ---- reads --------------------------------------------------------------------------------
    def search(
        self,
        collection: str,
        *,
        dense: np.ndarray | Sequence[float] | None = None,
        sparse: SparseVec | None = None,
        mode: Mode = "hybrid",
        limit: int = 10,
        filters: Filters | None = None,
        prefetch_limit: int = 50,
        exclude_ids: Sequence[str] = (),
        fusion: Fusion = "rrf",
        rrf_k: int = DEFAULT_RRF_K,
        dense_weight: float = 1.0,
        sparse_weight: float = 1.0,
        score_threshold: float | None = None,
        exact: bool = False,
        fields: Sequence[str] | None = None,
    ) -> list[Hit]:
        """Nearest points to a query.

        ``mode="dense"`` scores by cosine, ``"sparse"`` by Σ query·doc·IDF, ``"hybrid"`` fuses a dense
        and a sparse prefetch of ``prefetch_limit`` candidates each (see the module docstring).
        A hybrid query with an empty sparse vector (no known terms) fuses the dense prefetch alone.
        ``filters`` are exact matches on payload fields (a list means any-of), ANDed together.
        Equal scores are ordered by graph id within the page (which of several points tied at the
        cut-off makes the page is up to the engine). ``exact=True`` bypasses HNSW (for measuring
        recall; slower on large collections). ``fields`` names the payload keys to return (default: all);
        fetching fewer is cheaper when a query returns many points.
        """
        return self.search_batch(
            collection,
            [
                SearchRequest(
                    dense=dense,
                    sparse=sparse,
                    mode=mode,
                    limit=limit,
                    filters=filters,
                    prefetch_limit=prefetch_limit,
                    exclude_ids=exclude_ids,
                    fusion=fusion,
                    rrf_k=rrf_k,
                    dense_weight=dense_weight,
                    sparse_weight=sparse_weight,
                    score_threshold=score_threshold,
                    exact=exact,
                    fields=fields,
                )
            ],
        )[0]

    def search_batch(self, collection: str, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        """Several searches of one collection in one engine call (Qdrant plans a batch as a whole:
        cheaper than a call per query, e.g. one per sentence of a description)."""
        meta = self._meta(collection)
        plans = [self._plan(meta, r) for r in requests]
        todo = [p for p in plans if p is not None]
        raws = iter(self._query(collection, todo) if todo else [])
        out: list[list[Hit]] = []
        for plan in plans:
            if plan is None:
                out.append([])
                continue
            hits = [
                Hit(
                    id=str(r.payload[GID]),
                    kind=str(r.payload[KIND]),
                    score=float(r.score),
                    payload=_public_payload(r.payload),
                )
                for r in next(raws)
            ]
            hits.sort(key=lambda h: (-h.score, h.id))
            out.append(hits)
        return out

    @staticmethod
    def _plan(meta: _Meta, req: SearchRequest) -> _Plan | None:
        """The engine-neutral plan of a request, or None when nothing can match it."""
        if req.limit <= 0 or req.prefetch_limit <= 0:
            raise InputError("limit and prefetch_limit must be positive", "limit 与 prefetch_limit 须为正数")
        if req.mode not in ("hybrid", "dense", "sparse"):
            raise InputError(f"unknown search mode {req.mode!r}", f"未知检索模式 {req.mode!r}")
        if req.fusion not in ("rrf", "dbsf"):
            raise InputError(f"unknown fusion {req.fusion!r}", f"未知融合方式 {req.fusion!r}")
        matches = _normalise_filters(req.filters)
        if matches is None:
            return None
        dense_list = _as_dense(req.dense, meta.dim, "query") if req.dense is not None else None
        use_sparse = req.sparse is not None and not req.sparse.is_empty
        if req.mode == "dense" and dense_list is None:
            raise InputError("dense search needs a dense vector", "稠密检索需要稠密向量")
        if req.mode == "sparse" and req.sparse is None:
            raise InputError("sparse search needs a sparse vector", "稀疏检索需要稀疏向量")
        if req.mode == "hybrid" and dense_list is None and req.sparse is None:
            raise InputError("hybrid search needs a dense or a sparse vector", "混合检索至少需要一种向量")
        if (req.mode == "sparse" or dense_list is None) and not use_sparse:
            return None  # nothing can score: no terms and no dense vector

        weights: tuple[float, ...] | None = None
        if req.mode == "hybrid":
            dw, sw = req.dense_weight, req.sparse_weight
            if dw < 0 or sw < 0 or dw + sw == 0:
                raise InputError("fusion weights must be >= 0 and not both 0", "融合权重须非负且不能同时为 0")
            if req.fusion == "dbsf" and (dw != 1.0 or sw != 1.0):
                raise InputError(
                    "Qdrant's DBSF fusion takes no weights; use fusion='rrf' for weighted fusion",
                    "Qdrant 的 DBSF 融合不支持权重；加权融合请用 fusion='rrf'",
                )
            if req.rrf_k <= 0:
                raise InputError("rrf_k must be positive", "rrf_k 须为正数")
            if dw != 1.0 or sw != 1.0:
                weights = tuple(w for w, present in ((dw, dense_list is not None), (sw, use_sparse)) if present)

        return _Plan(
            dense=dense_list if req.mode != "sparse" else None,
            sparse=req.sparse if use_sparse and req.mode != "dense" else None,
            mode=req.mode,
            limit=req.limit,
            prefetch_limit=max(req.prefetch_limit, req.limit),
            matches=matches,
            exclude=tuple(point_uuid(i) for i in dict.fromkeys(req.exclude_ids)),
            fusion=req.fusion,
            rrf_k=req.rrf_k,
            weights=weights,
            score_threshold=req.score_threshold,
            exact=req.exact,
            fields=None if req.fields is None else tuple(req.fields),
        )

    def search_by_id(
        self,
        collection: str,
        point_id: str,
        *,
        limit: int = 10,
        filters: Filters | None = None,
        exclude_ids: Sequence[str] = (),
        score_threshold: float | None = None,
    ) -> list[Hit]:
        """More like this: dense search from a stored point's own vector, excluding that point."""
        self._meta(collection)
        raws = self._retrieve(collection, [point_uuid(point_id)], True)
        if not raws or raws[0].dense is None:
            raise NotFoundError(
                f"no indexed point {point_id!r}",
                f"索引中没有点 {point_id!r}",
                where=f"{self.backend}:{collection}",
            )
        return self.search(
            collection,
            dense=raws[0].dense,
            mode="dense",
            limit=limit,
            filters=filters,
            exclude_ids=[point_id, *exclude_ids],
            score_threshold=score_threshold,
        )

    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[StoredPoint]:
        """Stored points in the order asked; unknown ids are left out."""
        self._meta(collection)
        unique = list(dict.fromkeys(ids))
        if not unique:
            return []
        by_gid = {
            str(r.payload[GID]): r
            for r in self._retrieve(collection, [point_uuid(i) for i in unique], with_vectors)
        }
        out: list[StoredPoint] = []
        for gid in unique:
            r = by_gid.get(gid)
            if r is None:
                continue
            out.append(
                StoredPoint(
                    id=gid,
                    kind=str(r.payload[KIND]),
                    payload=_public_payload(r.payload),
                    dense=np.asarray(r.dense, dtype=np.float32)
                    if with_vectors and r.dense is not None
                    else None,
                    sparse=(r.sparse or SparseVec([], [])) if with_vectors else None,
                )
            )
        return out

    def count(self, collection: str, filters: Filters | None = None) -> int:
        self._meta(collection)
        matches = _normalise_filters(filters)
        return 0 if matches is None else self._count(collection, matches)

    def info(self, collection: str) -> CollectionInfo:
        meta = self._meta(collection, fresh=True)
        return CollectionInfo(
            name=collection,
            backend=self.backend,
            model_name=meta.model_name,
            dim=meta.dim,
            points=self._count(collection, ()),
        )

    def check_model(self, collection: str, model_name: str, dim: int) -> None:
        """Refuse to serve queries embedded by a model other than the one the index was built with."""
        # Fresh: another process may have rebuilt the collection since this handle cached it.
        meta = self._meta(collection, fresh=True)
        if meta.model_name != model_name or meta.dim != dim:
            raise ModelError(
                f"the index was built with {meta.model_name} (dim {meta.dim}) but the configured embedder"
                f" is {model_name} (dim {dim}); rebuild the index or switch the embedder",
                f"索引由 {meta.model_name}（维度 {meta.dim}）构建，"
                f"当前嵌入模型为 {model_name}（维度 {dim}）；请重建索引或更换嵌入模型",
                where=f"{self.backend}:{collection}",
            )


# --------------------------------------------------------------------------------------------------
# Embedded adapter: qdrant-edge-py
# --------------------------------------------------------------------------------------------------


_EDGE_SCHEMA = {"keyword": qe.PayloadSchemaType.Keyword, "integer": qe.PayloadSchemaType.Integer}


@contextlib.contextmanager
def _edge_errors(where: str) -> Iterator[None]:
    """qdrant-edge raises plain ``Exception`` for every engine error; give it a name and a place."""
    try:
        yield
    except PilotkgError:
        raise
    except Exception as exc:
        if type(exc) is not Exception:  # a real Python error (TypeError, ...) is a bug: let it through
            raise
        raise StoreError(f"qdrant-edge: {exc}", f"嵌入式向量索引出错：{exc}", where=where) from exc


def _edge_match(m: _Match) -> qe.FieldCondition:
    value = m.value
    if isinstance(value, bool):
        return qe.FieldCondition(
            _BOOL_SHADOW_PREFIX + m.key, match=qe.MatchValue("true" if value else "false")
        )
    if isinstance(value, tuple):
        return qe.FieldCondition(m.key, match=qe.MatchAny(list(value)))
    return qe.FieldCondition(m.key, match=qe.MatchValue(value))


def _edge_filter(matches: tuple[_Match, ...], exclude: tuple[str, ...] = ()) -> qe.Filter | None:
    if not matches and not exclude:
        return None
    must: list[Any] = [_edge_match(m) for m in matches]
    must_not: list[Any] = [qe.HasIdCondition(set(exclude))] if exclude else []
    return qe.Filter(must=must or None, must_not=must_not or None)


def _edge_sparse_out(value: object) -> SparseVec | None:
    if not isinstance(value, qe.SparseVector):
        return None
    return SparseVec(list(value.indices), [float(v) for v in value.values])


class _EdgeCollection:
    """One open shard plus the lock file that makes it ours."""

    def __init__(self, shard: qe.EdgeShard, lock: IO[str]) -> None:
        self.shard = shard
        self.lock = lock


class EdgeIndex(_QdrantIndex):
    """Embedded Qdrant (qdrant-edge-py): one shard per collection under ``root``.

    ``<root>/<collection>/shard/`` is the qdrant-edge shard, ``meta.json`` the model record (its
    presence marks a complete collection) and ``.lock`` an advisory lock.

    qdrant-edge has no read-only or shared open: loading a shard replays its WAL and takes an
    exclusive lock on it, and a second load of the same path — even one that then fails on that
    lock — first touches the segment files and breaks the process that holds the shard (its next
    flush fails with "tracker journal is shorter than expected"). So every open, read-only
    included, first takes an exclusive ``flock`` on ``.lock`` and a second opener gets StoreError
    without touching the shard. ``read_only`` therefore means "refuse writes", not "share".
    """

    backend = "edge"

    def __init__(
        self, root: Path | str, *, read_only: bool = False, max_search_threads: int | None = None
    ) -> None:
        super().__init__(read_only=read_only)
        self.root = Path(root)
        self._max_search_threads = max_search_threads
        self._open: dict[str, _EdgeCollection] = {}
        self._mutex = threading.RLock()

    # ---- paths & locking ---------------------------------------------------------------------
    def _dir(self, collection: str) -> Path:
        return self.root / collection

    def _shard_dir(self, collection: str) -> Path:
        return self._dir(collection) / "shard"

    def _meta_path(self, collection: str) -> Path:
        return self._dir(collection) / "meta.json"

    def _lock(self, collection: str) -> IO[str]:
        lock_path = self._dir(collection) / ".lock"
        try:
            fh = lock_path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise StoreError(
                f"cannot open lock file: {exc}", f"无法打开锁文件：{exc}", where=str(lock_path)
            ) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise StoreError(
                f"the vector index is open in another process or handle (pid {holder}); qdrant-edge"
                " allows one opener per shard — stop it, or set PILOTKG_QDRANT_URL to share a server",
                f"向量索引已被另一进程或句柄打开（pid {holder}）；qdrant-edge 每个分片只允许一个打开者——"
                "请先停止它，或设置 PILOTKG_QDRANT_URL 使用共享服务器",
                where=str(self._dir(collection)),
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        return fh

    @staticmethod
    def _unlock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()

    def _collection(self, collection: str) -> _EdgeCollection:
        with self._mutex:
            opened = self._open.get(collection)
            if opened is not None:
                return opened
            lock = self._lock(collection)
            try:
                with _edge_errors(str(self._shard_dir(collection))):
                    shard = qe.EdgeShard.load(str(self._shard_dir(collection)), self._edge_config_for_load())
            except BaseException:
                self._unlock(lock)
                raise
            opened = _EdgeCollection(shard, lock)
            self._open[collection] = opened
            return opened

    def _edge_config_for_load(self) -> qe.EdgeConfig | None:
        if self._max_search_threads is None:
            return None
        return qe.EdgeConfig(max_search_threads=self._max_search_threads)

    def _shard(self, collection: str) -> qe.EdgeShard:
        return self._collection(collection).shard

    # ---- primitives ---------------------------------------------------------------------------
    def _exists(self, collection: str) -> bool:
        return collection in self._open or (
            self._meta_path(collection).is_file() and self._shard_dir(collection).is_dir()
        )

    def _read_meta(self, collection: str) -> _Meta | None:
        try:
            raw = json.loads(self._meta_path(collection).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(
                f"unreadable index metadata: {exc}",
                f"索引元数据无法读取：{exc}",
                where=str(self._meta_path(collection)),
            ) from exc
        return _Meta.from_json(raw)

    def _create(self, collection: str, meta: _Meta) -> None:
        cdir = self._dir(collection)
        with self._mutex:
            try:
                cdir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create {cdir}: {exc}", f"无法创建目录 {cdir}：{exc}", where=str(cdir)
                ) from exc
            lock = self._lock(collection)
            try:
                # A half-built shard from an interrupted create has no meta.json; start it over.
                shutil.rmtree(self._shard_dir(collection), ignore_errors=True)
                config = qe.EdgeConfig(
                    vectors={DENSE: qe.EdgeVectorParams(size=meta.dim, distance=qe.Distance.Cosine)},
                    sparse_vectors={LEX: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
                    max_search_threads=self._max_search_threads,
                )
                with _edge_errors(str(self._shard_dir(collection))):
                    shard = qe.EdgeShard.create(str(self._shard_dir(collection)), config)
                    for name, kind in INDEXED_FIELDS.items():
                        shard.update(qe.UpdateOperation.create_field_index(name, _EDGE_SCHEMA[kind]))
                    shard.flush()
                self._write_meta(collection, meta)
            except BaseException:
                self._unlock(lock)
                raise
            self._open[collection] = _EdgeCollection(shard, lock)

    def _write_meta(self, collection: str, meta: _Meta) -> None:
        path = self._meta_path(collection)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump(meta.to_json(), fh, ensure_ascii=False, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(
                f"cannot write index metadata: {exc}", f"无法写入索引元数据：{exc}", where=str(path)
            ) from exc

    def _drop(self, collection: str) -> None:
        with self._mutex:
            opened = self._collection(collection)  # holding the lock proves nobody else has it open
            with _edge_errors(str(self._shard_dir(collection))):
                opened.shard.close()
            del self._open[collection]
            try:
                # meta.json goes first: without it a leftover shard is treated as not existing.
                self._meta_path(collection).unlink(missing_ok=True)
                shutil.rmtree(self._shard_dir(collection))
            except OSError as exc:
                raise StoreError(
                    f"cannot remove collection: {exc}",
                    f"无法删除集合：{exc}",
                    where=str(self._dir(collection)),
                ) from exc
            finally:
                self._unlock(opened.lock)

    def _upsert(self, collection: str, points: Sequence[tuple[str, list[float], SparseVec, Payload]]) -> None:
        edge_points = []
        for pid, dense, sparse, payload in points:
            vectors: dict[str, Any] = {DENSE: dense}
            # An empty sparse vector is left out so the point is not counted in the IDF corpus
            # (qdrant-client's local mode does the same), which keeps both adapters' scores equal.
            if not sparse.is_empty:
                vectors[LEX] = qe.SparseVector(list(sparse.indices), [float(v) for v in sparse.values])
            stored: dict[str, Any] = dict(payload)
            for key, value in payload.items():
                if isinstance(value, bool):
                    stored[_BOOL_SHADOW_PREFIX + key] = "true" if value else "false"
            edge_points.append(qe.Point(pid, vectors, stored))
        shard = self._shard(collection)
        with _edge_errors(collection):
            shard.update(qe.UpdateOperation.upsert_points(edge_points))

    def _flush(self, collection: str) -> None:
        shard = self._shard(collection)
        with _edge_errors(collection):
            shard.flush()

    def _delete(self, collection: str, uuids: Sequence[str]) -> None:
        shard = self._shard(collection)
        with _edge_errors(collection):
            shard.update(qe.UpdateOperation.delete_points(list(uuids)))

    def _query(self, collection: str, plans: Sequence[_Plan]) -> list[list[_Raw]]:
        shard = self._shard(collection)
        with _edge_errors(collection):
            if len(plans) == 1:
                batches = [shard.query(self._request(plans[0]))]
            else:
                batches = shard.query_batch(qe.QueryBatchRequest([self._request(p) for p in plans]))
        return [[_Raw(payload=dict(p.payload or {}), score=float(p.score)) for p in points] for points in batches]

    @staticmethod
    def _request(plan: _Plan) -> qe.QueryRequest:
        flt = _edge_filter(plan.matches, plan.exclude)
        dense_q = qe.Query.Nearest(plan.dense, using=DENSE) if plan.dense is not None else None
        sparse_q = (
            qe.Query.Nearest(qe.SparseVector(list(plan.sparse.indices), list(plan.sparse.values)), using=LEX)
            if plan.sparse is not None
            else None
        )
        params = qe.SearchParams(exact=True) if plan.exact else None
        keys = plan.payload_keys
        with_payload: Any = True if keys is None else qe.PayloadSelector.Include(keys)
        if plan.mode == "hybrid":
            prefetches = [
                qe.Prefetch(limit=plan.prefetch_limit, query=q, filter=flt, params=params)
                for q in (dense_q, sparse_q)
                if q is not None
            ]
            fusion: Any = (
                qe.Fusion.Dbsf()
                if plan.fusion == "dbsf"
                else qe.Fusion.Rrf(k=plan.rrf_k, weights=list(plan.weights) if plan.weights else None)
            )
            return qe.QueryRequest(
                limit=plan.limit,
                prefetches=prefetches,
                query=fusion,
                filter=flt,
                with_payload=with_payload,
                score_threshold=plan.score_threshold,
            )
        return qe.QueryRequest(
            limit=plan.limit,
            query=dense_q if plan.mode == "dense" else sparse_q,
            filter=flt,
            with_payload=with_payload,
            score_threshold=plan.score_threshold,
            params=params,
        )

    def _retrieve(self, collection: str, uuids: Sequence[str], with_vectors: bool) -> list[_Raw]:
        shard = self._shard(collection)
        with _edge_errors(collection):
            records = shard.retrieve(list(uuids), True, [DENSE, LEX] if with_vectors else False)
        out: list[_Raw] = []
        for r in records:
            vec: Mapping[str, Any] = r.vector if isinstance(r.vector, dict) else {}
            dense = vec.get(DENSE)
            out.append(
                _Raw(
                    payload=dict(r.payload or {}),
                    dense=[float(x) for x in dense] if dense is not None else None,
                    sparse=_edge_sparse_out(vec.get(LEX)),
                )
            )
        return out

    def _count(self, collection: str, matches: tuple[_Match, ...]) -> int:
        shard = self._shard(collection)
        with _edge_errors(collection):
            return int(shard.count(qe.CountRequest(exact=True, filter=_edge_filter(matches))))

    def _optimize(self, collection: str) -> bool:
        shard = self._shard(collection)
        with _edge_errors(collection):
            return bool(shard.optimize())

    def _close(self) -> None:
        with self._mutex:
            errors: list[BaseException] = []
            for name, opened in list(self._open.items()):
                try:
                    with _edge_errors(name):
                        opened.shard.flush()
                        opened.shard.close()
                except StoreError as exc:
                    errors.append(exc)
                finally:
                    self._unlock(opened.lock)
            self._open.clear()
            if errors:
                raise errors[0]


# --------------------------------------------------------------------------------------------------
# Scale-out adapter: qdrant-client (server, or local mode in tests)
# --------------------------------------------------------------------------------------------------


def _server_match(m: _Match) -> qm.FieldCondition:
    from qdrant_client import models as qm

    if isinstance(m.value, tuple):
        return qm.FieldCondition(key=m.key, match=qm.MatchAny(any=list(m.value)))
    return qm.FieldCondition(key=m.key, match=qm.MatchValue(value=m.value))


def _server_filter(matches: tuple[_Match, ...], exclude: tuple[str, ...] = ()) -> qm.Filter | None:
    from qdrant_client import models as qm

    if not matches and not exclude:
        return None
    must: list[qm.Condition] = [_server_match(m) for m in matches]
    must_not: list[qm.Condition] = [qm.HasIdCondition(has_id=list(exclude))] if exclude else []
    return qm.Filter(must=must or None, must_not=must_not or None)


class QdrantServerIndex(_QdrantIndex):
    """Qdrant through qdrant-client: a server (``url``) or qdrant-client's local mode.

    Exactly one of ``url``, ``location`` (e.g. ``":memory:"``) or ``path`` is given; ``client``
    injects a ready client instead. Collection metadata (Qdrant ≥ 1.16) records the model.
    """

    backend = "qdrant"

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        location: str | None = None,
        path: Path | str | None = None,
        timeout: int = 30,
        read_only: bool = False,
        client: QdrantClient | None = None,
    ) -> None:
        super().__init__(read_only=read_only)
        given = sum(x is not None for x in (url, location, path, client))
        if given != 1:
            raise InputError(
                "give exactly one of url, location, path or client",
                "url、location、path、client 须且只能给一个",
            )
        self.where = url or location or (str(path) if path is not None else "client")
        from qdrant_client import QdrantClient

        if client is not None:
            self.client = client
            return
        try:
            if url is not None:
                self.client = QdrantClient(url=url, api_key=api_key, timeout=timeout)
            elif location is not None:
                self.client = QdrantClient(location=location)
            else:
                self.client = QdrantClient(path=str(path))
        except RuntimeError as exc:  # local mode: the folder is locked by another client
            raise StoreError(
                f"cannot open Qdrant: {exc}", f"无法打开 Qdrant：{exc}", where=self.where
            ) from exc

    @contextlib.contextmanager
    def _errors(self, collection: str) -> Iterator[None]:
        from qdrant_client.http.exceptions import ApiException

        try:
            yield
        except ApiException as exc:
            raise StoreError(
                f"Qdrant request failed: {exc}", f"Qdrant 请求失败：{exc}", where=f"{self.where}/{collection}"
            ) from exc

    def _exists(self, collection: str) -> bool:
        with self._errors(collection):
            return bool(self.client.collection_exists(collection))

    def _read_meta(self, collection: str) -> _Meta | None:
        with self._errors(collection):
            metadata = self.client.get_collection(collection).config.metadata or {}
        raw = metadata.get(META_KEY)
        return _Meta.from_json(raw if isinstance(raw, Mapping) else None)

    def _create(self, collection: str, meta: _Meta) -> None:
        from qdrant_client import models as qm

        schema = {"keyword": qm.PayloadSchemaType.KEYWORD, "integer": qm.PayloadSchemaType.INTEGER}
        with self._errors(collection):
            self.client.create_collection(
                collection,
                vectors_config={DENSE: qm.VectorParams(size=meta.dim, distance=qm.Distance.COSINE)},
                sparse_vectors_config={LEX: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
                metadata={META_KEY: meta.to_json()},
            )
            with warnings.catch_warnings():
                # Local mode warns that payload indexes do nothing there; on a server they matter.
                warnings.filterwarnings(
                    "ignore", message="Payload indexes have no effect", category=UserWarning
                )
                for name, kind in INDEXED_FIELDS.items():
                    self.client.create_payload_index(collection, name, field_schema=schema[kind], wait=True)

    def _drop(self, collection: str) -> None:
        with self._errors(collection):
            self.client.delete_collection(collection)

    def _upsert(self, collection: str, points: Sequence[tuple[str, list[float], SparseVec, Payload]]) -> None:
        from qdrant_client import models as qm

        structs = []
        for pid, dense, sparse, payload in points:
            vectors: dict[str, Any] = {DENSE: dense}
            if not sparse.is_empty:
                vectors[LEX] = qm.SparseVector(indices=list(sparse.indices), values=list(sparse.values))
            structs.append(qm.PointStruct(id=pid, vector=vectors, payload=dict(payload)))
        with self._errors(collection):
            self.client.upsert(collection, points=structs, wait=True)

    def _flush(self, collection: str) -> None:
        """Nothing to do: ``wait=True`` writes are acknowledged after the server's WAL has them."""

    def _delete(self, collection: str, uuids: Sequence[str]) -> None:
        from qdrant_client import models as qm

        with self._errors(collection):
            self.client.delete(collection, points_selector=qm.PointIdsList(points=list(uuids)), wait=True)

    def _query(self, collection: str, plans: Sequence[_Plan]) -> list[list[_Raw]]:
        with self._errors(collection):
            responses = self.client.query_batch_points(collection, requests=[self._request(p) for p in plans])
        return [[_Raw(payload=dict(p.payload or {}), score=float(p.score)) for p in r.points] for r in responses]

    @staticmethod
    def _request(plan: _Plan) -> qm.QueryRequest:
        from qdrant_client import models as qm

        flt = _server_filter(plan.matches, plan.exclude)
        sparse_q = (
            qm.SparseVector(indices=list(plan.sparse.indices), values=list(plan.sparse.values))
            if plan.sparse is not None
            else None
        )
        params = qm.SearchParams(exact=True) if plan.exact else None
        if plan.mode == "hybrid":
            prefetch = [
                qm.Prefetch(query=query, using=using, limit=plan.prefetch_limit, filter=flt, params=params)
                for query, using in ((plan.dense, DENSE), (sparse_q, LEX))
                if query is not None
            ]
            fusion: qm.Query = (
                qm.FusionQuery(fusion=qm.Fusion.DBSF)
                if plan.fusion == "dbsf"
                else qm.RrfQuery(rrf=qm.Rrf(k=plan.rrf_k, weights=list(plan.weights) if plan.weights else None))
            )
            return qm.QueryRequest(
                prefetch=prefetch,
                query=fusion,
                filter=flt,
                limit=plan.limit,
                with_payload=plan.payload_keys or True,
                score_threshold=plan.score_threshold,
            )
        return qm.QueryRequest(
            query=plan.dense if plan.mode == "dense" else sparse_q,
            using=DENSE if plan.mode == "dense" else LEX,
            filter=flt,
            params=params,
            limit=plan.limit,
            with_payload=plan.payload_keys or True,
            score_threshold=plan.score_threshold,
        )

    def _retrieve(self, collection: str, uuids: Sequence[str], with_vectors: bool) -> list[_Raw]:
        from qdrant_client import models as qm

        with self._errors(collection):
            records = self.client.retrieve(
                collection,
                list(uuids),
                with_payload=True,
                with_vectors=[DENSE, LEX] if with_vectors else False,
            )
        out: list[_Raw] = []
        for r in records:
            vec: Mapping[str, Any] = r.vector if isinstance(r.vector, dict) else {}
            dense = vec.get(DENSE)
            lex = vec.get(LEX)
            out.append(
                _Raw(
                    payload=dict(r.payload or {}),
                    dense=[float(x) for x in dense] if dense is not None else None,
                    sparse=SparseVec(list(lex.indices), [float(v) for v in lex.values])
                    if isinstance(lex, qm.SparseVector)
                    else None,
                )
            )
        return out

    def _count(self, collection: str, matches: tuple[_Match, ...]) -> int:
        with self._errors(collection):
            return int(self.client.count(collection, count_filter=_server_filter(matches), exact=True).count)

    def _optimize(self, collection: str) -> bool:
        """A server runs its optimizers in the background; nothing to trigger."""
        return False

    def _close(self) -> None:
        self.client.close()


def open_index(settings: Settings, *, read_only: bool = False) -> VectorIndex:
    """The configured index: a Qdrant server if ``qdrant_url`` is set, else embedded at ``index_dir``."""
    if settings.qdrant_url:
        return QdrantServerIndex(settings.qdrant_url, api_key=settings.qdrant_api_key, read_only=read_only)
    return EdgeIndex(settings.index_dir, read_only=read_only)
