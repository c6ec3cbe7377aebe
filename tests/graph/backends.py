"""Real SPARQL servers for the backend tests: `oxigraph serve` and Virtuoso 7, on loopback ports.

Each server lives in its own temporary folder, listens on 127.0.0.1 only and is stopped by the
context manager that started it. Virtuoso is set up so that its well-known default password never
works: the database is created offline with ``+pwdold dba +pwddba <random>`` (the server exits after
that first run without opening a port), then started for real; writes go through ``/sparql-auth``
(HTTP Digest) as a user holding only the SPARQL_UPDATE role, reads through the anonymous ``/sparql``.

``python tests/backends.py`` starts all three backends, builds the policy graph into each and prints
start, build and example-query timings as JSON (the figures of the benchmark table).
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from pilotkg.settings import Settings

REPO = Path(__file__).resolve().parents[2]
# The -bin package only: the full virtuoso-opensource-7 package also installs an init script whose
# postinst starts a system-wide server on the default ports with the default dba password.
VIRTUOSO_PACKAGE = "virtuoso-opensource-7-bin"
VIRTUOSO_USER = "pilotkg"
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Server:
    """A running SPARQL server, as the settings that point pilotkg at it."""

    name: str
    base: str
    query_url: str
    update_url: str
    gsp_url: str | None
    user: str | None = None
    password: str | None = None
    sql_port: int | None = None  # Virtuoso's ISQL port
    start_seconds: float = 0.0
    setup_seconds: float = 0.0  # of which the offline first run (Virtuoso)

    def settings(self, *, gsp: bool = False, **fields: object) -> Settings:
        return Settings(
            sparql_query_url=self.query_url,
            sparql_update_url=self.update_url,
            sparql_gsp_url=self.gsp_url if gsp else None,
            sparql_user=self.user,
            sparql_password=self.password,
            **fields,  # type: ignore[arg-type]
        )

    def auth(self) -> httpx.Auth | None:
        if self.user is None:
            return None
        return httpx.DigestAuth(self.user, self.password or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, params={"query": "ASK {}"}, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"{what} did not start (exit code {proc.poll()}):\n{tail}")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- Oxigraph ----------------------------------------------------------------------------------------


def oxigraph_binary() -> str:
    found = Path(sys.executable).parent / "oxigraph"
    if found.exists():
        return str(found)
    which = shutil.which("oxigraph")
    if which is None:
        raise RuntimeError("no oxigraph server binary: run scripts/setup.sh (it pip-installs oxigraph)")
    return which


@contextmanager
def oxigraph_server(workdir: Path) -> Iterator[Server]:
    port = free_port()
    log = workdir / "oxigraph.log"
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [oxigraph_binary(), "serve", "--location", str(workdir / "db"), "--bind", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _answers(f"{base}/query"), proc, "oxigraph serve", log)
        yield Server(
            "oxigraph-server",
            base,
            f"{base}/query",
            f"{base}/update",
            f"{base}/store",
            start_seconds=time.perf_counter() - t0,
        )
    finally:
        _stop(proc)


# --- Virtuoso ----------------------------------------------------------------------------------------


def virtuoso_binaries() -> tuple[str, str]:
    """``(virtuoso-t, isql-vt)``, installed from Debian first if they are missing (CI runs as root)."""
    if shutil.which("virtuoso-t") is None or shutil.which("isql-vt") is None:
        install_virtuoso()
    server, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if server is None or isql is None:
        raise RuntimeError(f"virtuoso-t / isql-vt still missing after installing {VIRTUOSO_PACKAGE}")
    return server, isql


def install_virtuoso() -> None:
    if shutil.which("apt-get") is None:
        raise RuntimeError(f"Virtuoso is missing and there is no apt-get: install {VIRTUOSO_PACKAGE}")
    env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", VIRTUOSO_PACKAGE],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")


def virtuoso_ini(workdir: Path, sql_port: int, http_port: int) -> str:
    d = workdir
    return f"""\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = {d}
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
ThreadsPerQuery = 2
AsyncQueueMaxThreads = 4
MaxQueryMem = 512M

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}
MaxClientConnections = 10
ServerThreads = 10
Charset = UTF-8
EnabledGzipContent = 0

