"""The typed project: ``ProjectIn`` (one submitted project, validated and normalised) with its
``Unit``s, the matcher's ``Enrichment`` of a project, and ``ProjectOut`` (a stored project).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from pilotkg.matching import CoverageReport, Status
from pilotkg.policy import has_content, name_key, nfkc, split_sentences
from pilotkg.projects.regions import credit_code_problem, find_region

UnitType = Literal["装备制造企业", "软件企业", "服务提供商", "用户单位", "金融保险机构", "other"]
UNIT_TYPES: tuple[str, ...] = get_args(UnitType)
_UNIT_ALIASES: dict[str, str] = {
    **{
        k: "装备制造企业"
        for k in (
            "equipment manufacturer",
            "equipment manufacturing enterprise",
            "manufacturer",
            "manufacturing",
            "装备制造商",
            "制造企业",
            "装备企业",
        )
    },
    **{k: "软件企业" for k in ("software enterprise", "software company", "software", "软件公司")},
    **{k: "服务提供商" for k in ("service provider", "service", "services", "服务商", "服务企业")},
    **{k: "用户单位" for k in ("user unit", "user", "end user", "customer", "用户")},
    **{
        k: "金融保险机构"
        for k in (
            "financial institution",
            "financial and insurance institution",
            "finance",
            "insurance",
            "insurer",
            "bank",
            "金融机构",
            "保险机构",
        )
    },
    **{k: "other" for k in ("others", "其他", "其它")},
}
MAX_DESCRIPTION = 20000
# Project ids: letters (any script), digits, '-', '_', '.'; no '..', no controls, no separators.
ID_PATTERN = r"^[\w\-.]{1,64}$"
YEARS = (2000, 2100)
# How far the submission date may be from the batch year (a batch is announced the year before).
YEAR_SLACK = 1


def _err(en: str, zh: str) -> PydanticCustomError:
    return PydanticCustomError("pilotkg", "{en}", {"en": en, "zh": zh})


def _clean(v: object) -> object:
    return " ".join(nfkc(v).split()) if isinstance(v, str) else v


def _trim(v: object) -> object:
    # A unit's name is kept as the applicant spelled it (read back so); its entity is its credit code
    # or its normalised name (projects.rdf), so spellings need no folding here.
    return v.strip() if isinstance(v, str) else v


def _safe_id(v: str) -> str:
    if ".." in v:
        raise _err("id must not contain '..'", "编号不能包含“..”")
    return v


def _content(v: str) -> str:
    if not has_content(v):
        raise _err("must contain letters or digits", "须包含文字或数字")
    return v


Name = Annotated[
    str, BeforeValidator(_clean), StringConstraints(min_length=1, max_length=200), AfterValidator(_content)
]
UnitName = Annotated[
    str, BeforeValidator(_trim), StringConstraints(min_length=1, max_length=200), AfterValidator(_content)
]
Short = Annotated[
    str, BeforeValidator(_clean), StringConstraints(min_length=1, max_length=100), AfterValidator(_content)
]


def _region(v: object) -> object:
    """Any spelling the region vocabulary knows → the region's full name (云南 → 云南省)."""
    if not isinstance(v, str) or not v.strip():
        return v
    r = find_region(v)
    if r is None:
        raise _err(
            f"unknown region {v!r}: give a province-level division (e.g. 云南省, 云南, Yunnan or 530000) "
            "or 新疆生产建设兵团",
            f"未知地区“{v}”：请填写省级行政区（如 云南省、云南、530000）或 新疆生产建设兵团",
        )
    return r.name


def _credit_code(v: object) -> object:
    if not isinstance(v, str):
        return v
    code = "".join(nfkc(v).split()).upper()
    if not code:
        return None
    if problem := credit_code_problem(code):
        en, zh = problem
        raise _err(f"unified social credit code {code}: {en}", f"统一社会信用代码 {code}：{zh}")
    return code


RegionName = Annotated[str, BeforeValidator(_region), StringConstraints(min_length=1, max_length=100)]
CreditCode = Annotated[str | None, BeforeValidator(_credit_code)]


class Unit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: UnitName
    type: UnitType
    region: RegionName | None = None
    credit_code: CreditCode = Field(None, description="统一社会信用代码 (GB 32100-2015), checksum-validated")

    def same_entity(self, other: Unit) -> bool:
        """One legal entity: the same credit code, or (one of them without a code) the same normalised name."""
        if self.credit_code and other.credit_code:
            return self.credit_code == other.credit_code
        return name_key(self.name) == name_key(other.name)

    @field_validator("type", mode="before")
    @classmethod
    def _type_alias(cls, v: object) -> object:
        if isinstance(v, str):
            key = " ".join(re.sub(r"[_\-]", " ", nfkc(v).lower()).split())
            return v.strip() if v.strip() in UNIT_TYPES else _UNIT_ALIASES.get(key, v)
        return v


_DATE = re.compile(r"^\s*(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?\s*$")
_YES = {"是": True, "否": False}  # pydantic already reads true/false, yes/no, 1/0


