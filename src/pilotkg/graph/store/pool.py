"""User queries on the embedded store run in worker processes, so no query can take the service down.

pyoxigraph cannot cancel a query (a time limit does not stop its evaluation) and a query its parser or
evaluator cannot handle can overflow the native stack and kill the whole process. So each query a
user sends is handed to one of a few worker processes, each holding the store open read-only
(``pyoxigraph.Store.read_only`` opens beside the writer). The worker first runs the caller's
``prepare`` (the SPARQL parse and checks of :mod:`pilotkg.graph.sparql`), then the query. A worker
that passes the time limit is killed (SIGKILL) and replaced, so a timed-out query stops using a core at
once; a worker that dies on a query is replaced the same way and the caller gets a QueryError.

Each worker may allocate at most ``memory_mb`` (``RLIMIT_DATA``: heap and private mappings, not the
store's files): a sorted cross join of the 7 000-triple policy graph reaches 4 GB within the 10 s time
limit, and a few of those at once would take the machine's memory from the service. The engine aborts
its process when an allocation is refused; the caller gets ``QueryMemoryExceeded`` (422).

A read-only open is a snapshot: the writer bumps a generation number on every write, and a worker
reopens the store (~25 ms) when the generation of the query it gets is newer than its own.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery

from pilotkg.errors import PilotkgError, QueryError, QueryMemoryExceeded, ServiceBusy, StoreError
from pilotkg.graph.store.base import QueryResult, materialize, syntax_error, timeout_error

log = logging.getLogger("pilotkg.store")
Prepare = Callable[[str], str]
# Opening read-only beside a writer races its compactions: retry for this long. One retry is usually
# enough; a writer compacting non-stop on busy cores needed up to 7 (300 opens).
READ_ONLY_PATIENCE_S = 5.0
# How long a new worker may take to open the store and load the parser.
WORKER_START_S = 120.0
# How long a query waits for a free worker before it is refused as "busy".
WAIT_FOR_WORKER_S = 10.0
# The rdflib parser recurses ~30 Python frames per nesting level: a worker gives it room.
_WORKER_STACK = 256 * 1024 * 1024
_WORKER_RECURSION = 50_000


def open_read_only(path: Path) -> ox.Store:
    """``Store.read_only(path)``, retried while a writer in another process flushes or compacts
    (RocksDB then reports the vanished file as "Corruption"; the store is fine and the next read of
    the MANIFEST succeeds)."""
    deadline = time.monotonic() + READ_ONLY_PATIENCE_S
    pause = 0.005
    while True:
        try:
            return ox.Store.read_only(str(path))
        except (OSError, RuntimeError) as exc:
            last = exc
            if "No such file" not in str(exc) or time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.1)
    raise StoreError("cannot open the RDF store read-only", "无法以只读方式打开 RDF 存储", where="store") from last


@dataclass(frozen=True)
class Job:
    text: str
    prepare: Prepare
    named_graphs: list[str] | None
    generation: int
    max_rows: int | None
    max_bytes: int | None
    priority: bool = False  # may use the worker kept free for token holders


UNION_DATASET: dict[str, Any] = {"use_default_graph_as_union": True}


def covers_store(store: ox.Store, named_graphs: Sequence[str]) -> bool:
    """Whether a dataset of ``named_graphs`` is the whole store: every named graph of the store is among
    them and the store's own default graph is empty."""
    allowed = set(named_graphs)
    if any(g.value not in allowed for g in store.named_graphs() if isinstance(g, ox.NamedNode)):
        return False
    return next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is None


