"""Scale-out adapter: Qdrant through ``qdrant-client``: a server, or qdrant-client's local mode (tests).

The model record is kept in the collection's ``metadata`` (Qdrant ≥ 1.16).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pilotkg.errors import InputError, StoreError
from pilotkg.vectors.index.base import DENSE, INDEXED_FIELDS, LEX, META_KEY, Payload, SparseVec
from pilotkg.vectors.index.plan import CollectionMeta, FieldMatch, QueryPlan, RawHit
from pilotkg.vectors.index.qdrant import QdrantIndex

if TYPE_CHECKING:
    # qdrant-client takes seconds to import; this adapter loads it only at construction, so importing
    # this module (or QdrantServerIndex from pilotkg.vectors.index) stays cheap.
    from qdrant_client import QdrantClient
    from qdrant_client import models as qm


def _server_match(m: FieldMatch) -> qm.FieldCondition:
    from qdrant_client import models as qm

    if isinstance(m.value, tuple):
        return qm.FieldCondition(key=m.key, match=qm.MatchAny(any=list(m.value)))
    return qm.FieldCondition(key=m.key, match=qm.MatchValue(value=m.value))


def _server_filter(matches: tuple[FieldMatch, ...], exclude: tuple[str, ...] = ()) -> qm.Filter | None:
    from qdrant_client import models as qm

    if not matches and not exclude:
        return None
    must: list[qm.Condition] = [_server_match(m) for m in matches]
    must_not: list[qm.Condition] = [qm.HasIdCondition(has_id=list(exclude))] if exclude else []
    return qm.Filter(must=must or None, must_not=must_not or None)


class QdrantServerIndex(QdrantIndex):
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
            raise StoreError(f"cannot open Qdrant: {exc}", f"无法打开 Qdrant：{exc}", where=self.where) from exc

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

    def _read_meta(self, collection: str) -> CollectionMeta | None:
        with self._errors(collection):
            metadata = self.client.get_collection(collection).config.metadata or {}
        raw = metadata.get(META_KEY)
        return CollectionMeta.from_json(raw if isinstance(raw, Mapping) else None)

    def _create(self, collection: str, meta: CollectionMeta) -> None:
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
                warnings.filterwarnings("ignore", message="Payload indexes have no effect", category=UserWarning)
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

    def _query(self, collection: str, plans: Sequence[QueryPlan]) -> list[list[RawHit]]:
        with self._errors(collection):
            responses = self.client.query_batch_points(collection, requests=[self._request(p) for p in plans])
        return [[RawHit(payload=dict(p.payload or {}), score=float(p.score)) for p in r.points] for r in responses]

    @staticmethod
    def _request(plan: QueryPlan) -> qm.QueryRequest:
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

    def _retrieve(self, collection: str, uuids: Sequence[str], with_vectors: bool) -> list[RawHit]:
        from qdrant_client import models as qm

        with self._errors(collection):
            records = self.client.retrieve(
                collection,
                list(uuids),
                with_payload=True,
                with_vectors=[DENSE, LEX] if with_vectors else False,
            )
        out: list[RawHit] = []
        for r in records:
            vec: Mapping[str, Any] = r.vector if isinstance(r.vector, dict) else {}
            dense = vec.get(DENSE)
            lex = vec.get(LEX)
            out.append(
                RawHit(
                    payload=dict(r.payload or {}),
                    dense=[float(x) for x in dense] if dense is not None else None,
                    sparse=SparseVec(list(lex.indices), [float(v) for v in lex.values])
                    if isinstance(lex, qm.SparseVector)
                    else None,
                )
            )
        return out

    def _count(self, collection: str, matches: tuple[FieldMatch, ...]) -> int:
        with self._errors(collection):
            return int(self.client.count(collection, count_filter=_server_filter(matches), exact=True).count)

    def _optimize(self, collection: str) -> bool:
        """A server runs its optimizers in the background; nothing to trigger."""
        return False

    def _close(self) -> None:
        self.client.close()
