"""Embedded adapter: the Qdrant engine in-process through ``qdrant-edge-py`` (the default).

One on-disk shard per collection under ``settings.index_dir``, with the model record in ``meta.json``
next to it (written atomically); :class:`EdgeIndex` describes the layout and why every open is locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import qdrant_edge as qe

from pilotkg.errors import PilotkgError, StoreError
from pilotkg.vectors.index.base import DENSE, INDEXED_FIELDS, LEX, Payload, SparseVec
from pilotkg.vectors.index.plan import BOOL_SHADOW_PREFIX, CollectionMeta, FieldMatch, QueryPlan, RawHit
from pilotkg.vectors.index.qdrant import QdrantIndex

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


def _edge_match(m: FieldMatch) -> qe.FieldCondition:
    value = m.value
    if isinstance(value, bool):
        return qe.FieldCondition(BOOL_SHADOW_PREFIX + m.key, match=qe.MatchValue("true" if value else "false"))
    if isinstance(value, tuple):
        items: list[str] | list[int] = [v for v in value if isinstance(v, str)] or [int(v) for v in value]
        return qe.FieldCondition(m.key, match=qe.MatchAny(items))
    return qe.FieldCondition(m.key, match=qe.MatchValue(value))


def _edge_filter(matches: tuple[FieldMatch, ...], exclude: tuple[str, ...] = ()) -> qe.Filter | None:
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


class EdgeIndex(QdrantIndex):
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

    def __init__(self, root: Path | str, *, read_only: bool = False, max_search_threads: int | None = None) -> None:
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
            raise StoreError(f"cannot open lock file: {exc}", f"无法打开锁文件：{exc}", where=str(lock_path)) from exc
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

    def _read_meta(self, collection: str) -> CollectionMeta | None:
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
        return CollectionMeta.from_json(raw)

    def _create(self, collection: str, meta: CollectionMeta) -> None:
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

    def _write_meta(self, collection: str, meta: CollectionMeta) -> None:
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
                    stored[BOOL_SHADOW_PREFIX + key] = "true" if value else "false"
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

    def _query(self, collection: str, plans: Sequence[QueryPlan]) -> list[list[RawHit]]:
        shard = self._shard(collection)
        with _edge_errors(collection):
            if len(plans) == 1:
                batches = [shard.query(self._request(plans[0]))]
            else:
                batches = shard.query_batch(qe.QueryBatchRequest([self._request(p) for p in plans]))
        return [[RawHit(payload=dict(p.payload or {}), score=float(p.score)) for p in points] for points in batches]

    @staticmethod
    def _request(plan: QueryPlan) -> qe.QueryRequest:
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

    def _retrieve(self, collection: str, uuids: Sequence[str], with_vectors: bool) -> list[RawHit]:
        shard = self._shard(collection)
        with _edge_errors(collection):
            records = shard.retrieve(list(uuids), True, [DENSE, LEX] if with_vectors else False)
        out: list[RawHit] = []
        for r in records:
            vec: Mapping[str, Any] = r.vector if isinstance(r.vector, dict) else {}
            dense = vec.get(DENSE)
            out.append(
                RawHit(
                    payload=dict(r.payload or {}),
                    dense=[float(x) for x in dense] if dense is not None else None,
                    sparse=_edge_sparse_out(vec.get(LEX)),
                )
            )
        return out

    def _count(self, collection: str, matches: tuple[FieldMatch, ...]) -> int:
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
