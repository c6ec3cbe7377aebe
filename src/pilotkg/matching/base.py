"""Typed results that the matcher, the coverage checker and the search return to CLI and API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["addressed", "missing", "violated", "uncertain"]


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


class OtherDomain(BaseModel):
    """A safety or emergency domain outside the programme (ontology/domains.ttl)."""

    id: str = Field(description="graph id, e.g. domain/road-traffic")
    label_zh: str
    label_en: str
    similarity: float = Field(description="cosine of the description with the domain")


class MatchResult(BaseModel):
    out_of_scope: bool
    in_scope_probability: float = Field(1.0, description="calibrated probability that the text fits the programme")
    confidence: float = Field(description="confidence of the best direction (0–1)")
    directions: list[DirectionScore]
    nearest_domain: OtherDomain | None = Field(None, description="the nearest safety domain outside the programme")


class RequirementCheck(BaseModel):
    id: str
    text: str = Field(description="exact source text of the requirement in the corpus")
    kind: str
    section: str
    status: Status
    score: float
    confidence: float = Field(1.0, description="calibrated probability that the shown status is right")
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
    out_of_scope: bool = Field(False, description="the text fits no direction: no checklist is given")
    nearest_domain: OtherDomain | None = None


class SearchHit(BaseModel):
    id: str = Field(description="graph id, e.g. direction/8, requirement/d08-r06, article/12")
    iri: str
    kind: str
    title: str
    text: str
    score: float
    direction: int | None = None
