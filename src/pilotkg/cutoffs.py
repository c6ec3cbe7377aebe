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
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field

from pilotkg.errors import InputError
from pilotkg.files import atomic_path

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
    try:
        c = Cutoffs.model_validate_json(resources.files("pilotkg").joinpath(ARTEFACT).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"the fitted cut-offs artefact is missing or unreadable ({exc}); run `pilotkg judge calibrate`",
            f"阈值文件缺失或无法读取（{exc}）；请运行 `pilotkg judge calibrate`",
            where=ARTEFACT,
        ) from exc
    if c.version != ARTEFACT_VERSION:
        raise InputError(
            f"cut-offs artefact version {c.version}, expected {ARTEFACT_VERSION}; run `pilotkg judge calibrate`",
            f"阈值文件版本为 {c.version}，应为 {ARTEFACT_VERSION}；请运行 `pilotkg judge calibrate`",
            where=ARTEFACT,
        )
    return c