class ProjectIn(BaseModel):
    """One submitted project. ``direction`` is the chosen pilot direction; a row naming several
    directions (or several lead units) keeps the others in ``extra_directions`` /
    ``extra_lead_units`` so the eligibility check can report the rule it breaks."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=ID_PATTERN), AfterValidator(_safe_id)]
    name: Name
    description: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION),
        AfterValidator(_content),
    ]
    direction: Annotated[int, Field(ge=1, le=99)]
    lead_unit: Unit
    partners: Annotated[list[Unit], Field(max_length=100)] = []
    region: RegionName = Field(description="省级行政区或新疆生产建设兵团（任何写法，存为全称） / region (full name)")
    batch: Annotated[int, Field(ge=1, le=12)]
    submitted: date
    business_model: Short | None = None
    year: Annotated[int, Field(ge=YEARS[0], le=YEARS[1])] | None = None
    recommended: bool = False
    owner: Name | None = None
    extra_directions: Annotated[list[Annotated[int, Field(ge=1, le=99)]], Field(exclude=True)] = []
    extra_lead_units: Annotated[list[Unit], Field(exclude=True)] = []

    @model_validator(mode="before")
    @classmethod
    def _several(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        d = data.get("direction")
        if isinstance(d, str) and re.search(r"[;,，；、]", d):
            d = [x for x in re.split(r"[;,，；、]", d) if x.strip()]
        if isinstance(d, list):
            if not d:
                raise _err("direction: give the one chosen direction", "direction：须填写所选的一个试点方向")
            data["direction"], data["extra_directions"] = d[0], d[1:]
        lead = data.get("lead_unit")
        if isinstance(lead, list):
            if not lead:
                raise _err("lead_unit: give the lead unit", "lead_unit：须填写牵头单位")
            data["lead_unit"], data["extra_lead_units"] = lead[0], lead[1:]
        return data

    @field_validator("submitted", mode="before")
    @classmethod
    def _date(cls, v: object) -> object:
        if isinstance(v, str) and (m := _DATE.match(v)):
            return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        return v

    @field_validator("recommended", mode="before")
    @classmethod
    def _bool(cls, v: object) -> object:
        if isinstance(v, str):
            s = v.strip().lower()
            known: dict[str, object] = dict(_YES)
            return False if not s else known.get(s, s)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ProjectIn:
        # The year computed from the date is checked like a given one: a date in 0533 must not become
        # a stored year 533 that today's model then refuses to read back.
        year = self.year if self.year is not None else self.submitted.year
        if not YEARS[0] <= year <= YEARS[1] or abs(self.submitted.year - year) > YEAR_SLACK:
            raise _err(
                f"submitted {self.submitted.isoformat()} is not a date of the batch year "
                f"({'year ' + str(year) if self.year is not None else f'{YEARS[0]}–{YEARS[1]}'}, ±{YEAR_SLACK})",
                f"提交日期 {self.submitted.isoformat()} 不在批次年份范围内"
                f"（{str(year) + ' 年' if self.year is not None else f'{YEARS[0]}–{YEARS[1]} 年'}，±{YEAR_SLACK} 年）",
            )
        if self.year is None:
            self.year = year
        units = [self.lead_unit, *self.extra_lead_units, *self.partners]
        if dup := sorted({b.name for i, a in enumerate(units) for b in units[i + 1 :] if a.same_entity(b)}):
            raise _err(
                f"unit(s) listed more than once (as lead or partner): {', '.join(dup)}",
                f"单位重复出现（牵头单位或联合单位）：{'、'.join(dup)}",
            )
        return self


class CoverageDetail(BaseModel):
    """Why a requirement got its status: what the description states and where."""

    stated: str | None = Field(None, description="the value as the description states it, e.g. 45分钟")
    evidence: str | None = Field(None, description="the sentence of the description that covers the requirement")
    start: int | None = Field(None, ge=0, description="offsets of the evidence in the description")
    end: int | None = Field(None, ge=0)


class Enrichment(BaseModel):
    """What the matcher and the coverage checker say about one project."""

    matched_direction: int
    confidence: float = Field(ge=0.0, le=1.0)
    statuses: dict[str, Status] = Field(default_factory=dict, description="requirement id → status")
    details: dict[str, CoverageDetail] = Field(
        default_factory=dict, description="requirement id → stated value and evidence (when there is any)"
    )

    @classmethod
    def of(cls, matched_direction: int, confidence: float, report: CoverageReport, text: str) -> Enrichment:
        """From the coverage report on ``text``. A threshold's evidence is the stated value alone (45分钟);
        the detail keeps the whole sentence around it, which is what a reviewer reads."""
        sentences = split_sentences(text)
        details: dict[str, CoverageDetail] = {}
        checks = report.requirements
        for c in checks:
            if not c.evidence and not c.stated:
                continue
            detail = CoverageDetail(stated=c.stated)
            if c.evidence:
                ev = c.evidence[0]
                s = next((x for x in sentences if x.start <= ev.start and ev.end <= x.end), None)
                start, end = (s.start, s.end) if s is not None else (ev.start, ev.end)
                detail = CoverageDetail(stated=c.stated, evidence=text[start:end], start=start, end=end)
            details[c.id] = detail
        return cls(
            matched_direction=matched_direction,
            confidence=confidence,
            statuses={c.id: c.status for c in checks},
            details=details,
        )


class ProjectOut(ProjectIn):
    gid: str
    iri: str
    matched_direction: int | None = None
    match_confidence: float | None = None
    coverage: dict[str, Status] = Field(default_factory=dict)
