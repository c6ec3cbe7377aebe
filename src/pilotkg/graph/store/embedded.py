"""The embedded store: pyoxigraph on disk (or in memory, for tests), behind :class:`pilotkg.graph.store.GraphStore`.

Users' queries (:meth:`EmbeddedStore.run_untrusted`) on a store opened with ``workers`` run in the worker
processes of :mod:`.pool`, killed at the time limit. Without workers (the CLI, in-memory stores), queries
with a time limit run in a daemon worker thread: pyoxigraph cannot cancel a query, but it
releases the GIL while evaluating, so a query past its deadline is *abandoned* — the caller gets
QueryTimeout at once, the worker stops at its next result row, and a query that yields no row (a runaway
aggregate) runs on in its thread until it finishes. At most ``MAX_ABANDONED`` such threads may linger;
beyond that new queries are refused (StoreError) rather than piling up.
"""

from __future__ import annotations

import gc
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from pilotkg.errors import StoreError
from pilotkg.graph.store.base import (
    Cancelled,
    QueryResult,
    SparqlUpdates,
    count_of,
    count_query,
    materialize,
    replace_update,
    syntax_error,
    timeout_error,
)
from pilotkg.graph.store.pool import Job, QueryPool, open_read_only, query_dataset, run_job

if TYPE_CHECKING:
    import rdflib

MAX_ABANDONED = 4

_abandoned: set[threading.Thread] = set()
_abandoned_lock = threading.Lock()


