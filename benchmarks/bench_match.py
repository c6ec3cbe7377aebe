"""Matching benchmark (a script, not a test): index build time, cold start, warm latency, memory.

    .venv/bin/python benchmarks/bench_match.py [--runs 30]
    .venv/bin/python benchmarks/bench_match.py --compare-long [--runs 6]

Builds graph + index into a temporary data dir with the configured embedder (default: e5 via
sentence-transformers from data/models), then times `Pilot.match` and `Pilot.check` on
descriptions of about 50, 300 and 2 000 characters. Prints a markdown table.

``--compare-long`` times only the encoder work of matching a 2 000-character description (> 512
tokens), alternating in one process: the previous path (the whole text in windows, then every sentence
encoded again on its own, by sentence-transformers / torch) and the current one (one pass in windows
in ONNX Runtime, sentences pooled from it), and the cosine between the two runtimes' vectors.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from pilotkg.graph.rdf import build as build_graph
from pilotkg.service import Pilot, build_index
from pilotkg.settings import Settings

REPO = Path(__file__).resolve().parents[1]
BASE = (
    "本项目在矿区部署微震、应力和瓦斯传感器，基于工业互联网平台汇聚井下环境与设备运行数据，"
    "利用人工智能模型识别冲击地压与瓦斯突出前兆，实现灾害分级预警并联动通风与撤人系统。"
)


def text_of(n: int) -> str:
    return (BASE * (n // len(BASE) + 1))[:n]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def compare_long(runs: int) -> None:
    import numpy as np

    from pilotkg.policy.text import split_sentences
    from pilotkg.vectors.embedder import SentenceTransformerEmbedder

    model_dir = Settings().resolved_model_dir.resolve()
    onnx_side = SentenceTransformerEmbedder(model_dir, runtime="onnx", query_cache_size=0)
    torch_side = SentenceTransformerEmbedder(model_dir, runtime="torch", query_cache_size=0)
    base = text_of(2000)
    spans = [(s.start, s.end) for s in split_sentences(base)]
    previous, current = [], []
    for i in range(runs):
        text = f"{i % 10}{base[1:]}"  # a different string each run: no cache hits
        t = time.perf_counter()
        torch_side.embed_queries([text])
        torch_side.embed_queries([text[a:b] for a, b in spans])
        previous.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        onnx_side.embed_query_spans(text, spans)
        current.append((time.perf_counter() - t) * 1000)
    w_t, p_t = torch_side.embed_query_spans(base, spans)
    w_o, p_o = onnx_side.embed_query_spans(base, spans)
    agree = min(float(w_t @ w_o), float(np.min(np.sum(p_t * p_o, axis=1))))
    p50_prev, p50_cur = statistics.median(previous), statistics.median(current)
    print(
        f"2 000 characters, {len(spans)} sentences, {runs} alternating runs\n\n"
        "| encoder work of one match | p50 ms | p95 ms |\n|---|---:|---:|\n"
        f"| previous: windows + each sentence again (torch) | {p50_prev:.0f} | {pct(previous, 95):.0f} |\n"
        f"| current: one pass in windows (ONNX Runtime) | {p50_cur:.0f} | {pct(current, 95):.0f} |\n\n"
        f"ratio current / previous: ×{p50_cur / p50_prev:.2f}; "
        f"torch and ONNX runtimes on the one pass: lowest cosine {agree:.6f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--compare-long", action="store_true", help="previous vs current encoder path, 2 000 chars")
    args = ap.parse_args()
    if args.compare_long:
        compare_long(args.runs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings()
        s = Settings(
            corpus_dir=REPO / "corpus",
            data_dir=Path(tmp),
            model_dir=base.resolved_model_dir.resolve(),
            embedder=base.embedder,
        )
        t0 = time.perf_counter()
        g = build_graph(s)
        idx = build_index(s)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pilot = Pilot.open(s)
        pilot.match("预热 warm-up")
        cold = time.perf_counter() - t0
        rows = []
        for n in (50, 300, 2000):
            text = text_of(n)
            for fn_name in ("match", "check"):
                fn = getattr(pilot, fn_name)
                fn(text + "。")  # warm the query cache of other texts, not of this one
                times = []
                for i in range(args.runs):
                    t = time.perf_counter()
                    fn(text + "。" * (i + 2))  # a different string each run: no cache hits
                    times.append((time.perf_counter() - t) * 1000)
                rows.append((fn_name, n, statistics.median(times), pct(times, 95)))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"graph build {g.seconds:.2f}s, index build {idx.seconds:.1f}s ({idx.points} points, {idx.model}), "
            f"graph+index {build_s:.1f}s; cold start (open + first match) {cold:.2f}s; peak RSS {rss:.0f} MB\n"
        )
        print("| call | chars | p50 ms | p95 ms |\n|---|---|---|---|")
        for name, n, p50, p95 in rows:
            print(f"| {name} | {n} | {p50:.0f} | {p95:.0f} |")
        pilot.close()


if __name__ == "__main__":
    main()
