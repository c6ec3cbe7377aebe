"""The evaluation harness: labelled descriptions → matching and coverage figures, with ablations.

Only this module (and the tests) read labels; the product never does.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from pydantic import BaseModel, Field

from pilotkg.errors import InputError
from pilotkg.matching import CoverageChecker, Mode, ScenarioNamer, description_vectors
from pilotkg.service import Pilot
from pilotkg.vectors import Embedder


class Case(BaseModel):
    id: str
    direction: int
    text: str
    addressed: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    violated: list[str] = Field(default_factory=list)


class MatchFigures(BaseModel):
    mode: str
    cases: int
    top1: float
    top3: float
    mrr: float
    oos_precision: float
    oos_recall: float
    oos_f1: float


class CoverageFigures(BaseModel):
    checker: str
    keys: int
    unjudged: int
    accuracy: float
    missing_precision: float
    missing_recall: float
    missing_f1: float
    violated_precision: float
    violated_recall: float


class EvalReport(BaseModel):
    matching: list[MatchFigures]
    coverage: list[CoverageFigures]


def load_cases(path: Path) -> list[Case]:
    try:
        return [
            Case.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read labelled cases: {exc}", f"无法读取标注数据：{exc}", str(path)) from exc


def load_keys(path: Path) -> dict[str, tuple[int, str]]:
    keys: dict[str, tuple[int, str]] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if i == 0 or not line.strip():
            continue
        direction, key_id, _kind, key = line.split("\t")
        keys[key_id] = (int(direction), key)
    return keys


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def match_figures(pilot: Pilot, cases: list[Case], mode: Mode) -> MatchFigures:
    n_in = top1 = top3 = 0
    rr = 0.0
    tp = fp = fn = 0
    for c in cases:
        res = pilot.matcher.match(c.text, top=len(pilot.corpus.directions), mode=mode)
        ranked = [d.number for d in res.directions]
        if c.direction == 0:
            tp += res.out_of_scope
            fn += not res.out_of_scope
            continue
        fp += res.out_of_scope
        n_in += 1
        top1 += ranked[0] == c.direction
        top3 += c.direction in ranked[:3]
        rr += 1 / (ranked.index(c.direction) + 1)
    p, r, f = _prf(tp, fp, fn)
    return MatchFigures(
        mode=mode,
        cases=len(cases),
        top1=top1 / n_in,
        top3=top3 / n_in,
        mrr=rr / n_in,
        oos_precision=p,
        oos_recall=r,
        oos_f1=f,
    )


def coverage_figures(
    pilot: Pilot, checker: CoverageChecker, cases: list[Case], keys: dict[str, tuple[int, str]], name: str
) -> CoverageFigures:
    total = right = unjudged = 0
    m_tp = m_fp = m_fn = v_tp = v_fp = v_fn = 0
    for c in cases:
        if c.direction == 0:
            continue
        report = checker.check(c.text, c.direction)
        gold = (
            {k: "addressed" for k in c.addressed}
            | {k: "missing" for k in c.missing}
            | {k: "violated" for k in c.violated}
        )
        for key_id, label in gold.items():
            total += 1
            _, key = keys[key_id]
            # A key is judged by the most specific requirement whose exact source text holds it.
            holders = sorted((r for r in report.requirements if key in r.text), key=lambda r: len(r.text))
            if not holders:
                unjudged += 1
                continue
            pred = holders[0].status
            right += pred == label
            m_tp += pred == "missing" and label == "missing"
            m_fp += pred == "missing" and label != "missing"
            m_fn += pred != "missing" and label == "missing"
            v_tp += pred == "violated" and label == "violated"
            v_fp += pred == "violated" and label != "violated"
            v_fn += pred != "violated" and label == "violated"
    mp, mr, mf = _prf(m_tp, m_fp, m_fn)
    vp, vr, _ = _prf(v_tp, v_fp, v_fn)
    return CoverageFigures(
        checker=name,
        keys=total,
        unjudged=unjudged,
        accuracy=right / max(total, 1),
        missing_precision=mp,
        missing_recall=mr,
        missing_f1=mf,
        violated_precision=vp,
        violated_recall=vr,
    )


def evaluate(
    pilot: Pilot, cases_path: Path, keys_path: Path | None, progress: Callable[[str], None] | None = None
) -> EvalReport:
    say = progress or (lambda _m: None)
    cases = load_cases(cases_path)
    matching = []
    for mode in ("hybrid", "dense", "lexical"):
        say(f"matching: {mode}")
        matching.append(match_figures(pilot, cases, mode))
    coverage = []
    if keys_path is not None and keys_path.exists():
        keys = load_keys(keys_path)
        say("coverage: hybrid")
        coverage.append(coverage_figures(pilot, pilot.checker, cases, keys, "hybrid"))
        say("coverage: lexical only")
        lexical = CoverageChecker(pilot.corpus, pilot.embedder, pilot.tokenizer, lexical_only=True)
        coverage.append(coverage_figures(pilot, lexical, cases, keys, "lexical"))
    return EvalReport(matching=matching, coverage=coverage)


def render(report: EvalReport) -> str:
    lines = ["| mode | top-1 | top-3 | MRR | OOS P | OOS R | OOS F1 |", "|---|---|---|---|---|---|---|"]
    for m in report.matching:
        lines.append(
            f"| {m.mode} | {m.top1:.3f} | {m.top3:.3f} | {m.mrr:.3f} | "
            f"{m.oos_precision:.3f} | {m.oos_recall:.3f} | {m.oos_f1:.3f} |"
        )
    if report.coverage:
        lines += [
            "",
            "| checker | keys | accuracy | missing P | missing R | missing F1 | violated P | violated R |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in report.coverage:
            lines.append(
                f"| {c.checker} | {c.keys} | {c.accuracy:.3f} | {c.missing_precision:.3f} | {c.missing_recall:.3f} | "
                f"{c.missing_f1:.3f} | {c.violated_precision:.3f} | {c.violated_recall:.3f} |"
            )
    return "\n".join(lines)


def dump(report: EvalReport) -> str:
    return json.dumps(report.model_dump(), ensure_ascii=False, indent=2)


# --- the cut-off of the action-plan scenario naming (pilotkg.matching.scenarios) ---------------------


class ScenarioCase(BaseModel):
    scenario: int = Field(description="the action-plan scenario the description fits, 0 for none")
    text: str


class ScenarioCalibration(BaseModel):
    cases: int
    positives: int
    cutoff: float = Field(description="chosen on all cases")
    folds: int
    repeats: int
    heldout_accuracy: float
    heldout_fit_precision: float = Field(description="held-out: fits named with the right scenario / all fits")
    heldout_fit_recall: float = Field(description="held-out: positives fitted with the right scenario / positives")
    naming_accuracy: float = Field(description="positives whose best uncovered scenario is the right one")
    cutoff_min: float = Field(description="lowest cut-off chosen on a training split")
    cutoff_max: float
    lowest_positive: float
    highest_negative: float


def load_scenario_cases(path: Path) -> list[ScenarioCase]:
    try:
        return [ScenarioCase.model_validate(c) for c in json.loads(path.read_text(encoding="utf-8"))["cases"]]
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"cannot read scenario cases: {exc}", f"无法读取场景标注数据：{exc}", str(path)) from exc


def choose_cutoff(scores: list[float], positive: list[bool]) -> float:
    """The cut-off with the fewest errors (score >= cut-off counts as a fit); candidates are the
    midpoints between neighbouring scores, and of equally good ones the middle one is taken."""
    values = sorted(set(scores))
    candidates = [values[0] - 1e-3] + [(a + b) / 2 for a, b in pairwise(values)]
    candidates.append(values[-1] + 1e-3)
    errors = [sum((s >= t) != p for s, p in zip(scores, positive, strict=True)) for t in candidates]
    best = min(errors)
    ties = [t for t, e in zip(candidates, errors, strict=True) if e == best]
    return ties[len(ties) // 2]


def calibrate_scenarios(
    namer: ScenarioNamer,
    embedder: Embedder,
    cases: list[ScenarioCase],
    *,
    folds: int = 5,
    repeats: int = 20,
    seed: int = 0,
) -> ScenarioCalibration:
    """Stratified k-fold cross-validation of the fit cut-off, on the product's own path: the description's
    vectors as the matcher computes them and the best scenario without a 2021 direction."""
    best = []
    for c in cases:
        b = namer.best_uncovered(description_vectors(embedder, c.text))
        best.append((b[0].number, b[1]) if b else (0, -1.0))
    scores = [b[1] for b in best]
    positive = [c.scenario > 0 for c in cases]
    named = [c.scenario > 0 and b[0] == c.scenario for c, b in zip(cases, best, strict=True)]
    rng = random.Random(seed)
    right = fits = good_fits = pos_fitted = n = 0
    cutoffs = []
    for _ in range(repeats):
        fold_of: dict[int, int] = {}
        for label in (True, False):  # stratified: positives and negatives dealt out separately
            idx = [i for i, p in enumerate(positive) if p == label]
            rng.shuffle(idx)
            fold_of.update({i: k % folds for k, i in enumerate(idx)})
        for f in range(folds):
            train = [i for i in range(len(cases)) if fold_of[i] != f]
            t = choose_cutoff([scores[i] for i in train], [positive[i] for i in train])
            cutoffs.append(t)
            for i in (i for i in range(len(cases)) if fold_of[i] == f):
                fit = scores[i] >= t
                n += 1
                right += (fit and named[i]) or (not fit and not positive[i])
                fits += fit
                good_fits += fit and named[i]
                pos_fitted += fit and named[i]
    n_pos = sum(positive) * repeats
    return ScenarioCalibration(
        cases=len(cases),
        positives=sum(positive),
        cutoff=round(choose_cutoff(scores, positive), 4),
        folds=folds,
        repeats=repeats,
        heldout_accuracy=right / max(n, 1),
        heldout_fit_precision=good_fits / max(fits, 1),
        heldout_fit_recall=pos_fitted / max(n_pos, 1),
        naming_accuracy=sum(named) / max(sum(positive), 1),
        cutoff_min=round(min(cutoffs), 4),
        cutoff_max=round(max(cutoffs), 4),
        lowest_positive=round(min(s for s, p in zip(scores, positive, strict=True) if p), 4),
        highest_negative=round(max(s for s, p in zip(scores, positive, strict=True) if not p), 4),
    )


class ScenarioFigures(BaseModel):
    """How the scenario naming behaves on labelled direction cases (which carry no scenario labels)."""

    in_scope_cases: int
    in_scope_with_crosswalk: int = Field(description="in-scope cases whose labelled direction has a cross-walk")
    in_scope_named_fits: int = Field(description="in-scope cases (by label) also named a 'fits' scenario")
    out_of_scope_cases: int
    out_of_scope_named: dict[str, int] = Field(description="scenario named → out-of-scope cases (by label)")


def scenario_figures(pilot: Pilot, cases: list[Case]) -> ScenarioFigures:
    n_in = with_cw = fits = n_out = 0
    named: dict[str, int] = {}
    plan = pilot.action_plan
    for c in cases:
        res = pilot.match(c.text, top=3)
        if c.direction == 0:
            n_out += 1
            label = next((s.label_zh for s in res.scenarios if s.relation == "fits"), "–")
            named[label] = named.get(label, 0) + 1
            continue
        n_in += 1
        with_cw += bool(plan and plan.for_direction(c.direction))
        fits += any(s.relation == "fits" for s in res.scenarios)
    return ScenarioFigures(
        in_scope_cases=n_in,
        in_scope_with_crosswalk=with_cw,
        in_scope_named_fits=fits,
        out_of_scope_cases=n_out,
        out_of_scope_named=dict(sorted(named.items())),
    )