def query_dataset(
    store: ox.Store, text: str, named_graphs: Sequence[str] | None, read: Callable[[Any], QueryResult]
) -> QueryResult:
    """``text`` over the dataset of ``named_graphs`` (None: every graph; default graph = their union).

    Oxigraph evaluates patterns over its union default graph about 1.4–2× faster than over an explicit
    list of graphs (reviewer queries at 20 000 projects: 94 vs 134 ms, 24 vs 53 ms), so when the list
    covers the whole store, which is the same dataset, the union is asked for. A graph the caller may
    not see could be created while the query runs; the check is repeated after it (graphs are only
    ever added by imports), and the query is run again on the explicit dataset if one appeared."""
    if named_graphs is None:
        return read(store.query(text, **UNION_DATASET))
    if covers_store(store, named_graphs):
        result = read(store.query(text, **UNION_DATASET))
        if covers_store(store, named_graphs):
            return result
    graphs = [ox.NamedNode(g) for g in named_graphs]
    explicit: dict[str, Any] = {"default_graph": graphs, "named_graphs": graphs}
    return read(store.query(text, **explicit))


def run_job(store: ox.Store, job: Job, cancel: threading.Event | None = None) -> QueryResult:
    """What a worker does with one job (also the in-process path for stores without workers, where
    ``cancel`` stops reading the result of a query its caller has given up on)."""
    text = job.prepare(job.text)
    t0 = time.perf_counter()
    try:
        # The result iterator is thread-bound: handed over without a local reference, so an exception's
        # frames never keep it alive for another thread to drop.
        return query_dataset(
            store,
            text,
            job.named_graphs,
            lambda solutions: materialize(solutions, cancel, t0, max_rows=job.max_rows, max_bytes=job.max_bytes),
        )
    except SyntaxError as exc:
        raise syntax_error(str(exc)) from exc
    except OSError as exc:
        raise StoreError("the store failed on the query", "存储执行查询失败", where="query") from exc


def _warm_up(path: str) -> ox.Store:
    """Open the store and load the SPARQL parser once before taking jobs: a cold worker spends seconds
    importing, which would count against its first query's time limit."""
    store = open_read_only(Path(path))
    translateQuery(parseQuery("ASK { ?s ?p ?o }"))
    return store


def _serve(conn: Connection, path: str) -> None:
    store: ox.Store | None = None
    generation = -1
    try:
        store = _warm_up(path)
        conn.send("ready")
    except Exception as exc:  # any failure to open: the parent refuses the worker and logs why
        conn.send(f"failed: {type(exc).__name__}: {exc}"[:500])
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            if store is None or job.generation > generation:
                store = None
                store = open_read_only(Path(path))
                generation = job.generation
            reply: tuple[Any, ...] = ("ok", run_job(store, job))
        except PilotkgError as exc:
            reply = ("error", type(exc), exc.message_en, exc.message_zh, exc.where)
        except MemoryError:  # refused in Python (the engine aborts instead): this process is done
            with contextlib.suppress(EOFError, OSError):
                conn.send(("memory",))
            return
        except Exception as exc:  # a bug or an engine error: reported as such, the worker lives on
            reply = (
                "error",
                StoreError,
                f"query failed: {type(exc).__name__}",
                f"查询失败：{type(exc).__name__}",
                "query",
            )
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


def _worker_main(conn: Connection, path: str, memory_bytes: int | None) -> None:
    if memory_bytes is not None:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))
    sys.setrecursionlimit(_WORKER_RECURSION)
    threading.stack_size(_WORKER_STACK)
    t = threading.Thread(target=_serve, args=(conn, path), name="pilotkg-query-worker")
    t.start()
    t.join()


@dataclass(eq=False)  # identity: kept in a set
class _Worker:
    process: Any  # multiprocessing.context.SpawnProcess
    conn: Connection

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        self.process.join(timeout=5)
        with contextlib.suppress(Exception):
            self.conn.close()


