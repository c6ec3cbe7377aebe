"""Reviewer queries on one embedded store of N synthetic projects, kept on disk between runs (a script,
not a test). The store is built once with ``bench_scale``'s generator and the product's code (the same
graph as ``bench_scale.py N``), so the query timings can be re-taken in a minute when the machine is
idle, without the ~30 minutes of the full scale-out run.

    .venv/bin/python benchmarks/bench_reviewer.py /tmp/pilotkg-100k            # build if missing, then time
    .venv/bin/python benchmarks/bench_reviewer.py /tmp/pilotkg-100k --n 100000 --repeat 10
    .venv/bin/python benchmarks/bench_reviewer.py /tmp/pilotkg-100k --import-size 500   # + the import path
    .venv/bin/python benchmarks/bench_reviewer.py /tmp/pilotkg-100k --against 245280b   # vs a commit's queries

Each ``ontology/queries/reviewer-*.rq`` runs through ``graph.sparql.run_query`` with the dataset a reviewer
gets (policy + projects graphs), as the endpoint runs it; prints rows, p50 / p95 and the runs. With
``--import-size`` it also times the full import path (eligibility rules against everything stored,
enrichment as ``bench_scale`` fakes it, one transaction) of that many more projects, into a copy of the
store, as ``bench_scale.py`` does. With ``--against REF`` each query whose text differs at that git
commit runs in both versions, interleaved run by run on the same store (so the machine's drift falls on
both alike), and the table gets that version's p50, the ratio and whether the answers are the same.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_projects import fake_enrich, percentile
from bench_scale import ROOT, generate, say, write_ntriples

from pilotkg import graph, iri
from pilotkg.graph.sparql import run_query
from pilotkg.graph.store import open_store
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.policy.corpus import load_corpus
from pilotkg.projects.importer import import_projects
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
    ap.add_argument("--import-size", type=int, default=0, help="also time importing this many more projects")
    ap.add_argument("--against", metavar="REF", help="also time the queries as they were at this git commit")
    args = ap.parse_args()
    if not (args.workdir / "n").is_file():
        build(args.workdir, args.n)
    n = int((args.workdir / "n").read_text(encoding="utf-8"))
    settings = Settings(corpus_dir=ROOT / "corpus", data_dir=args.workdir / "data")  # type: ignore[call-arg]
    # read-only, as the endpoint's query workers open it (and no compaction of a writer runs meanwhile)
    store = open_store(settings, read_only=True)
    graphs = [iri.POLICY_GRAPH, iri.PROJECTS_GRAPH]
    print(f"\n### Reviewer queries at {n} projects, embedded Oxigraph ({args.repeat} runs each after one warm-up)\n")
    if args.against:
        print(f"| query | rows | p50 ms | p95 ms | {args.against} p50 ms | ratio | same answers |")
        print("|---|---:|---:|---:|---:|---:|---|")
    else:
        print("| query | rows | p50 ms | p95 ms |\n|---|---:|---:|---:|")

    def timed(text: str) -> float:
        t = time.perf_counter()
        run_query(store, text, timeout_s=300, allowed_graphs=graphs)
        return time.perf_counter() - t

    try:
        for q in sorted((ROOT / "ontology" / "queries").glob("reviewer-*.rq")):
            text = q.read_text(encoding="utf-8")
            old = query_at(args.against, q) if args.against else None
            rows = run_query(store, text, timeout_s=300, allowed_graphs=graphs).rows
            if old is not None and old != text:
                same = run_query(store, old, timeout_s=300, allowed_graphs=graphs).rows == rows
                pairs = [(timed(text), timed(old)) for _ in range(args.repeat)]
                xs, ys = [a for a, _ in pairs], [b for _, b in pairs]
                p50, p95, o50 = percentile(xs, 0.5) * 1000, percentile(xs, 0.95) * 1000, percentile(ys, 0.5) * 1000
                yes = "yes" if same else "**no**"
                print(f"| {q.stem} | {len(rows)} | {p50:.0f} | {p95:.0f} | {o50:.0f} | ×{p50 / o50:.2f} | {yes} |")
                continue
            xs = [timed(text) for _ in range(args.repeat)]
            p50, p95 = percentile(xs, 0.5) * 1000, percentile(xs, 0.95) * 1000
            tail = " | (same text) | | |" if args.against else " |"
            print(f"| {q.stem} | {len(rows)} | {p50:.0f} | {p95:.0f}{tail}")
    finally:
        store.close()
    if args.import_size:
        import_rate(args.workdir, n, args.import_size)


def query_at(ref: str, path: Path) -> str | None:
    """The query file's text at a git commit (None when it did not exist there)."""
    rel = path.relative_to(ROOT).as_posix()
    done = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{rel}"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def import_rate(work: Path, n: int, size: int) -> None:
    corpus = load_corpus(ROOT / "corpus")
    # not recommended: the per-direction-and-region cap counts the stored projects too (as bench_scale)
    extra = [
        p.model_copy(update={"recommended": False}) for p in generate(size, corpus, 0.0, start=n + 1_000_000).projects
    ]
    with tempfile.TemporaryDirectory(prefix="pilotkg-import-", dir=work) as tmp:
        shutil.copytree(work / "data", Path(tmp) / "data")
        settings = Settings(corpus_dir=ROOT / "corpus", data_dir=Path(tmp) / "data")  # type: ignore[call-arg]
        store = open_store(settings)
        try:
            t = time.perf_counter()
            import_projects(store, corpus, extra, enrich=fake_enrich(corpus), source="bench")  # type: ignore[arg-type]
            seconds = time.perf_counter() - t
        finally:
            store.close()
    print(f"\nFull import path of {size} more projects into {n}: {seconds:.1f} s, {size / seconds:.1f} projects/s")


if __name__ == "__main__":
    main()
