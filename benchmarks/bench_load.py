"""Load benchmark of the pilotkg service (a script, not a test).

Starts ``pilotkg.api`` with uvicorn in a child process on 127.0.0.1 (a free port), then runs N
concurrent async httpx clients against ``POST /api/match`` and ``GET /sparql``. Every run is
bounded by a request count AND a wall-clock limit, and only ever talks to loopback. Prints
throughput and p50/p95 latency as a markdown table.

    .venv/bin/python benchmarks/bench_load.py                      # the built data/ (real model)
    .venv/bin/python benchmarks/bench_load.py --temp-build e5      # a throwaway build (data/ may be busy)
    .venv/bin/python benchmarks/bench_load.py --clients 4 8 --requests 200 --max-seconds 60
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
from contextlib import contextmanager
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
    seconds: float
    latencies_ms: list[float]

    def row(self) -> str:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat) if lat else float("nan")
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))] if lat else float("nan")
        rps = len(lat) / self.seconds if self.seconds else 0.0
        return (
            f"| {self.name} | {self.clients} | {self.sent} | {self.errors} | {rps:.1f} | "
            f"{p50:.1f} | {p95:.1f} | {max(lat) if lat else float('nan'):.1f} |"
        )


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def server(env: dict[str, str], ready_timeout_s: float) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
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
        yield base
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
                ok = resp.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(clients)))
        seconds = time.perf_counter() - t0
    return Outcome(name, clients, issued, errors, seconds, latencies)


async def bench(base: str, clients_list: list[int], total: int, max_seconds: float) -> list[Outcome]:
    unique = itertools.count()

    def match(c: httpx.AsyncClient, i: int) -> object:
        # A unique suffix per request, so no cache anywhere can answer a repeated text.
        n = next(unique)
        return c.post("/api/match", json={"text": f"样本{n}：{TEXTS[i % len(TEXTS)]}", "top": 3})

    def sparql(c: httpx.AsyncClient, i: int) -> object:
        return c.get(
            "/sparql",
            params={"query": QUERIES[i % len(QUERIES)]},
            headers={"Accept": "application/sparql-results+json"},
        )

    out = []
    async with httpx.AsyncClient(base_url=base, timeout=120) as warm:  # first-call costs are not load
        for resp in [await warm.post("/api/match", json={"text": t}) for t in TEXTS] + [
            await warm.get("/sparql", params={"query": q}) for q in QUERIES
        ]:
            if resp.status_code != 200:
                raise SystemExit(f"warm-up {resp.request.url.path} answered {resp.status_code}: {resp.text}")
    for n in clients_list:
        out.append(await run("POST /api/match", base, n, total, max_seconds, match))
        out.append(await run("GET /sparql", base, n, total, max_seconds, sparql))
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
    args = ap.parse_args()
    if args.requests < 1 or args.requests > 100_000 or min(args.clients) < 1 or max(args.clients) > 256:
        raise SystemExit("bounds: 1 ≤ requests ≤ 100000, 1 ≤ clients ≤ 256")

    env = {k: v for k, v in os.environ.items() if not k.startswith("PILOTKG_")} | {
        "PILOTKG_CORPUS_DIR": str(REPO / "corpus")
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
    try:
        with server(env, args.ready_timeout) as base:
            outcomes = asyncio.run(bench(base, args.clients, args.requests, args.max_seconds))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"\npilotkg load benchmark — {label}; server: 1 uvicorn worker on {HOST}; "
        f"≤ {args.requests} requests / ≤ {args.max_seconds:g} s per row; {os.cpu_count()} CPU cores\n"
    )
    print("| endpoint | clients | requests | errors | throughput (req/s) | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for o in outcomes:
        print(o.row())


if __name__ == "__main__":
    main()
