"""Project import throughput and reviewer-query latency on the embedded store.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_projects.py 10000
    PYTHONPATH=src .venv/bin/python benchmarks/bench_projects.py 100000 --file-size 2000

Generates N synthetic projects that keep every rule of the notice (≤ 2 per lead unit and batch,
≤ 8 partners, ≤ 5 recommended per direction and region, submitted before the deadline), writes them
as JSONL files of ``--file-size`` projects, imports the files one after another with
``import_file`` (each file checked against everything stored before it, enriched by a fake matcher
with one coverage status per requirement of the chosen direction), then times each
``ontology/queries/reviewer-*.rq`` ``--repeat`` times. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pilotkg import iri  # noqa: E402
from pilotkg.graph.rdf import build  # noqa: E402
from pilotkg.graph.store.embedded import EmbeddedStore  # noqa: E402
from pilotkg.policy.base import Corpus  # noqa: E402
from pilotkg.policy.corpus import load_corpus  # noqa: E402
from pilotkg.projects.base import Enrichment, ProjectIn  # noqa: E402
from pilotkg.projects.importer import import_file  # noqa: E402
from pilotkg.settings import Settings  # noqa: E402

REGIONS = [
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "新疆生产建设兵团",
]
TYPES = ["装备制造企业", "软件企业", "服务提供商", "用户单位", "金融保险机构"]


def generate(n: int, corpus: Corpus, seed: int = 7) -> list[dict[str, object]]:
    rnd = random.Random(seed)
    # the earlier (兵团) dates, which every region keeps: 兵团 projects are held to their own notice
    deadlines = {1: date(2021, 3, 20), 2: date(2021, 9, 20)}
    directions = [d.number for d in corpus.directions]
    partners = [f"合作单位{i:06d}有限公司" for i in range(max(50, n // 4))]
    recommended: dict[tuple[int, str], int] = {}
    out = []
    for i in range(n):
        batch = 1 + (i // 2) % 2
        lead = f"牵头企业{i // 2:06d}股份有限公司"  # two projects per lead unit, same batch
        d = rnd.choice(directions)
        region = rnd.choice(REGIONS)
        rec = rnd.random() < 0.03 and recommended.get((d, region), 0) < 5
        if rec:
            recommended[(d, region)] = recommended.get((d, region), 0) + 1
        ps = rnd.sample(partners, rnd.randint(1, 8))
        out.append(
            {
                "id": f"BENCH-{i:07d}",
                "name": f"第{d}方向示范项目{i}",
                "description": f"面向{region}的安全应急装备应用试点示范项目，采用物联网、5G 与人工智能。{i}",
                "direction": d,
                "lead_unit": {"name": lead, "type": rnd.choice(TYPES), "region": region},
                "partners": [{"name": p, "type": rnd.choice(TYPES)} for p in ps],
                "region": region,
                "batch": batch,
                "submitted": (deadlines[batch] - timedelta(days=rnd.randint(0, 60))).isoformat(),
                "business_model": rnd.choice(["产品+服务+保险", "产品+服务+融资租赁", None]),
                "recommended": rec,
                "owner": f"applicant-{i % 500}",
            }
        )
    return out


def fake_enrich(corpus: Corpus) -> object:
    reqs = {d.number: [r.id for r in d.requirements] for d in corpus.directions}
    statuses = ("addressed", "missing", "violated", "uncertain")

    def enrich(p: ProjectIn) -> Enrichment:
        rnd = random.Random(p.id)
        matched = p.direction if rnd.random() < 0.9 else rnd.randint(1, len(reqs))
        return Enrichment(
            matched_direction=matched,
            confidence=round(rnd.random(), 3),
            statuses={r: rnd.choice(statuses) for r in reqs[p.direction]},  # type: ignore[misc]
        )

    return enrich


def percentile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, nargs="?", default=10000)
    ap.add_argument("--file-size", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--data-dir", type=Path, default=None, help="default: a temporary folder")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="pilotkg-bench-")
    data_dir = args.data_dir or Path(tmp.name)
    settings = Settings(corpus_dir=ROOT / "corpus", data_dir=data_dir)
    build(settings)
    corpus = load_corpus(settings.corpus_dir)
    enrich = fake_enrich(corpus)
    rows = generate(args.n, corpus)
    files = []
    for k in range(0, len(rows), args.file_size):
        f = data_dir / f"projects-{k // args.file_size:04d}.jsonl"
        f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[k : k + args.file_size]))
        files.append(f)

    store = EmbeddedStore(settings.store_dir)
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    per_file: list[float] = []
    for f in files:
        t = time.perf_counter()
        rep = import_file(settings, f, enrich=enrich, store=store)  # type: ignore[arg-type]
        per_file.append(time.perf_counter() - t)
        for k, v in rep.timings.items():
            stages[k] = stages.get(k, 0.0) + v
    total = time.perf_counter() - t0
    triples = store.triple_count(iri.PROJECTS_GRAPH)

    lat: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    for q in sorted((ROOT / "ontology" / "queries").glob("reviewer-*.rq")):
        text = q.read_text(encoding="utf-8")
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            res = store.query(text, named_graphs=[iri.POLICY_GRAPH, iri.PROJECTS_GRAPH])
            times.append(time.perf_counter() - t)
        lat[q.stem], counts[q.stem] = times, len(res.rows)
    store.close()

    print(f"\n### {args.n} projects ({len(files)} files of ≤ {args.file_size}), embedded Oxigraph\n")
    print("| import | value |\n|---|---|")
    print(f"| total | {total:.1f} s |")
    print(f"| throughput | {args.n / total:.0f} projects/s |")
    print(f"| per file p50 / max | {statistics.median(per_file):.2f} s / {max(per_file):.2f} s |")
    print("| stage totals | " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()) + " |")
    print(f"| projects graph | {triples} triples |\n")
    print("| reviewer query | rows | p50 ms | p95 ms |\n|---|---|---|---|")
    for name, times in lat.items():
        p50, p95 = percentile(times, 0.5) * 1000, percentile(times, 0.95) * 1000
        print(f"| {name} | {counts[name]} | {p50:.1f} | {p95:.1f} |")
    tmp.cleanup()


if __name__ == "__main__":
    main()