def _run_with_deadline(fn: Callable[[threading.Event], QueryResult], timeout_s: float) -> QueryResult:
    with _abandoned_lock:
        _abandoned.difference_update({t for t in _abandoned if not t.is_alive()})
        if len(_abandoned) >= MAX_ABANDONED:
            raise StoreError(
                f"{len(_abandoned)} timed-out queries are still running; try again later",
                f"仍有 {len(_abandoned)} 个超时查询在运行，请稍后再试",
                where="query",
            )
    box: dict[str, Any] = {}
    cancel = threading.Event()

    def work() -> None:
        try:
            box["result"] = fn(cancel)
        except BaseException as exc:  # handed to the waiting caller, re-raised there
            # pyoxigraph result iterators are thread-bound: the traceback's frames must not carry
            # them to whichever thread collects the exception
            traceback.clear_frames(exc.__traceback__)
            box["error"] = exc

    worker = threading.Thread(target=work, name="pilotkg-sparql", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        cancel.set()
        with _abandoned_lock:
            _abandoned.add(worker)
        raise timeout_error(timeout_s)
    if "error" in box:
        raise box["error"]
    result: QueryResult = box["result"]
    return result


class EmbeddedStore(SparqlUpdates):
    """pyoxigraph on disk (``path``) or in memory (``path=None``, for tests)."""

    def __init__(
        self, path: Path | None, *, read_only: bool = False, workers: int = 0, worker_memory_mb: int | None = None
    ) -> None:
        self.read_only = read_only
        self.path = path
        self.location = str(path) if path is not None else ":memory:"
        self._store: ox.Store | None = self._open(path, read_only)
        # Workers open the folder read-only: only for a store on disk.
        self._pool: QueryPool | None = (
            QueryPool(path, workers, memory_mb=worker_memory_mb) if workers > 0 and path is not None else None
        )
        self.generation = 0  # bumped by every write, so workers reopen their read-only snapshot

    @staticmethod
    def _open(path: Path | None, read_only: bool) -> ox.Store:
        if path is None:
            return ox.Store()
        if read_only:
            if not (path / "CURRENT").is_file():
                raise StoreError(
                    f"no RDF store at {path}: run `pilotkg build` first",
                    f"{path} 处没有 RDF 存储：请先运行 `pilotkg build`",
                    where=str(path),
                )
            return EmbeddedStore._open_read_only(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            return ox.Store(str(path))
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    "the RDF store is in use by another process (a running `pilotkg serve`?): "
                    "use its HTTP API, or stop it first",
                    "RDF 存储正被另一进程使用（可能是正在运行的 `pilotkg serve`）："
                    "请通过其 HTTP API 操作，或先停止该服务",
                    where=str(path),
                ) from exc
            raise StoreError(f"cannot open the RDF store: {exc}", f"无法打开 RDF 存储：{exc}", where=str(path)) from exc

    @staticmethod
    def _open_read_only(path: Path) -> ox.Store:
        try:
            return open_read_only(path)
        except StoreError as exc:
            raise StoreError(
                f"cannot open the RDF store read-only: {exc.__cause__}",
                f"无法以只读方式打开 RDF 存储：{exc.__cause__}",
                where=str(path),
            ) from exc.__cause__

    @property
    def store(self) -> ox.Store:
        if self._store is None:
            raise StoreError("the store is closed", "存储已关闭", where=self.location)
        return self._store

    def _writable(self) -> ox.Store:
        if self.read_only:
            raise StoreError("the store is open read-only", "存储以只读方式打开", where=self.location)
        return self.store

    def query(
        self, sparql: str, *, timeout_s: float | None = None, named_graphs: Sequence[str] | None = None
    ) -> QueryResult:
        store = self.store

        def run(cancel: threading.Event | None) -> QueryResult:
            t0 = time.perf_counter()
            try:
                # the protocol dataset replaces any FROM / FROM NAMED of the query
                return query_dataset(store, sparql, named_graphs, lambda res: materialize(res, cancel, t0))
            except SyntaxError as exc:
                raise syntax_error(str(exc)) from exc
            except OSError as exc:
                raise StoreError(
                    f"query failed in the store: {exc}", f"存储执行查询失败：{exc}", where="query"
                ) from exc

        if timeout_s is None:
            return run(None)
        try:
            return _run_with_deadline(run, timeout_s)
        except Cancelled as exc:  # only reachable if the deadline passed as the last row came in
            raise timeout_error(timeout_s) from exc

    def run_untrusted(
        self,
        sparql: str,
        *,
        prepare: Callable[[str], str],
        timeout_s: float | None,
        named_graphs: Sequence[str] | None,
        max_rows: int | None = None,
        max_bytes: int | None = None,
        priority: bool = False,
    ) -> QueryResult:
        job = Job(
            sparql,
            prepare,
            list(named_graphs) if named_graphs is not None else None,
            self.generation,
            max_rows,
            max_bytes,
            priority,
        )
        if self._pool is not None:
            return self._pool.run(job, timeout_s)
        store = self.store

        def run(cancel: threading.Event | None) -> QueryResult:
            return run_job(store, job, cancel)

        if timeout_s is None:
            return run(None)
        try:
            return _run_with_deadline(run, timeout_s)
        except Cancelled as exc:  # only reachable if the deadline passed as the last row came in
            raise timeout_error(timeout_s) from exc

    def update(self, sparql: str) -> None:
        try:
            self._writable().update(sparql)
            self.generation += 1  # after the commit: a worker that sees the new number sees the new data
        except SyntaxError as exc:
            raise syntax_error(str(exc)) from exc
        except OSError as exc:
            raise StoreError(f"update failed: {exc}", f"更新失败：{exc}", where=self.location) from exc

    def replace_graph(self, graph_iri: str, g: rdflib.Graph) -> None:
        self.update(replace_update(graph_iri, g))

    def add_to_graph(self, graph_iri: str, g: rdflib.Graph) -> None:
        self.update_transaction(graph_iri, [], g)

    def triple_count(self, graph_iri: str | None = None) -> int:
        if graph_iri is None:
            return len(self.store)
        return count_of(self.query(count_query(graph_iri), named_graphs=[graph_iri]))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._store is not None and not self.read_only:
            self._store.flush()
        # pyoxigraph has no close(): dropping the last reference releases the RocksDB lock. The SPARQL
        # parser (pyparsing) keeps exceptions whose frames reach back to a query's caller, so a reference
        # can sit in a garbage cycle: collected here, or the lock outlives close().
        self._store = None
        gc.collect()
