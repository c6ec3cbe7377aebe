"""``pilotkg judge calibrate``: the shipped cut-offs are what the command chooses on the repository's
labelled texts, with their held-out figures, and the artefact names the data it was chosen on."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotkg.calibration import CalibrationData, calibrate_floor, choose_floor
from pilotkg.cutoffs import shipped_cutoffs
from pilotkg.evaluate import digest
from pilotkg.matching import FIT_CUTOFF
from pilotkg.matching.search import RELEVANCE_FLOOR
from pilotkg.projects import DUPLICATE_THRESHOLD

REPO = Path(__file__).resolve().parents[1]


def test_the_product_reads_its_cut_offs_from_the_artefact() -> None:
    c = shipped_cutoffs()
    assert (
        c.scenario_fit.value,
        c.search_floor.value,
        c.duplicate.value,
    ) == (FIT_CUTOFF, RELEVANCE_FLOOR, DUPLICATE_THRESHOLD)


def test_the_artefact_was_chosen_on_the_texts_in_the_repository() -> None:
    # a calibration text edited without re-running the command shows here
    data = CalibrationData.in_repo(REPO)
    c = shipped_cutoffs()
    assert c.scenario_fit.data == digest([data.scenarios])
    assert c.search_floor.data == digest([data.queries])
    assert c.duplicate.data == digest([data.duplicates, *data.samples])


def test_choose_floor_takes_the_best_separating_midpoint() -> None:
    scores = [(0.95, True), (0.9, True), (0.86, True), (0.84, False), (0.8, False), (0.7, False)]
    assert choose_floor(scores) == pytest.approx(0.85)
    cal = calibrate_floor(scores * 3, folds=3)  # every fold sees both kinds
    assert cal.heldout_accuracy == 1.0 and cal.relevant == 9 and cal.irrelevant == 9
