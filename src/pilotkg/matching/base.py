"""Typed results that the matcher, the coverage checker and the search return to CLI and API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

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
    scenarios: list[ScenarioRef] = Field(
        default_factory=list, description="scenarios of the 2023–2025 action plan (cross-walk or fit)"
    )
    scenario_note_zh: str | None = Field(
        None, description="one sentence on the scenarios, e.g. 不属于2021年16个方向；…"
    )
    scenario_note_en: str | None = None
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
    display: str = Field("", description="the requirement as it reads on its own, with the head its clause shares")
    clause: str = Field("", description="where the guide states it, e.g. 二、（八）森林草原火灾监测预警系统·示范要求")
    hint_zh: str = Field("", description="for missing / uncertain: what evidence would satisfy it")


# What needs the applicant's attention first: a failed threshold, then what the text does not show.
ATTENTION: tuple[Status, ...] = ("violated", "missing", "uncertain", "addressed")
_SUMMARY: dict[Status, str] = {
    "violated": "{n} 处不满足",
    "missing": "{n} 项未体现",
    "uncertain": "{n} 项待确认",
    "addressed": "{n} 项已体现",
}


class CoverageReport(BaseModel):
    direction: int
    direction_name: str
    requirements: list[RequirementCheck]
    counts: dict[str, int]
    out_of_scope: bool = Field(False, description="the text fits no direction: no checklist is given")
    nearest_domain: OtherDomain | None = None

    @computed_field(description="一句话小结，如“1 处不满足，4 项未体现，8 项已体现” / one-line summary")  # type: ignore[prop-decorator]
    @property
    def summary_zh(self) -> str:
        counts = {s: sum(1 for r in self.requirements if r.status == s) for s in ATTENTION}
        parts = [_SUMMARY[s].format(n=counts[s]) for s in ATTENTION if counts[s] or s != "uncertain"]
        return "，".join(parts)

    def by_attention(self) -> CoverageReport:
        """The same report with violated rows first, then missing, uncertain, addressed (each in the
        guide's order): what an applicant has to fix leads."""
        rank = {s: i for i, s in enumerate(ATTENTION)}
        rows = sorted(self.requirements, key=lambda r: rank[r.status])  # stable: guide order within a status
        return self.model_copy(update={"requirements": rows})


class SearchHit(BaseModel):
    id: str = Field(description="graph id, e.g. direction/8, requirement/d08-r06, article/12")
    iri: str
    kind: str
    title: str
    text: str
    score: float
    direction: int | None = None
