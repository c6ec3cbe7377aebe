"""Load benchmark of the pilotkg service (a script, not a test).

Starts ``pilotkg.api`` with uvicorn in a child process on 127.0.0.1 (a free port), then runs N
concurrent async httpx clients against ``POST /api/match`` and ``GET /sparql``. Every run is
bounded by a request count AND a wall-clock limit, and only ever talks to loopback. Prints
throughput and p50/p95 latency as a markdown table.

    .venv/bin/python benchmarks/bench_load.py                      # the built data/ (real model)
    .venv/bin/python benchmarks/bench_load.py --temp-build e5      # a throwaway build (data/ may be busy)
    .venv/bin/python benchmarks/bench_load.py --clients 4 8 --requests 200 --max-seconds 60
    .venv/bin/python benchmarks/bench_load.py --temp-build e5 --baseline-python ../main/.venv/bin/python

With ``--baseline-python`` the same build (a copy) is also served by that interpreter (the venv of
another checkout, e.g. the previous release, with its editable install); both servers run at once
and every row goes to one and then the other, so the two tables share the machine's state. Each
table gives the server process's resident memory when ready, after the runs and at its peak, and
splits it into anonymous memory (the process's own) and file-backed pages (the model's memory-mapped
word embeddings and libraries: clean pages the kernel can drop and re-read, shared with the page cache).

The servers run with ``PILOTKG_SPARQL_PER_CALLER`` raised to the largest client count: every client comes
from one address, and the per-address allowance (4 by default) would make the 8-client SPARQL row measure
the 429 answers of that policy rather than the endpoint. Errors are counted by status.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only: this script never targets another address

TEXTS = [
    "本项目综合运用卫星遥感、无人机和物联网技术，对林区火险因子实时采集和分析研判，实现火情快速识别和准确定位，"
    "报警响应时间45分钟。",
    "面向煤矿井下，部署瓦斯、粉尘、顶板压力传感器，运用工业互联网和5G实时监控生产环境和关键设备运行状态，实现灾害预警。",
    "针对化工园区危险化学品储罐，建设智能监测预警平台，对温度、压力、液位和可燃有毒气体进行实时监测与风险预警。",
    "建设地质灾害隐患点空天地一体化监测网络，开展形变和关键地质环境参量监测，变形监测精度达到毫米级。",
    "打造安全生产“互联网+”在线培训平台，提供课程点播、虚拟仿真实训与考试认证服务，覆盖高危行业从业人员。",
    "今天中午食堂的红烧肉很好吃，下午我们去体育馆打篮球，晚上看了一场电影。",
]
QUERIES = [
    "PREFIX pk: <https://w3id.org/pilotkg/def#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    "SELECT ?d ?name WHERE { ?d a pk:Direction ; skos:prefLabel ?name } ORDER BY ?d",
    "PREFIX pk: <https://w3id.org/pilotkg/def#>\n"
    "SELECT ?d (COUNT(?r) AS ?n) WHERE { ?d pk:hasRequirement ?r } "
    "GROUP BY ?d ORDER BY DESC(?n)",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
]


@dataclass
class Outcome:
    name: str
    clients: int
    sent: int
    errors: int
    statuses: dict[str, int]
    seconds: float
    latencies_ms: list[float]

    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    def errors_text(self) -> str:
        if not self.errors:
            return "0"
        return f"{self.errors} (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items())) + ")"

    def row(self) -> str:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat) if lat else float("nan")
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))] if lat else float("nan")
        rps = len(lat) / self.seconds if self.seconds else 0.0
        return (
            f"| {self.name} | {self.clients} | {self.sent} | {self.errors_text()} | {rps:.1f} | "
            f"{p50:.1f} | {p95:.1f} | {max(lat) if lat else float('nan'):.1f} |"
        )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def memory_mb(pid: int) -> tuple[float, float, float, float]:
    """(resident, peak resident, anonymous, file-backed) MiB of a process, from /proc (Linux)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)

    def mib(key: str) -> float:
        return int(fields[key].split()[0]) / 1024

    return mib("VmRSS"), mib("VmHWM"), mib("RssAnon"), mib("RssFile") + mib("RssShmem")


