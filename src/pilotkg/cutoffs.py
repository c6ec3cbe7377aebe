"""The fitted cut-offs outside the learned judgments, read from a shipped artefact.

Three decisions turn a similarity into yes or no: whether an out-of-scope description fits a scenario of
the 2023–2025 action plan, whether a search hit is relevant enough to show, and whether two projects
are likely duplicates. Each cut-off is chosen by ``pilotkg judge calibrate`` (:mod:`pilotkg.calibration`)
on labelled texts written for it, with its held-out figures, and written to ``cutoffs.json`` beside this
module with the digests of the data it was chosen on. None is set by hand; the eval files are not read.
This module only reads and writes the artefact, so every package can import it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from pilotkg.files import atomic_path, read_artefact

ARTEFACT = "cutoffs.json"
ARTEFACT_VERSION = 1


class FittedCutoff(BaseModel):
    value: float = Field(description="chosen on all the labelled texts")
    method: str = Field(description="how it was chosen")
    data: dict[str, str] = Field(description="file name → SHA-256 of the labelled texts it was chosen on")
    heldout: dict[str, float] = Field(description="held-out figures of the same choice (cross-validated)")


class Cutoffs(BaseModel):
    version: int = ARTEFACT_VERSION
    created: str
    scenario_fit: FittedCutoff = Field(description="cosine of a description with a scenario at which it fits")
    search_floor: FittedCutoff = Field(description="dense cosine below which a search hit needs a shared term")
    duplicate: FittedCutoff = Field(description="duplicate score at which two projects are flagged")


def artefact_path() -> Path:
    """Where the shipped artefact lives in the installed package (``pilotkg judge calibrate`` writes it)."""
    return Path(__file__).with_name(ARTEFACT)


def write_cutoffs(cutoffs: Cutoffs, path: Path) -> None:
    """Write the artefact atomically (a reader never sees half a file)."""
    with atomic_path(path, f".{path.stem}-", ".json") as tmp:
        tmp.write_text(cutoffs.model_dump_json(indent=1) + "\n", encoding="utf-8")


@cache
def shipped_cutoffs() -> Cutoffs:
    """The shipped artefact (``pilotkg/cutoffs.json``)."""
    return read_artefact(
        "pilotkg",
        ARTEFACT,
        Cutoffs,
        version=ARTEFACT_VERSION,
        command="pilotkg judge calibrate",
        what=("fitted cut-offs", "阈值"),
    )
