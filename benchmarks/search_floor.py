"""The search relevance floor: its cross-validated figures and how the shipped search behaves on the
labelled queries (a script, not a test; ``pilotkg judge calibrate`` chooses the floor and ships it).

    .venv/bin/python benchmarks/search_floor.py [--data-dir DIR] [--folds 5]

Labelled queries (``tests/data/search_calibration.json``): searches an applicant or reviewer would type
about the policy (relevant) and searches about nothing in it (irrelevant). A query's score is its best
dense cosine with a public point (direction, requirement, article). For each fold the floor that best
separates the training queries (balanced accuracy, the midpoint between neighbouring scores) is applied
to the held-out fold. Builds graph + index into a temporary data dir unless ``--data-dir`` holds a built one.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from pilotkg.calibration import CalibrationData, calibrate_floor, query_scores
from pilotkg.graph.rdf import build as build_graph
from pilotkg.matching.search import RELEVANCE_FLOOR
from pilotkg.service import Pilot, build_index
from pilotkg.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    path = CalibrationData.in_repo(REPO).queries
    labelled = json.loads(path.read_text(encoding="utf-8"))
    queries: list[str] = labelled["relevant"] + labelled["irrelevant"]
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings()
        s = Settings(
            corpus_dir=REPO / "corpus",
            data_dir=args.data_dir or Path(tmp),
            model_dir=base.resolved_model_dir.resolve(),
        )
        if args.data_dir is None:
            build_graph(s)
            build_index(s)
        pilot = Pilot.open(s, read_only=True)
        try:
            scores = query_scores(pilot, path)
            # End to end, as shipped: a hit also stays when it shares a term with the query (BM25).
            shown = {q: bool(pilot.search(q, limit=10)) for q in queries}
        finally:
            pilot.close()
    cal = calibrate_floor(scores, folds=args.folds)
    pos = sorted(s for s, y in scores if y)
    neg = sorted(s for s, y in scores if not y)
    print(f"{cal.relevant} relevant, {cal.irrelevant} irrelevant queries")
    print(f"relevant best cosine: min {pos[0]:.3f}, median {pos[len(pos) // 2]:.3f}, max {pos[-1]:.3f}")
    print(f"irrelevant best cosine: min {neg[0]:.3f}, median {neg[len(neg) // 2]:.3f}, max {neg[-1]:.3f}")
    print(f"{cal.folds}-fold floors: {cal.floor_min:.3f}–{cal.floor_max:.3f}")
    print(f"held-out accuracy: {cal.heldout_accuracy:.3f}")
    print(f"floor chosen on all queries: {cal.floor:.4f} (shipped: RELEVANCE_FLOOR = {RELEVANCE_FLOOR})")
    relevant = set(labelled["relevant"])
    ok_rel = sum(shown[q] for q in relevant)
    ok_irr = sum(not shown[q] for q in queries if q not in relevant)
    print(
        f"as shipped (floor or a shared term): {ok_rel}/{len(relevant)} relevant queries get results, "
        f"{ok_irr}/{len(queries) - len(relevant)} irrelevant get none"
    )
    wrong = [q for q in queries if shown[q] != (q in relevant)]
    print("  wrong:", ", ".join(wrong) or "-")
    near = [(sc, q) for (sc, _), q in zip(scores, queries, strict=True) if abs(sc - cal.floor) < 0.01]
    print("near the floor:", ", ".join(f"{q} {sc:.3f}" for sc, q in sorted(near)))


if __name__ == "__main__":
    main()
