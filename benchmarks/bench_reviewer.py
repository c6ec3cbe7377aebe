"""Reviewer queries on one embedded store of N synthetic projects, kept on disk between runs (a script,
not a test). The store is built once with ``bench_scale``'s generator and the product's code (the same
graph as ``bench_scale.py N``), so the query timings can be re-taken in a minute when the machine is
idle, without the ~30 minutes of the full scale-out run.

    .venv/bin/python benchmarks/bench_reviewer.py /tmp/pilotkg-100k            # build if missing, then time
    .venv/bin/python benchmarks/bench_reviewer.py /tmp/pilotkg-100k --n 100000 --repeat 10

Each ``ontology/queries/reviewer-*.rq`` runs through ``graph.sparql.run_query`` with the dataset a reviewer
gets (policy + projects graphs), as the endpoint runs it; prints rows, p50 / p95 and the runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_projects import percentile
from bench_scale import ROOT, generate, say, write_ntriples

from pilotkg import graph, iri
from pilotkg.graph.sparql import run_query
from pilotkg.graph.store import open_store
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.policy.corpus import load_corpus
from pilotkg.settings import Settings


def build(work: Path, n: int) -> None:
    corpus = load_corpus(ROOT / "corpus")
    say(f"generating {n} projects")
    nt = work / "nt"
    nt.mkdir(parents=True)
    materialised: list[Path] = []
    files, triples, seconds = write_ntriples(generate(n, corpus, 0.0), corpus, nt, materialised=materialised)
    say(f"{triples:,} triples in {seconds:.0f} s; bulk load")
    settings = Settings(corpus_dir=ROOT / "corpus", data_dir=work / "data")  # type: ignore[call-arg]
    graph.build(settings)
    store = open_store(settings)
    assert isinstance(store, EmbeddedStore)
    try:
        for f in files + materialised:
            store.store.bulk_load(path=str(f), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(iri.PROJECTS_GRAPH))
        store.store.flush()
    finally:
        store.close()
    (work / "n").write_text(str(n), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workdir", type=Path, help="the store's folder (built there when missing)")
    ap.add_argument("--n", type=int, default=100_000, help="projects, when building")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    if not (args.workdir / "n").is_file():
        build(args.workdir, args.n)
    n = int((args.workdir / "n").read_text(encoding="utf-8"))
    settings = Settings(corpus_dir=ROOT / "corpus", data_dir=args.workdir / "data")  # type: ignore[call-arg]
    store = open_store(settings)
    graphs = [iri.POLICY_GRAPH, iri.PROJECTS_GRAPH]
    print(f"\n### Reviewer queries at {n} projects, embedded Oxigraph ({args.repeat} runs each after one warm-up)\n")
    print("| query | rows | p50 ms | p95 ms |\n|---|---:|---:|---:|")
    try:
        for q in sorted((ROOT / "ontology" / "queries").glob("reviewer-*.rq")):
            text = q.read_text(encoding="utf-8")
            rows = len(run_query(store, text, timeout_s=300, allowed_graphs=graphs).rows)
            xs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                run_query(store, text, timeout_s=300, allowed_graphs=graphs)
                xs.append(time.perf_counter() - t)
            print(f"| {q.stem} | {rows} | {percentile(xs, 0.5) * 1000:.0f} | {percentile(xs, 0.95) * 1000:.0f} |")
    finally:
        store.close()


if __name__ == "__main__":
    main()
