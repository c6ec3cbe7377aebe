"""Qdrant semantics shared by both adapters.

:class:`QdrantIndex` implements the public :class:`~pilotkg.vectors.index.VectorIndex` behaviour once
(validation, point ids, reserved payload keys, model records, ordering of ties);
:class:`~pilotkg.vectors.index.edge.EdgeIndex` and :class:`~pilotkg.vectors.index.server.QdrantServerIndex` implement
only its engine primitives over the neutral pieces of :mod:`pilotkg.vectors.index.plan`, so rankings agree.

Fusion for ``mode="hybrid"`` (both run inside Qdrant over a dense and a sparse prefetch):

* ``fusion="rrf"`` (default): reciprocal rank fusion; a point at 0-based rank ``r`` in a prefetch of
  weight ``w`` contributes ``1 / ((r + 1) / w + rrf_k - 1)``. ``rrf_k`` defaults to Qdrant's own
  default, 2; ``dense_weight`` / ``sparse_weight`` give weighted RRF.
* ``fusion="dbsf"``: distribution-based score fusion (each prefetch's scores normalised by mean ± 3σ,
  then summed). Qdrant's DBSF takes no weights, so weights other than 1 are refused with it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from pilotkg.errors import InputError, ModelError, NotFoundError, StoreError
from pilotkg.vectors.index.base import (
    DEFAULT_RRF_K,
    GID,
    KIND,
    RESERVED_KEYS,
    CollectionInfo,
    Filters,
    Fusion,
    Hit,
    IndexPoint,
    Mode,
    Payload,
    SearchRequest,
    SparseVec,
    StoredPoint,
    point_uuid,
)
from pilotkg.vectors.index.plan import (
    BOOL_SHADOW_PREFIX,
    CollectionMeta,
    FieldMatch,
    QueryPlan,
    RawHit,
    as_dense,
    check_collection_name,
    normalise_filters,
    public_payload,
)


class QdrantIndex(ABC):
    """Public behaviour of both adapters; subclasses implement only the engine primitives."""

    backend: ClassVar[str]

    def __init__(self, *, read_only: bool) -> None:
        self.read_only = read_only
        self._meta_cache: dict[str, CollectionMeta] = {}

    # ---- engine primitives -------------------------------------------------------------------
    @abstractmethod
    def _exists(self, collection: str) -> bool: ...

    @abstractmethod
    def _create(self, collection: str, meta: CollectionMeta) -> None: ...

    @abstractmethod
    def _drop(self, collection: str) -> None: ...

    @abstractmethod
    def _read_meta(self, collection: str) -> CollectionMeta | None: ...

    @abstractmethod
    def _upsert(self, collection: str, points: Sequence[tuple[str, list[float], SparseVec, Payload]]) -> None:
        """Upsert (uuid, dense, sparse, full stored payload) tuples; one batch."""

    @abstractmethod
    def _flush(self, collection: str) -> None: ...

    @abstractmethod
    def _delete(self, collection: str, uuids: Sequence[str]) -> None: ...

    @abstractmethod
    def _query(self, collection: str, plans: Sequence[QueryPlan]) -> list[list[RawHit]]:
        """Run the plans as one engine call where the engine has one; results in plan order."""

    @abstractmethod
    def _retrieve(self, collection: str, uuids: Sequence[str], with_vectors: bool) -> list[RawHit]: ...

    @abstractmethod
    def _count(self, collection: str, matches: tuple[FieldMatch, ...]) -> int: ...

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

    def _meta(self, collection: str, *, fresh: bool = False) -> CollectionMeta:
        """The collection's model record; cached, as it changes only when the collection is rebuilt."""
        check_collection_name(collection)
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
        check_collection_name(collection)
        return self._exists(collection)

    def create(self, collection: str, dim: int, model_name: str, *, recreate: bool = False) -> None:
        """Create the collection; a no-op if it exists with the same model and size.

        An existing collection built with another model or size is refused with ModelError unless
        ``recreate=True``, which drops it first.
        """
        check_collection_name(collection)
        self._writable(collection)
        if dim <= 0 or not model_name:
            raise InputError("dim must be positive and model_name non-empty", "维度须为正、模型名不能为空")
        wanted = CollectionMeta(model_name=model_name, dim=dim)
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
        check_collection_name(collection)
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

    def __enter__(self) -> QdrantIndex:
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

    def _prepare(self, p: IndexPoint, meta: CollectionMeta) -> tuple[str, list[float], SparseVec, Payload]:
        where = f"point {p.id!r}"
        if not isinstance(p.id, str) or not p.id or not isinstance(p.kind, str) or not p.kind:
            raise InputError("point id and kind must be non-empty strings", "点的 id 与 kind 须为非空字符串", where)
        for key, value in p.payload.items():
            if key.startswith(BOOL_SHADOW_PREFIX):
                raise InputError("payload key uses a reserved prefix", "载荷字段名使用了保留前缀", where)
            if key in RESERVED_KEYS and value != {GID: p.id, KIND: p.kind}[key]:
                raise InputError(
                    f"payload key {key!r} is reserved and must equal the point's {key}",
                    f"载荷字段 {key!r} 为保留字段，须与点的 {key} 一致",
                    where,
                )
        payload: Payload = {**p.payload, GID: p.id, KIND: p.kind}
        return point_uuid(p.id), as_dense(p.dense, meta.dim, where), p.sparse, payload

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
                    payload=public_payload(r.payload),
                )
                for r in next(raws)
            ]
            hits.sort(key=lambda h: (-h.score, h.id))
            out.append(hits)
        return out

    @staticmethod
    def _plan(meta: CollectionMeta, req: SearchRequest) -> QueryPlan | None:
        """The engine-neutral plan of a request, or None when nothing can match it."""
        if req.limit <= 0 or req.prefetch_limit <= 0:
            raise InputError("limit and prefetch_limit must be positive", "limit 与 prefetch_limit 须为正数")
        if req.mode not in ("hybrid", "dense", "sparse"):
            raise InputError(f"unknown search mode {req.mode!r}", f"未知检索模式 {req.mode!r}")
        if req.fusion not in ("rrf", "dbsf"):
            raise InputError(f"unknown fusion {req.fusion!r}", f"未知融合方式 {req.fusion!r}")
        matches = normalise_filters(req.filters)
        if matches is None:
            return None
        dense_list = as_dense(req.dense, meta.dim, "query") if req.dense is not None else None
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

        return QueryPlan(
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
            str(r.payload[GID]): r for r in self._retrieve(collection, [point_uuid(i) for i in unique], with_vectors)
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
                    payload=public_payload(r.payload),
                    dense=np.asarray(r.dense, dtype=np.float32) if with_vectors and r.dense is not None else None,
                    sparse=(r.sparse or SparseVec([], [])) if with_vectors else None,
                )
            )
        return out

    def count(self, collection: str, filters: Filters | None = None) -> int:
        self._meta(collection)
        matches = normalise_filters(filters)
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
