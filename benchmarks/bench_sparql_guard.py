"""What the SPARQL guards cost: the lexer on the crash texts, one query through a worker process vs in
the caller's thread, and how long a killed worker takes to be replaced. Prints figures; < 1 min.

    .venv/bin/python benchmarks/bench_sparql_guard.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from rdflib import Graph, Literal, URIRef

from pilotkg.errors import QueryError, QueryTimeout
from pilotkg.graph.sparql import DEFAULT_LIMITS, run_query
from pilotkg.graph.store.base import scan_sparql
from pilotkg.graph.store.embedded import EmbeddedStore
from tests.graph.test_hardening import CRASHERS

G = "http://e/g"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    for name, text in CRASHERS.items():
        t0 = time.perf_counter()
        with contextlib.suppress(QueryError):
            scan_sparql(text, DEFAULT_LIMITS)
        print(f"refused {name!r} ({len(text)} chars) in {ms(time.perf_counter() - t0)}")
    with tempfile.TemporaryDirectory() as tmp:
        g = Graph()
        for i in range(200):
            g.add((URIRef(f"http://e/s{i}"), URIRef("http://e/p"), Literal(i)))
        for workers in (0, 2):
            store = EmbeddedStore(Path(tmp) / f"ox{workers}", workers=workers)
            store.replace_graph(G, g)
            q = "SELECT ?s WHERE { ?s <http://e/p> ?o FILTER(?o < 10) }"
            times = []
            for _ in range(20):
                t0 = time.perf_counter()
                run_query(store, q, timeout_s=30, allowed_graphs=[G])
                times.append(time.perf_counter() - t0)
            where = "worker process" if workers else "caller's thread"
            print(f"simple query in the {where}: p50 {ms(statistics.median(times))}, max {ms(max(times))}")
            if workers:
                pool = store._pool
                assert pool is not None
                t0 = time.perf_counter()
                with contextlib.suppress(QueryTimeout):
                    run_query(
                        store,
                        "SELECT (SUM(?c * ?f + ?i) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
                        timeout_s=1.0,
                        allowed_graphs=[G],
                    )
                t1 = time.perf_counter()
                while pool.replaced < 1:
                    time.sleep(0.01)
                t2 = time.perf_counter()
                while pool.available() < pool.size:
                    time.sleep(0.01)
                t3 = time.perf_counter()
                print(f"runaway query (1 s limit): 503 after {ms(t1 - t0)}; worker killed {ms(t2 - t1)} later,")
                print(f"  its replacement warm (store open, parser loaded) {ms(t3 - t2)} after that")
            store.close()


if __name__ == "__main__":
    main()
