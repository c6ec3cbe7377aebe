"""Typed results that the matcher, the coverage checker and the search return to CLI and API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["addressed", "missing", "violated", "uncertain"]
ScenarioRelation = Literal["closeMatch", "relatedMatch", "broadMatch", "fits"]


class Evidence(BaseModel):
    """A sentence of the user's text, with offsets into the text as the user sent it."""

    text: str
    start: int
    end: int
    score: float


class DirectionScore(BaseModel):
    number: int
    name: str
    group: str
    score: float = Field(description="calibrated confidence 0–1 that this direction fits")
    similarity: float = Field(description="raw fused similarity the ranking used")
    evidence: list[Evidence] = Field(default_factory=list, description="sentences that drive the score")


class ScenarioRef(BaseModel):
    """A scenario of the 2023–2025 action plan named for a description (pilotkg.matching.scenarios)."""

    id: str = Field(description="graph id, e.g. scenario/10")
    number: int
    label_zh: str
    label_en: str
    relation: ScenarioRelation = Field(
        description="the cross-walk relation of the matched direction to the scenario (in scope), or "
        "'fits' (out of scope: the description fits a scenario that has no 2021 direction)"
    )
    direction: int | None = Field(None, description="the 2021 direction the cross-walk relation starts from")
    similarity: float = Field(description="cosine of the description with the scenario's description")
    note_zh: str | None = Field(None, description="the cross-walk's justification")
    note_en: str | None = None


class MatchResult(BaseModel):
    out_of_scope: bool
    confidence: float = Field(description="confidence of the best direction (0–1)")
    directions: list[DirectionScore]
    scenarios: list[ScenarioRef] = Field(
        default_factory=list, description="scenarios of the 2023–2025 action plan (cross-walk or fit)"
    )
    scenario_note_zh: str | None = Field(
        None, description="one sentence on the scenarios, e.g. 不属于2021年16个方向；…"
    )
    scenario_note_en: str | None = None


class RequirementCheck(BaseModel):
    id: str
    text: str = Field(description="exact source text of the requirement in the corpus")
    kind: str
    section: str
    status: Status
    score: float
    evidence: list[Evidence] = Field(default_factory=list)
    means_used: list[str] = Field(default_factory=list, description="for 'means': the listed means the text uses")
    means_listed: list[str] = Field(default_factory=list)
    required: str | None = Field(None, description="for thresholds: the required value, e.g. 少于30分钟")
    stated: str | None = Field(None, description="for thresholds: the value the text states")


class CoverageReport(BaseModel):
    direction: int
    direction_name: str
    requirements: list[RequirementCheck]
    counts: dict[str, int]


class SearchHit(BaseModel):
    id: str = Field(description="graph id, e.g. direction/8, requirement/d08-r06, article/12")
    iri: str
    kind: str
    title: str
    text: str
    score: float
    direction: int | None = None
