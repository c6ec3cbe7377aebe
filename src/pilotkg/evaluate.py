"""The evaluation harness: labelled descriptions → matching and coverage figures, with ablations.

Only this module (and the tests) read labels; the product never does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from pilotkg.errors import InputError
from pilotkg.matching import CoverageChecker, Mode
from pilotkg.service import Pilot


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
