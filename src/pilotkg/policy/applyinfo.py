"""What an applicant must know before applying, read from the parsed policy (nothing hard-coded):
the deadlines and contacts of each notice, the consortium rules with their clauses, and the four
characteristics reviewers look at."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from pilotkg.policy.base import Contact, Corpus, Rule

# Rules about who may apply and with whom (the rest are about the programme or the reviewers).
CONSORTIUM_KINDS = (
    "lead_units",
    "max_partners",
    "no_single_enterprise",
    "legal_entity",
    "directions_per_project",
    "max_projects_per_lead",
    "max_recommended_per_direction_region",
)


class DeadlineInfo(BaseModel):
    batch: int
    date: date
    source_text: str = Field(description="the notice's own words")


class NoticeInfo(BaseModel):
    id: str
    title: str
    doc_number: str | None
    checked: bool = Field(description="its deadlines are the ones a submission is checked against")
    deadlines: list[DeadlineInfo]
    contacts: list[Contact]


class RuleInfo(BaseModel):
    id: str
    kind: str
    value: int | None = None
    values: list[str] = []
    source_text: str = Field(description="the notice's own words")
    sentence: str = Field("", description="the clause that holds them (各地推荐…每个方向不超过5个)")
    clause: str
    document: str = Field(description="文号 of the stating notice, else its title")

    def cite(self) -> str:
        return f"{self.clause}「{self.source_text}」（{self.document}）"


class ApplyInfo(BaseModel):
    notices: list[NoticeInfo]
    consortium_rules: list[RuleInfo]
    characteristics: RuleInfo | None = Field(None, description="what reviewers look at (技术先进性 …)")
    business_models: RuleInfo | None = None


def _sentence(raw: str | None, r: Rule) -> str:
    """The clause (up to a comma or bracket) of the corpus file holding the rule's span, without wraps:
    the span alone may lack its subject ("每个方向不超过 5 个" of "各地推荐…的数量原则上每个方向不超过5个")."""
    if not raw or raw[r.span.start : r.span.end] != r.span.text:
        return r.span.text
    start = max(raw.rfind(c, 0, r.span.start) for c in "，,。；;：:（(") + 1
    ends = [i for c in "，,。；;）)" if (i := raw.find(c, r.span.end)) >= 0]
    end = min(ends) if ends else r.span.end
    return "".join(raw[start:end].split())


def apply_info(corpus: Corpus, checked_notice: str | None = None, raw: str | None = None) -> ApplyInfo:
    """``checked_notice``: the id of the notice whose deadlines the eligibility check applies;
    ``raw``: the corpus file's text, to quote each rule's whole sentence."""
    titles = {d.id: d.doc_number or d.title for d in corpus.documents}

    def info(r: Rule) -> RuleInfo:
        return RuleInfo(
            id=r.id,
            kind=r.kind,
            value=r.value,
            values=list(r.values),
            source_text=r.span.text,
            sentence=_sentence(raw, r),
            clause=r.clause,
            document=titles.get(r.document, r.document),
        )

    notices = [
        NoticeInfo(
            id=d.id,
            title=d.title,
            doc_number=d.doc_number,
            checked=d.id == checked_notice,
            deadlines=[DeadlineInfo(batch=x.batch, date=x.date, source_text=x.span.text) for x in d.deadlines],
            contacts=list(d.contacts),
        )
        for d in corpus.documents
        if d.kind == "notice"
    ]
    notices.sort(key=lambda n: not n.checked)  # the deadlines that decide come first
    rules = [info(r) for kind in CONSORTIUM_KINDS if (r := corpus.rule(kind)) is not None]
    chars, models = corpus.rule("characteristics"), corpus.rule("business_models")
    return ApplyInfo(
        notices=notices,
        consortium_rules=rules,
        characteristics=info(chars) if chars else None,
        business_models=info(models) if models else None,
    )