@contextmanager
def server(env: dict[str, str], ready_timeout_s: float, python: str = sys.executable) -> Iterator[tuple[str, int]]:
    port = free_port()
    cmd = [
        python,
        "-m",
        "uvicorn",
        "--factory",
        "pilotkg.api.app:create_app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO)
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode} during start-up")
            try:
                r = httpx.get(f"{base}/healthz", timeout=2)
                if r.status_code == 200:
                    break
                if r.json().get("status") == "failed":
                    raise SystemExit(f"server failed to start: {r.json().get('message_en')}")
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"server not ready after {ready_timeout_s:.0f}s")
            time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def run(
    name: str,
    base: str,
    clients: int,
    total: int,
    max_seconds: float,
    send: Callable[[httpx.AsyncClient, int], object],
) -> Outcome:
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    issued = 0
    deadline = time.monotonic() + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors, issued
        while issued < total and time.monotonic() < deadline:
            i = issued
            issued += 1
            t0 = time.perf_counter()
            try:
                resp = await send(client, i)  # type: ignore[misc]
                status = str(resp.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if status == "200":
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1
                statuses[status] = statuses.get(status, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        seconds = time.perf_counter() - t0
    return Outcome(name, clients, issued, errors, statuses, seconds, latencies)


def long_text(n: int) -> str:
    """~2 000 characters (an application write-up, past the encoder's 512-token window) whose every
    sentence is new, so that no query cache answers part of it."""
    return "".join(f"（{n}.{i}）{TEXTS[i % 5]}" for i in range(33))


async def warm_up(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as warm:  # first-call costs are not load
        for resp in [await warm.post("/api/match", json={"text": t}) for t in TEXTS] + [
            await warm.get("/sparql", params={"query": q}) for q in QUERIES
        ]:
            if resp.status_code != 200:
                raise SystemExit(f"warm-up {resp.request.url.path} answered {resp.status_code}: {resp.text}")


async def bench(
    bases: list[str], clients_list: list[int], total: int, max_seconds: float, long_requests: int
) -> list[list[Outcome]]:
    """Every row on every server in turn (baseline, then this checkout), so that both see the
    machine in the same state; ``long_requests`` adds a row of 2 000-character matches, 1 client."""
    unique = itertools.count()

    def match(c: httpx.AsyncClient, i: int) -> object:
        # A unique suffix per request, so no cache anywhere can answer a repeated text.
        n = next(unique)
        return c.post("/api/match", json={"text": f"样本{n}：{TEXTS[i % len(TEXTS)]}", "top": 3})

    def long_match(c: httpx.AsyncClient, i: int) -> object:
        return c.post("/api/match", json={"text": long_text(next(unique)), "top": 3})

    def sparql(c: httpx.AsyncClient, i: int) -> object:
        return c.get(
            "/sparql",
            params={"query": QUERIES[i % len(QUERIES)]},
            headers={"Accept": "application/sparql-results+json"},
        )

    for base in bases:
        await warm_up(base)
    rows: list[tuple[str, int, int, Callable[[httpx.AsyncClient, int], object]]] = []
    for n in clients_list:
        rows += [("POST /api/match", n, total, match), ("GET /sparql", n, total, sparql)]
    if long_requests:
        rows.append(("POST /api/match 2 000 chars", 1, long_requests, long_match))
    out: list[list[Outcome]] = [[] for _ in bases]
    for name, n, count, send in rows:
        for k, base in enumerate(bases):
            out[k].append(await run(name, base, n, count, max_seconds, send))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="concurrent clients, one run each")
    ap.add_argument("--requests", type=int, default=200, help="requests per endpoint and run (upper bound)")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="wall-clock bound per endpoint and run")
    ap.add_argument(
        "--temp-build",
        choices=["e5", "hash"],
        help="build graph + index into a throwaway folder with this embedder instead of using data/",
    )
    ap.add_argument("--ready-timeout", type=float, default=300.0)
    ap.add_argument("--long", type=int, default=0, help="2 000-character match requests (1 client) per server")
    ap.add_argument(
        "--baseline-python",
        type=Path,
        help="another checkout's venv python: serve the same data with that code first, for a same-run baseline",
    )
    args = ap.parse_args()
    if args.requests < 1 or args.requests > 100_000 or min(args.clients) < 1 or max(args.clients) > 256:
        raise SystemExit("bounds: 1 ≤ requests ≤ 100000, 1 ≤ clients ≤ 256")

    env = {k: v for k, v in os.environ.items() if not k.startswith("PILOTKG_")} | {
        "PILOTKG_CORPUS_DIR": str(REPO / "corpus"),
        "PILOTKG_SPARQL_PER_CALLER": str(max(args.clients)),
    }
    tmp: str | None = None
    if args.temp_build:
        from pilotkg.graph.rdf import build as build_graph
        from pilotkg.service import build_index
        from pilotkg.settings import Settings

        tmp = tempfile.mkdtemp(prefix="pilotkg-bench-")
        model_dir = Settings().resolved_model_dir.resolve()
        s = Settings(embedder=args.temp_build, data_dir=Path(tmp), corpus_dir=REPO / "corpus", model_dir=model_dir)
        build_graph(s)
        build_index(s)
        env |= {
            "PILOTKG_EMBEDDER": args.temp_build,
            "PILOTKG_DATA_DIR": tmp,
            "PILOTKG_MODEL_DIR": str(model_dir),
        }
        label = f"{args.temp_build} embedder, temp build"
    else:
        env |= {"PILOTKG_DATA_DIR": str(REPO / "data")}
        label = "e5 model, repo data/"
    runs: list[tuple[str, str]] = [("this checkout", sys.executable)]
    if args.baseline_python:
        runs.insert(0, (f"baseline {args.baseline_python}", str(args.baseline_python)))
    try:
        with ExitStack() as stack:
            started = []
            for k, (_code, python) in enumerate(runs):
                run_env = env
                if tmp and k:  # the embedded stores take one opener: each server gets its own copy
                    copy = f"{tmp}-{k}"
                    shutil.copytree(tmp, copy)
                    stack.callback(shutil.rmtree, copy, ignore_errors=True)
                    run_env = env | {"PILOTKG_DATA_DIR": copy}
                started.append(stack.enter_context(server(run_env, args.ready_timeout, python)))
            idle = [memory_mb(pid) for _, pid in started]
            outcomes = asyncio.run(
                bench([b for b, _ in started], args.clients, args.requests, args.max_seconds, args.long)
            )
            after = [memory_mb(pid) for _, pid in started]
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    for (code, _), (ready, _, ready_anon, ready_file), (rss, peak, anon, file), rows in zip(
        runs, idle, after, outcomes, strict=True
    ):
        print(
            f"\npilotkg load benchmark — {label}; code: {code}; server: 1 uvicorn worker on {HOST}; "
            f"≤ {args.requests} requests / ≤ {args.max_seconds:g} s per row; {os.cpu_count()} CPU cores\n"
            f"server memory: {ready:.0f} MiB resident when ready ({ready_anon:.0f} anonymous + {ready_file:.0f} "
            f"file-backed), {rss:.0f} MiB after the runs ({anon:.0f} + {file:.0f}), peak {peak:.0f} MiB\n"
        )
        print("| endpoint | clients | requests | errors | throughput (req/s) | p50 (ms) | p95 (ms) | max (ms) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for o in rows:
            print(o.row())
    if len(outcomes) == 2:
        print("\n| endpoint | clients | throughput, this / baseline | p50, this / baseline |\n|---|---:|---:|---:|")
        for old, new in zip(*outcomes, strict=True):
            print(f"| {new.name} | {new.clients} | ×{new.rps() / old.rps():.2f} | ×{new.p50() / old.p50():.2f} |")


if __name__ == "__main__":
    main()
