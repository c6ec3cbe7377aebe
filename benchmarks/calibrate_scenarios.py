"""Choose the cut-off of the action-plan scenario naming by cross-validation and print the figures.

    .venv/bin/python benchmarks/calibrate_scenarios.py [tests/data/scenario_calibration.json] [--eval CASES.jsonl]

With ``--eval`` (labelled direction cases, e.g. ../shared/eval/dev.jsonl; needs a built graph and index
in PILOTKG_DATA_DIR) it also prints how often in-scope cases get a 'fits' scenario and what the
out-of-scope cases are named.

Uses the product's embedder (the local e5 folder, PILOTKG_MODEL_DIR) and the scenario descriptions of
ontology/action-plan-2023.ttl. `pilotkg judge calibrate` chooses the shipped value the same way (cutoffs.json).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from pilotkg.evaluate import calibrate_scenarios, load_cases, load_scenario_cases, scenario_figures
from pilotkg.matching import (
    FIT_CUTOFF,
    ActionPlan,
    ScenarioNamer,
    description_vectors,
    load_action_plan,
    scenario_vectors,
)
from pilotkg.policy import load_corpus
from pilotkg.service import Pilot
from pilotkg.settings import get_settings
from pilotkg.vectors import Embedder, get_embedder

REPO = Path(__file__).resolve().parents[1]


def costs(pilot: Pilot, plan: ActionPlan, embedder: Embedder) -> str:
    """Start-up: the ten description vectors read from the index vs embedded; naming after a match."""
    t0 = time.perf_counter()
    scenario_vectors(plan, embedder, pilot.index)
    t1 = time.perf_counter()
    scenario_vectors(plan, embedder)
    t2 = time.perf_counter()
    naming = []
    for i in range(30):
        text = f"输电线路除冰机器人在冰冻雨雪天气中沿高压线行走清除覆冰，第{i}号样机。"
        result = pilot.matcher.match(text)
        t = time.perf_counter()
        assert pilot.scenario_namer is not None
        pilot.scenario_namer.name(result, description_vectors(pilot.embedder, text))
        naming.append(1000 * (time.perf_counter() - t))
    return (
        f"scenario vectors: read from the index {1000 * (t1 - t0):.0f} ms, embedded {1000 * (t2 - t1):.0f} ms; "
        f"naming after a match p50 {statistics.median(naming):.2f} ms"
    )


def main() -> None:
    args = sys.argv[1:]
    eval_path = None
    if "--eval" in args:
        i = args.index("--eval")
        eval_path = Path(args[i + 1])
        del args[i : i + 2]
    path = Path(args[0]) if args else REPO / "tests" / "data" / "scenario_calibration.json"
    settings = get_settings()
    corpus_dir = REPO / "corpus"
    corpus = load_corpus(corpus_dir)
    plan = load_action_plan(corpus_dir, corpus)
    if plan is None:
        sys.exit("no scenario table in corpus/reference")
    embedder = get_embedder(settings)
    namer = ScenarioNamer(plan, scenario_vectors(plan, embedder), len(corpus.directions))
    cal = calibrate_scenarios(namer, embedder, load_scenario_cases(path))
    print(f"cases {cal.cases} ({cal.positives} fit an uncovered scenario, {cal.cases - cal.positives} fit none)")
    print(f"naming (best uncovered scenario is the right one, positives): {cal.naming_accuracy:.3f}")
    print(f"lowest positive {cal.lowest_positive:.4f}, highest negative {cal.highest_negative:.4f}")
    print(
        f"{cal.folds}-fold CV x {cal.repeats}: held-out accuracy {cal.heldout_accuracy:.3f}, "
        f"fit precision {cal.heldout_fit_precision:.3f}, fit recall {cal.heldout_fit_recall:.3f}; "
        f"cut-offs chosen on training splits {cal.cutoff_min:.4f}–{cal.cutoff_max:.4f}"
    )
    print(f"cut-off on all cases: {cal.cutoff:.4f} (shipped by pilotkg judge calibrate: {FIT_CUTOFF:.4f})")
    if eval_path is not None:
        pilot = Pilot.open(settings.model_copy(update={"corpus_dir": corpus_dir}))
        try:
            fig = scenario_figures(pilot, load_cases(eval_path))
            timing = costs(pilot, plan, embedder)
        finally:
            pilot.close()
        print(
            f"{eval_path.name}: {fig.in_scope_cases} in-scope cases ({fig.in_scope_with_crosswalk} of a direction "
            f"with a cross-walk), {fig.in_scope_named_fits} also named a 'fits' scenario; "
            f"{fig.out_of_scope_cases} out-of-scope cases named: {fig.out_of_scope_named}"
        )
        print(timing)


if __name__ == "__main__":
    main()