class QueryPool:
    """``size`` worker processes on the store at ``path``; :meth:`run` hands one a job."""

    def __init__(
        self, path: Path, size: int, *, wait_s: float = WAIT_FOR_WORKER_S, memory_mb: int | None = None
    ) -> None:
        self.path = path
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self.wait_s = wait_s
        self._ctx = mp.get_context("spawn")  # fork would copy the server's threads and locks
        # One worker is kept for priority jobs (token holders), so anonymous load never locks reviewers out.
        self.reserve = 1 if self.size > 1 else 0
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.replaced = 0  # workers killed (time limit) or lost (crash) and started again
        # The first generation the workers open; a write bumps the store's number past it.
        for w in [self._spawn() for _ in range(self.size)]:  # started together, each waited for
            self._start(w)

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        memory = self.memory_mb * 2**20 if self.memory_mb else None
        proc = self._ctx.Process(
            target=_worker_main, args=(child, str(self.path), memory), daemon=True, name="pilotkg-query"
        )
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _start(self, w: _Worker | None = None) -> None:
        """Wait for a (new) worker to be warm, then make it available."""
        w = w or self._spawn()
        answer: object = "no answer"
        with contextlib.suppress(EOFError, OSError):
            if w.conn.poll(WORKER_START_S):
                answer = w.conn.recv()
        if answer != "ready":
            log.error("a query worker could not open the store: %s", answer)  # paths stay in the log
            w.stop()
            raise StoreError("a query worker could not open the store", "查询进程无法打开存储", where="query workers")
        with self._lock:
            if self._closed:
                w.stop()
                return
            self._all.add(w)
        self._release(w)

    def _release(self, w: _Worker) -> None:
        with self._cond:
            self._idle.append(w)
            self._cond.notify_all()

    def _acquire(self, priority: bool) -> _Worker:
        deadline = time.monotonic() + self.wait_s
        with self._cond:
            while True:
                if len(self._idle) > (0 if priority else self.reserve):
                    return self._idle.pop()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ServiceBusy(
                        "every query worker is busy; try again shortly", "所有查询进程都在忙，请稍后重试", where="query"
                    )
                self._cond.wait(remaining)

    def _replace(self, w: _Worker) -> None:
        with self._lock:
            self._all.discard(w)
        w.stop()
        with self._lock:
            self.replaced += 1
        if not self._closed:
            self._start()

    def run(self, job: Job, timeout_s: float | None) -> QueryResult:
        w = self._acquire(job.priority)
        healthy = False
        try:
            w.conn.send(job)
            if not w.conn.poll(timeout_s):
                raise timeout_error(timeout_s or 0)
            try:
                reply = w.conn.recv()
            except (EOFError, OSError):
                w.process.join(timeout=1)
                if w.process.exitcode == -signal.SIGABRT and self.memory_mb:  # an allocation refused
                    raise self._memory_exceeded() from None
                raise QueryError(
                    "the query engine failed on this query; it was stopped and restarted",
                    "查询引擎无法处理该查询，已终止并重新启动",
                    where="query",
                ) from None
            if reply[0] == "memory":
                raise self._memory_exceeded()
            healthy = True
        finally:
            if healthy:
                self._release(w)
            else:  # killed in the background: the caller's answer does not wait for the replacement
                threading.Thread(target=self._replace, args=(w,), daemon=True).start()
        if reply[0] == "ok":
            result: QueryResult = reply[1]
            return result
        _, cls, en, zh, where = reply
        raise cls(en, zh, where=where)

    def _memory_exceeded(self) -> QueryMemoryExceeded:
        log.warning("a query needed more than %s MiB; its worker was stopped", self.memory_mb)
        return QueryMemoryExceeded(
            f"the query needed more than the {self.memory_mb} MiB one query may use; it was stopped "
            "(narrow its patterns: sorting or grouping a cross product keeps every row in memory)",
            f"该查询所需内存超过单个查询上限 {self.memory_mb} MiB，已终止"
            "（请收窄查询模式：对笛卡尔积排序或分组会把所有行保存在内存中）",
            where="query",
        )

    def available(self) -> int:
        """Workers idle right now (a killed one counts again once its replacement is warm)."""
        with self._cond:
            return len(self._idle)

    def pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._all]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            with contextlib.suppress(Exception):
                w.conn.send(None)
            w.stop()
