"""Vector index figures: upsert throughput and query latency, embedded (qdrant-edge) vs local mode.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_index.py [--points 10000 --dim 384]``

Synthetic data shaped like pilotkg's: unit dense vectors, BM25-like sparse vectors over a Zipf
vocabulary (Chinese word ids), and the payload fields the product filters on. qdrant-client's local
mode stands in for a server here (no server binary is available offline); it is a pure-Python
reference engine, so its figures say nothing about a real Qdrant server's speed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pilotkg.vectors.index.base import Hit, IndexPoint, SparseVec, VectorIndex
from pilotkg.vectors.index.edge import EdgeIndex
from pilotkg.vectors.index.server import QdrantServerIndex

KINDS = ["direction", "requirement", "article", "project"]
COLL = "bench"


@dataclass(frozen=True)
class Query:
    dense: np.ndarray
    sparse: SparseVec


def clustered(n: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors around topic centres. Sentence embeddings have such structure; i.i.d. Gaussian
    vectors do not, and on those HNSW recall collapses (≈0.6 at 10k×384), which is no guide."""
    x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, centres.shape[1]))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_points(n: int, centres: np.ndarray, vocab: int, terms: int, rng: np.random.Generator) -> list[IndexPoint]:
    dense = clustered(n, centres, rng)
    points = []
    for i in range(n):
        length = int(rng.integers(terms // 2, terms * 3 // 2))
        ids, counts = np.unique(rng.zipf(1.2, size=length).clip(1, vocab - 1), return_counts=True)
        # BM25's term-frequency part (k1=1.2, b=0.75, avgdl=terms), as the real indexer stores it.
        tf = counts * 2.2 / (counts + 1.2 * (0.25 + 0.75 * length / terms))
        points.append(
            IndexPoint(
                id=f"{KINDS[i % 4]}/{i}",
                kind=KINDS[i % 4],
                dense=dense[i],
                sparse=SparseVec(ids.tolist(), tf.tolist()),
                payload={
                    "direction": int(i % 12) + 1,
                    "region": f"region-{i % 31}",
                    "batch": int(i % 3) + 1,
                    "year": 2020 + i % 5,
                    "lead_unit": f"unit-{i % 97}",
                    "title": f"synthetic node {i}",
                },
            )
        )
    return points


def make_queries(n: int, centres: np.ndarray, vocab: int, rng: np.random.Generator) -> list[Query]:
    out = []
    for d in clustered(n, centres, rng):
        ids = np.unique(rng.zipf(1.2, size=5).clip(1, vocab - 1))
        out.append(Query(d, SparseVec(ids.tolist(), [1.0] * ids.size)))
    return out


def latency(fn: Callable[[Query], list[Hit]], queries: Sequence[Query], warmup: int = 5) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    for q in queries[:warmup]:
        fn(q)
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


SCENARIOS: dict[str, dict[str, object]] = {
    "hybrid": {},
    "hybrid kind=project (25%)": {"filters": {"kind": "project"}},
    "hybrid direction=8 (8%)": {"filters": {"direction": 8}},
    "hybrid region any-of 3 (10%)": {"filters": {"region": ["region-1", "region-2", "region-3"]}},
    "dense only": {"mode": "dense"},
    "sparse only": {"mode": "sparse"},
}


def run_queries(
    idx: VectorIndex, queries: Sequence[Query], label: str, exact: bool = False
) -> dict[str, list[list[str]]]:
    """Latency per scenario, and the top-10 ids of every query for agreement figures."""
    results: dict[str, list[list[str]]] = {}
    for name, kwargs in SCENARIOS.items():

        def one(q: Query, kwargs: dict[str, object] = kwargs) -> list[Hit]:
            return idx.search(COLL, dense=q.dense, sparse=q.sparse, limit=10, exact=exact, **kwargs)  # type: ignore[arg-type]

        p50, p95 = latency(one, queries)
        results[name] = [[h.id for h in one(q)] for q in queries]
        print(f"  {label:<22} {name:<30} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms")
    return results


def overlap(a: list[list[str]], b: list[list[str]]) -> float:
    return statistics.mean(len(set(x) & set(y)) / max(len(y), 1) for x, y in zip(a, b, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--vocab", type=int, default=30_000)
    ap.add_argument("--terms", type=int, default=40, help="sparse terms drawn per document")
    ap.add_argument("--topics", type=int, default=200, help="dense clusters")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--local-queries", type=int, default=40)
    ap.add_argument("--skip-local", action="store_true", help="only the embedded engine")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(args.topics, args.dim))
    points = make_points(args.points, centres, args.vocab, args.terms, rng)
    queries = make_queries(args.queries, centres, args.vocab, rng)
    print(f"{args.points} points, dim {args.dim}, {args.queries} queries, limit 10, prefetch 50, RRF k=2")

    with tempfile.TemporaryDirectory(prefix="pilotkg-bench-") as tmp:
        edge = EdgeIndex(Path(tmp) / "edge")
        edge.create(COLL, args.dim, "bench")
        t0 = time.perf_counter()
        edge.upsert(COLL, points, batch_size=args.batch)
        dt = time.perf_counter() - t0
        print(f"\nedge upsert (incl. flush): {dt:6.2f} s  = {args.points / dt:8.0f} points/s")
        edge_plain = run_queries(edge, queries, "edge, unindexed")
        t0 = time.perf_counter()
        edge.optimize(COLL)
        print(f"edge optimize (HNSW build): {time.perf_counter() - t0:6.2f} s")
        edge_hnsw = run_queries(edge, queries, "edge, HNSW")
        edge_exact = run_queries(edge, queries, "edge, exact=True", exact=True)
        for name in SCENARIOS:
            recall = overlap(edge_hnsw[name], edge_exact[name])
            same = overlap(edge_plain[name], edge_exact[name])
            print(f"  edge recall@10 HNSW {recall:.3f}, unindexed {same:.3f}   {name}")
        edge.close()

        if not args.skip_local:
            local = QdrantServerIndex(location=":memory:")
            local.create(COLL, args.dim, "bench")
            t0 = time.perf_counter()
            local.upsert(COLL, points, batch_size=args.batch)
            dt = time.perf_counter() - t0
            print(f"\nlocal-mode upsert: {dt:6.2f} s  = {args.points / dt:8.0f} points/s")
            # Local mode is a pure-Python engine (hundreds of ms a query at 10k points): fewer queries.
            n_local = min(args.local_queries, len(queries))
            local_res = run_queries(local, queries[:n_local], "qdrant-client local")
            for name in SCENARIOS:
                agree = overlap(edge_exact[name][:n_local], local_res[name])
                print(f"  edge exact vs local top-10 overlap (ties at the cut aside) {agree:.3f}   {name}")
            local.close()


if __name__ == "__main__":
    main()
