"""Typed models of the parsed policy: the contract between the parser, the graph and the search.

Every extracted statement carries its exact source text and its [start, end) character offsets
into the corpus file it came from, so ``raw[start:end] == text`` always holds.

Two forms of text: ``Requirement.text`` / ``Article.text`` are normalised (NFKC, wraps joined) for
matching; ``display`` is the source span as people read it — the corpus's own punctuation (，（）) and
paragraphs, with PDF wraps repaired (:func:`pilotkg.policy.text.display_text`).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from pilotkg.policy.quantity import Quantity
from pilotkg.policy.text import display_text


class Span(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str  # corpus file name (relative to the corpus folder)
    start: int
    end: int
    text: str  # exact source text: raw[start:end]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display(self) -> str:
        """The span for reading: own punctuation and paragraphs, PDF wraps repaired."""
        return display_text(self.text)


class Agency(BaseModel):
    name: str
    span: Span


class Contact(BaseModel):
    name: str  # person or service ("示范工程申报咨询")
    phone: str
    organisation: str
    span: Span


class Deadline(BaseModel):
    batch: int
    date: date
    span: Span


class PolicyDocument(BaseModel):
    id: str  # stable local id: "notice-1", "guide", "measures", ...
    kind: Literal["notice", "guide", "measures"]
    title: str
    doc_number: str | None = None  # 文号, e.g. 兵工信安全〔2021〕10号
    year: int | None = None
    agencies: list[Agency] = []
    deadlines: list[Deadline] = []
    contacts: list[Contact] = []
    parent: str | None = None  # the document this one is an attachment of
    span: Span


RequirementKind = Literal["capability", "means", "threshold"]
Section = Literal["effect", "demand"]


class Requirement(BaseModel):
    id: str  # e.g. "d08-r05" (direction 8, demand clause 5); stable across builds of the same text
    direction: int
    section: Section  # 应用成效 (effect) or 示范要求 (demand)
    kind: RequirementKind
    text: str  # normalised text (NFKC, line wraps removed)
    span: Span
    # The requirement as it reads on its own, with the verb/head it shares in its clause
    # ("提高火险预警的科学性、时效性"); evidence and judging use ``text`` and ``span``.
    display: str = ""
    means: list[str] = []  # for kind "means": the listed technologies, of which some must be used
    quantity: Quantity | None = None  # for kind "threshold"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def written(self) -> str:
        """The requirement as the corpus writes it: its own punctuation, PDF wraps repaired."""
        return display_text(self.span.text)


class Direction(BaseModel):
    number: int
    label: str  # numbering as written, e.g. "（八）"
    name: str
    group: int
    effect: Span | None = None  # 应用成效 text
    demand: Span | None = None  # 示范要求 text
    requirements: list[Requirement] = []
    span: Span  # the heading


class Group(BaseModel):
    number: int
    label: str
    name: str
    span: Span


class Article(BaseModel):
    number: int
    label: str  # 第十二条
    text: str  # normalised, for matching
    span: Span
    items: list[ArticleItem] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display(self) -> str:
        """The article's body (without 第十二条) as the corpus writes it, one paragraph per line."""
        shown = display_text(self.span.text)
        return shown[len(self.label) :].lstrip() if shown.startswith(self.label) else shown


class ArticleItem(BaseModel):
    label: str  # （一）
    title: str  # 项目遴选
    span: Span


RuleKind = Literal[
    "lead_units",
    "max_partners",
    "no_single_enterprise",
    "max_projects_per_lead",
    "directions_per_project",
    "max_recommended_per_direction_region",
    "characteristics",
    "business_models",
    "legal_entity",
]


class Rule(BaseModel):
    id: str  # e.g. "rule-max_partners"
    kind: RuleKind
    value: int | None = None
    values: list[str] = []
    clause: str  # where the policy states it, e.g. "三、（一）申报资格"
    document: str
    span: Span


class Stage(BaseModel):
    order: int
    name: str  # 项目遴选 / 跟踪评价 / 评价认定
    outcome: str | None = None  # 候选项目 / 试点应用项目 / 示范工程项目
    duration: Quantity | None = None
    article: int
    span: Span


class Corpus(BaseModel):
    source: str
    sha256: str
    documents: list[PolicyDocument]
    groups: list[Group]
    directions: list[Direction]
    articles: list[Article]
    rules: list[Rule]
    stages: list[Stage]
    validity: Quantity | None = None  # 示范工程有效期

    @property
    def requirements(self) -> list[Requirement]:
        return [r for d in self.directions for r in d.requirements]

    def direction(self, number: int) -> Direction:
        for d in self.directions:
            if d.number == number:
                return d
        from pilotkg.errors import NotFoundError

        raise NotFoundError(f"no direction {number}", f"没有第{number}个方向", where=f"direction/{number}")

    def rule(self, kind: str) -> Rule | None:
        return next((r for r in self.rules if r.kind == kind), None)


Article.model_rebuild()