[SPARQL]
; the default 10 000 would cut long answers short without an error
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 60
; no MaxQueryCostEstimationTime: with it set the endpoint compiles INSERT DATA constants into SQL
; text ("define sql:big-data-const 0"), and a few thousand triples fail with SP031 "generated SQL
; text has exceeded 10000 lines"
"""


def _isql(isql: str, sql_port: int, password: str, sql: str) -> None:
    done = subprocess.run(
        [isql, f"127.0.0.1:{sql_port}", "dba", password, "VERBOSE=OFF", "BANNER=OFF", "ERRORS=STDOUT"],
        input=sql,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0 or "Error" in done.stdout:
        raise RuntimeError(f"isql failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")


@contextmanager
def virtuoso_server(workdir: Path) -> Iterator[Server]:
    server, isql = virtuoso_binaries()
    sql_port, http_port = free_port(), free_port()
    ini = workdir / "virtuoso.ini"
    ini.write_text(virtuoso_ini(workdir, sql_port, http_port), encoding="utf-8")
    # 20 hex digits (80 bits): a +pwddba password of 24 characters or more is stored but never
    # accepted at login (Virtuoso 7.2.5)
    dba_password, user_password = secrets.token_hex(10), secrets.token_hex(10)
    log = workdir / "virtuoso.log"
    t0 = time.perf_counter()
    # First run: create the database and replace the default dba/dav passwords, then exit. No port is
    # opened in this mode, so the default password is never reachable.
    first = subprocess.run(
        [
            server,
            "+configfile",
            str(ini),
            "+foreground",
            "+pwdold",
            "dba",
            "+pwddba",
            dba_password,
            "+pwddav",
            dba_password,
        ],
        cwd=workdir,
        capture_output=True,
        timeout=300,
    )
    if "The DBA password is changed" not in log.read_text(errors="replace"):
        raise RuntimeError(f"Virtuoso set-up run failed ({first.returncode}):\n{log.read_text()[-3000:]}")
    t1 = time.perf_counter()
    with (workdir / "virtuoso.out").open("wb") as out:
        cmd = [server, "+configfile", str(ini), "+foreground"]
        proc = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    try:
        _wait(lambda: _answers(f"{base}/sparql"), proc, "virtuoso-t", log)
        _isql(
            isql,
            sql_port,
            dba_password,
            f"DB.DBA.USER_CREATE('{VIRTUOSO_USER}', '{user_password}');\nGRANT SPARQL_UPDATE TO \"{VIRTUOSO_USER}\";\n",
        )
        t2 = time.perf_counter()
        yield Server(
            "virtuoso",
            base,
            f"{base}/sparql",
            f"{base}/sparql-auth",
            f"{base}/sparql-graph-crud-auth",
            user=VIRTUOSO_USER,
            password=user_password,
            sql_port=sql_port,
            start_seconds=t2 - t0,
            setup_seconds=t1 - t0,
        )
    finally:
        _stop(proc)


# --- measurements -------------------------------------------------------------------------------------


def _p50(xs: list[float]) -> float:
    ys = sorted(xs)
    return ys[len(ys) // 2]


def measure(rounds: int = 20) -> dict[str, dict[str, float]]:
    """Start, build and example-query timings of the three backends (seconds)."""
    import tempfile

    from pilotkg import graph, iri
    from pilotkg.graph.sparql import example_queries, run_query
    from pilotkg.graph.store import open_store

    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "ox").mkdir()
        (root / "vt").mkdir()
        with oxigraph_server(root / "ox") as ox_srv, virtuoso_server(root / "vt") as vt_srv:
            configs = {
                "embedded": (Settings(sparql_query_url=None), 0.0),
                "oxigraph-server": (ox_srv.settings(), ox_srv.start_seconds),
                "virtuoso": (vt_srv.settings(), vt_srv.start_seconds),
            }
            for name, (base, started) in configs.items():
                settings = base.model_copy(update={"corpus_dir": REPO / "corpus", "data_dir": root / name})
                builds = [graph.build(settings) for _ in range(3)]
                store = open_store(settings, read_only=True)
                per_query: dict[str, list[float]] = {}
                unrestricted: list[float] = []
                try:
                    for i in range(rounds):
                        for q in example_queries():
                            t = time.perf_counter()
                            run_query(store, q.text, timeout_s=30, allowed_graphs=[iri.POLICY_GRAPH])
                            per_query.setdefault(q.name, []).append(time.perf_counter() - t)
                            if i < 3:  # allowed_graphs=None first lists every graph of the server
                                t = time.perf_counter()
                                run_query(store, q.text, timeout_s=30, allowed_graphs=None)
                                unrestricted.append(time.perf_counter() - t)
                finally:
                    store.close()
                lat = [x for xs in per_query.values() for x in xs]
                out[name] = {
                    "start_s": round(started, 2),
                    "build_s_p50": round(_p50([b.seconds for b in builds]), 3),
                    "store_write_s_p50": round(_p50([b.timings["store"] for b in builds]), 3),
                    "example_query_ms_p50": round(_p50(lat) * 1000, 2),
                    "example_query_ms_max": round(max(lat) * 1000, 2),
                    "all_graphs_query_ms_p50": round(_p50(unrestricted) * 1000, 2),
                    **{f"ms_p50:{k}": round(_p50(v) * 1000, 2) for k, v in per_query.items()},
                }
    return out


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
