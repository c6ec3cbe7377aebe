"""``pilotkg judge calibrate``: choose the fitted cut-offs of :mod:`pilotkg.cutoffs` on labelled texts
written for them (never the eval files), each with held-out figures, and build the artefact.

- **scenario fit**: stratified 5-fold cross-validation × 20 of the cosine at which an out-of-scope
  description fits an action-plan scenario (:func:`pilotkg.evaluate.calibrate_scenarios`);
- **search floor**: 5-fold cross-validation of the dense cosine that best separates searches about the
  policy from searches about nothing in it (balanced accuracy);
- **duplicate flag**: the midpoint between the lowest duplicate and the highest distinct pair of project
  texts, checked on 20 held-out halves (:func:`pilotkg.projects.calibrate_duplicates`).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pilotkg.cutoffs import Cutoffs, FittedCutoff
from pilotkg.errors import InputError
from pilotkg.evaluate import calibrate_scenarios, digest, load_scenario_cases, today
from pilotkg.matching import POLICY, PUBLIC_KINDS
from pilotkg.projects import CalibrationText, calibrate_duplicates, calibration_pairs, read_projects
from pilotkg.service import Pilot

Say = Callable[[str], None]


@dataclass(frozen=True)
class CalibrationData:
    """The labelled texts: written for calibration, kept in the repository beside the tests that use them."""

    scenarios: Path
    queries: Path
    duplicates: Path
    samples: tuple[Path, ...]  # the sample project files (their texts join the duplicate pairs)

    @classmethod
    def in_repo(cls, root: Path) -> CalibrationData:
        data = root / "tests" / "data"
        samples = root / "corpus" / "projects"
        return cls(
            data / "scenario_calibration.json",
            data / "search_calibration.json",
            data / "similar_calibration.json",
            (samples / "sample-projects.json", samples / "sample-projects.csv"),
        )

    def files(self) -> list[Path]:
        return [self.scenarios, self.queries, self.duplicates, *self.samples]


class FloorCalibration(BaseModel):
    relevant: int
    irrelevant: int
    floor: float
    folds: int
    heldout_accuracy: float
    floor_min: float
    floor_max: float


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read calibration texts: {exc}", f"无法读取校准文本：{exc}", where=str(path)) from exc
    if not isinstance(data, dict):
        raise InputError("calibration texts must be a JSON object", "校准文本须为 JSON 对象", where=str(path))
    return data


def _balanced(scores: list[tuple[float, bool]], t: float) -> float:
    pos = [s for s, y in scores if y]
    neg = [s for s, y in scores if not y]
    return (sum(s >= t for s in pos) / max(len(pos), 1) + sum(s < t for s in neg) / max(len(neg), 1)) / 2


def choose_floor(scores: list[tuple[float, bool]]) -> float:
    """The midpoint between neighbouring scores with the best balanced accuracy (of equals, the nearest 0.8)."""
    xs = sorted(s for s, _ in scores)
    candidates = [(a + b) / 2 for a, b in itertools.pairwise(xs)] or xs
    return max(candidates, key=lambda t: (_balanced(scores, t), -abs(t - 0.8)))


def calibrate_floor(scores: list[tuple[float, bool]], *, folds: int = 5, seed: int = 15) -> FloorCalibration:
    order = list(range(len(scores)))
    random.Random(seed).shuffle(order)
    held: list[bool] = []
    floors = []
    for k in range(folds):
        test = [scores[i] for i in order[k::folds]]
        t = choose_floor([scores[i] for j, i in enumerate(order) if j % folds != k])
        floors.append(t)
        held += [(s >= t) == y for s, y in test]
    return FloorCalibration(
        relevant=sum(y for _, y in scores),
        irrelevant=sum(not y for _, y in scores),
        floor=choose_floor(scores),
        folds=folds,
        heldout_accuracy=sum(held) / len(held),
        floor_min=min(floors),
        floor_max=max(floors),
    )


def query_scores(pilot: Pilot, path: Path) -> list[tuple[float, bool]]:
    """Each labelled search's best dense cosine with a public point (direction, requirement, article)."""
    data = _read_json(path)
    labelled = [(str(q), True) for q in data.get("relevant", [])]
    labelled += [(str(q), False) for q in data.get("irrelevant", [])]
    if not any(y for _, y in labelled) or all(y for _, y in labelled):
        raise InputError(
            "the search calibration needs relevant and irrelevant queries",
            "搜索校准需要相关与无关两类查询",
            where=str(path),
        )
    out = []
    for q, y in labelled:
        dense = pilot.embedder.embed_queries([q])[0]
        hits = pilot.index.search(POLICY, dense=dense, mode="dense", limit=1, filters={"kind": list(PUBLIC_KINDS)})
        out.append((hits[0].score if hits else 0.0, y))
    return out


def calibrate_cutoffs(pilot: Pilot, data: CalibrationData, say: Say) -> Cutoffs:
    """All three cut-offs on the product's own paths (built graph and index, the configured encoder)."""
    namer = pilot.scenario_namer
    if namer is None:
        raise InputError("the corpus has no scenario table", "语料中没有场景表", where="corpus/reference")
    say("scenario fit: cross-validating on the scenario texts")
    sc = calibrate_scenarios(namer, pilot.embedder, load_scenario_cases(data.scenarios))
    say("search floor: cross-validating on the labelled searches")
    fl = calibrate_floor(query_scores(pilot, data.queries))
    say("duplicate flag: scoring the project pairs")
    corpus = pilot.corpus
    group = {d.number: d.group for d in corpus.directions}
    texts = [
        CalibrationText(p.id, p.name, p.description, p.direction, group[p.direction])
        for f in data.samples
        for p in read_projects(f, corpus=corpus).projects
    ]
    cal = _read_json(data.duplicates)
    try:
        texts += [
            CalibrationText(p["key"], p["name"], p["description"], p["direction"], group[p["direction"]])
            for p in cal["projects"]
        ]
        paraphrases = {k: (v["name"], v["description"]) for k, v in cal["paraphrases"].items()}
    except (KeyError, TypeError) as exc:
        raise InputError(
            f"duplicate calibration texts lack {exc}", f"重复申报校准文本缺少 {exc}", where=str(data.duplicates)
        ) from exc
    dup = calibrate_duplicates(pilot.embedder, pilot.tokenizer, calibration_pairs(texts, paraphrases))
    non_dup = dup.holdout_pairs - dup.holdout_duplicates
    return Cutoffs(
        created=today(),
        scenario_fit=FittedCutoff(
            value=round(sc.cutoff, 4),
            method=f"fewest errors, middle of ties; stratified {sc.folds}-fold CV x {sc.repeats}",
            data=digest([data.scenarios]),
            heldout={
                "accuracy": round(sc.heldout_accuracy, 4),
                "fit_precision": round(sc.heldout_fit_precision, 4),
                "fit_recall": round(sc.heldout_fit_recall, 4),
                "cutoff_min": round(sc.cutoff_min, 4),
                "cutoff_max": round(sc.cutoff_max, 4),
            },
        ),
        search_floor=FittedCutoff(
            value=round(fl.floor, 4),
            method=f"best balanced accuracy between neighbouring scores; {fl.folds}-fold CV",
            data=digest([data.queries]),
            heldout={
                "accuracy": round(fl.heldout_accuracy, 4),
                "floor_min": round(fl.floor_min, 4),
                "floor_max": round(fl.floor_max, 4),
            },
        ),
        duplicate=FittedCutoff(
            value=dup.threshold,
            method=f"midpoint of lowest duplicate and highest distinct pair; {dup.holdout_splits} held-out halves",
            data=digest([data.duplicates, *data.samples]),
            heldout={
                "missed_duplicates": dup.holdout_missed_duplicates / max(dup.holdout_duplicates, 1),
                "false_duplicates": round(dup.holdout_false_duplicates / max(non_dup, 1), 4),
                "pairs": dup.holdout_pairs,
            },
        ),
    )
