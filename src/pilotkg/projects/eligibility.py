"""The notice's eligibility rules as SHACL shapes, generated from the parsed corpus.

Every number comes from the text (``corpus.rules`` and the notices' deadlines): a notice saying
联合单位不超过 6 家 yields ``sh:maxCount 6``. Shapes, per rule kind found in the corpus:

- lead_units: ``pk:leadUnit`` min 1, max N;  max_partners: ``pk:partner`` max N;
- no_single_enterprise: ``pk:partner`` min 1;  directions_per_project: ``pk:direction`` min 1, max N;
- max_projects_per_lead (SPARQL): at most N projects per lead unit in one batch of one year (the
  notice says 每个牵头单位可最多申报 2 个项目; each batch is read as its own call for applications).
  A lead unit is a legal entity, not a spelling: units with one 统一社会信用代码 are one entity whatever
  their names; a unit given without a code is the entity of its normalised name (``policy.name_key``:
  NFKC, spaces out, so 某某（集团）有限公司 = 某某(集团) 有限公司), and when units with codes bear that
  name it counts towards each of those entities (it may be any of them). Two different codes are two
  entities, even under one name;
- max_recommended_per_direction_region (SPARQL): at most N recommended projects per direction and
  region in one year;
- deadlines (SPARQL, one shape for all batches): submitted on or before the batch's deadline.

Which deadline: each notice that states deadlines applies to the applicants of the region that issued
it. The forwarding notice (兵工信安全〔2021〕10号, issued by 兵团 agencies) sets 3月20日 / 9月20日 for
projects of 新疆生产建设兵团, which applies through it; every other project is checked against the
national notice (工信厅联安全函〔2021〕11号: 3月31日 / 9月30日) — the notice that is an attachment
(``parent`` set) and states the eligibility rules. A notice's region is read from its agencies' names
(:func:`pilotkg.projects.regions.issuing_region`), and the violation cites the notice that applied.

Rules the text states but a graph cannot decide (characteristics, business_models, legal_entity) are
listed as not checked. Rules whose text says 原则上 ("in principle") are still violations here; the
report marks them so reviewers can weigh them.

The check runs pyshacl over the new file's projects plus the stored projects that share a counting
group with them (same lead unit/batch/year, same direction/region/year), on an in-memory Oxigraph
graph: pyshacl evaluates SPARQL constraints once per focus node, which rdflib's engine does in tens of
milliseconds per node and Oxigraph in well under one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox
import pyshacl
from oxrdflib import OxigraphStore
from pydantic import BaseModel
from rdflib import RDF, Graph, URIRef
from rdflib import Literal as Lit
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import ORG, SH
from rdflib.term import Node

from pilotkg import iri
from pilotkg.graph import PK, PKSH
from pilotkg.policy import CN_NUMERALS, Corpus, PolicyDocument, Rule, RuleKind, nfkc
from pilotkg.projects.regions import issuing_region, region_named

CHECKED_KINDS: tuple[RuleKind, ...] = (
    "lead_units",
    "max_partners",
    "no_single_enterprise",
    "directions_per_project",
    "max_projects_per_lead",
    "max_recommended_per_direction_region",
)
NOT_CHECKED: dict[str, tuple[str, str]] = {
    "characteristics": ("需评审专家判断", "needs a reviewer's judgement"),
    "business_models": ("所列模式为示例（“等”），不构成封闭清单", "the models listed are examples (等)"),
    "legal_entity": ("法人资格与信用记录不在申报数据中", "legal status and credit are not in the data"),
}
# The properties the shapes read: the check's data graph holds only these (plus rdf:type).
CHECKED_PREDICATES = (
    PK.leadUnit,
    PK.partner,
    PK.direction,
    PK.batch,
    PK.year,
    PK.submitted,
    PK.region,
    PK.recommended,
    PK.namesake,  # a lead unit's entity: a coded unit and its spellings' nodes (see max_projects_per_lead)
)


class RuleRef(BaseModel):
    """A rule as the policy states it: where (clause, document) and the exact words."""

    id: str  # rule id ("rule-max_partners") or "deadline-batch-1"
    kind: str  # a RuleKind, or "deadline"
    clause: str
    source_text: str
    document: str
    document_title: str  # 文号 when the document has one, else its title
    limit: str  # the limit as a value: "8", "1", "2021-03-31"
    in_principle: bool = False  # the text says 原则上
    applies_to: str | None = None  # the region a regional notice's rule applies to (新疆生产建设兵团)

    def cite(self) -> str:
        note = "（原则上 / in principle）" if self.in_principle else ""
        scope = f"，适用于{self.applies_to} / applies to {self.applies_to}" if self.applies_to else ""
        return f"{self.clause}「{self.source_text}」{note}（{self.document_title}{scope}）"


class RuleViolation(BaseModel):
    rule: RuleRef
    project_id: str
    where: str  # file:line of the project's row, else project/<id>
    found: str
    limit: str
    message_zh: str
    message_en: str


class EligibilityReport(BaseModel):
    conforms: bool
    projects_checked: int
    stored_projects_considered: int
    rules: list[RuleRef]
    not_checked: dict[str, str]  # rule kind → why (zh / en)
    violations: list[RuleViolation]

    def render_text(self) -> str:
        if self.conforms:
            return (
                f"符合通知规定的申报条件（{self.projects_checked} 个项目，{len(self.rules)} 条规则，"
                f"另计入已存储项目 {self.stored_projects_considered} 个）/ conforms to the notice's "
                f"eligibility rules ({self.projects_checked} projects, {len(self.rules)} rules, "
                f"{self.stored_projects_considered} stored projects counted)"
            )
        out = [f"{len(self.violations)} 处违反申报条件 / eligibility violation(s):"]
        for v in self.violations:
            out.append(f"- {v.where} [{v.project_id}]: {v.message_zh} / {v.message_en}")
            out.append(f"  依据 / source: {v.rule.cite()}")
        return "\n".join(out)


@dataclass
class RuleSet:
    """The shapes generated from one corpus, and what each shape stands for."""

    shapes: Graph
    by_shape: dict[URIRef, RuleRef] = field(default_factory=dict)
    # (region IRI, or None for every other region; batch) → its deadline (DEADLINE_SHAPE)
    deadlines: dict[tuple[str | None, int], RuleRef] = field(default_factory=dict)

    @property
    def rules(self) -> list[RuleRef]:
        return [*self.by_shape.values(), *self.deadlines.values()]

    @property
    def deadline_batches(self) -> set[int]:
        return {b for _, b in self.deadlines}

    def deadline_for(self, region: str | None, batch: int) -> RuleRef | None:
        """The deadline a project of ``region`` (IRI) in ``batch`` is held to."""
        return self.deadlines.get((region, batch)) or self.deadlines.get((None, batch))


DEADLINE_SHAPE = PKSH["deadline"]


def deadline_notice(corpus: Corpus) -> PolicyDocument | None:
    """The national notice, whose deadlines apply to every region without a notice of its own (see the
    module docstring)."""
    rule_docs = {r.document for r in corpus.rules if r.kind in CHECKED_KINDS}
    notices = [d for d in corpus.documents if d.kind == "notice" and d.deadlines]
    notices.sort(key=lambda d: (d.parent is None, d.id not in rule_docs))
    return notices[0] if notices else None


def compile_rules(corpus: Corpus, *, policy_text: str | None = None) -> RuleSet:
    """Shapes for the checkable rules of ``corpus``. ``policy_text`` (the raw corpus file) lets the
    deadline shapes cite their clause (三、（四）申报截止时间); without it they cite the notice."""
    titles = {d.id: d.doc_number or d.title for d in corpus.documents}
    ttl = [_PREFIXES]
    rs = RuleSet(shapes=Graph())
    for kind in CHECKED_KINDS:
        rule = corpus.rule(kind)
        if rule is None or (rule.value is None and kind != "no_single_enterprise"):
            continue
        shape = PKSH[rule.id]
        limit = "1" if kind == "no_single_enterprise" else str(rule.value)
        rs.by_shape[shape] = _ref(rule, titles, limit, policy_text)
        ttl.append(_rule_shape(shape, rule))
    national = deadline_notice(corpus)
    applies: list[tuple[str | None, PolicyDocument]] = [(None, national)] if national is not None else []
    for d in corpus.documents:
        if d.kind == "notice" and d.deadlines and d is not national:
            region = issuing_region([a.name for a in d.agencies])
            if region is not None:
                applies.append((region.iri, d))
    for region_iri, notice in applies:
        scope = region_named(region_iri).name if region_iri else None
        for dl in notice.deadlines:
            rs.deadlines[(region_iri, dl.batch)] = RuleRef(
                id=f"deadline-batch-{dl.batch}" + (f"-{region_named(region_iri).code}" if region_iri else ""),
                kind="deadline",
                clause=_clause_at(policy_text, dl.span.start) if policy_text else "申报截止时间",
                source_text=dl.span.text,
                document=notice.id,
                document_title=titles[notice.id],
                limit=dl.date.isoformat(),
                applies_to=scope,
            )
    if rs.deadlines:
        ttl.append(_deadline_shape({k: r.limit for k, r in rs.deadlines.items()}))
    rs.shapes.parse(data="\n".join(ttl), format="turtle")
    return rs


def _ref(rule: Rule, titles: dict[str, str], limit: str, policy_text: str | None) -> RuleRef:
    # 原则上 may stand before the span the parser kept (…数量原则上每个方向不超过 5 个): read the sentence.
    sentence = rule.span.text
    if policy_text and policy_text[rule.span.start : rule.span.end] == rule.span.text:
        start = max(policy_text.rfind(c, 0, rule.span.start) for c in "。；;\n") + 1
        sentence = policy_text[start : rule.span.end]
    return RuleRef(
        id=rule.id,
        kind=rule.kind,
        clause=rule.clause,
        source_text=rule.span.text,
        document=rule.document,
        document_title=titles.get(rule.document, rule.document),
        limit=limit,
        in_principle="原则上" in sentence,
    )


def _clause_at(text: str, offset: int) -> str:
    """The outline clause of the line holding ``offset``, in the parser's style: 三、（四）申报截止时间."""
    lines = text[:offset].split("\n")
    here = nfkc(lines[-1] + text[offset:].split("\n", 1)[0]).strip()
    sub = re.match(rf"^\(([{CN_NUMERALS}]+)\)\s*([^。.:：]+)", here)
    top = next((m.group(1) for ln in reversed(lines[:-1]) if (m := re.match(rf"^\s*([{CN_NUMERALS}]+、)", ln))), "")
    if not sub:
        return top or here[:20]
    return f"{top}（{sub.group(1)}）{sub.group(2).strip()}"


# --- shape text ------------------------------------------------------------------------------------

_PREFIXES = f"""@prefix pk: <{PK}> .
@prefix pksh: <{PKSH}> .
@prefix sh: <{SH}> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
"""
_Q = f"PREFIX pk: <{PK}>\nPREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"

_PROPERTY_RULES: dict[str, tuple[str, bool, bool, str, str]] = {
    # kind: (path, min 1, max = value, zh, en)
    "lead_units": ("pk:leadUnit", True, True, "牵头单位须为 {n} 家", "exactly {n} lead unit(s)"),
    "max_partners": ("pk:partner", False, True, "联合单位不超过 {n} 家", "at most {n} partner units"),
    "no_single_enterprise": (
        "pk:partner",
        True,
        False,
        "须有联合单位（单一企业申报不予受理）",
        "at least one partner unit (no single-enterprise applications)",
    ),
    "directions_per_project": (
        "pk:direction",
        True,
        True,
        "每个项目仅可选择 {n} 个试点方向",
        "exactly {n} pilot direction(s) per project",
    ),
}
# Lead units: ?entity is the lead's own node or a coded unit the lead (without a code) is a spelling of
# (pk:namesake, minted from the name); the entity's projects are those led by it or by its namesakes.
# The group keys of ?other are compared in a FILTER rather than joined in the pattern: joined, Oxigraph
# starts from "every project of this batch" (20 ms a focus node at 1 000 projects); filtered, it starts
# from the lead unit's (or direction's) few projects (0.3 ms).
_COUNT_RULES: dict[str, tuple[str, str, str]] = {
    "max_projects_per_lead": (
        "$this pk:leadUnit ?lead ; pk:batch ?batch ; pk:year ?year .\n"
        "    ?entity pk:namesake? ?lead .\n"
        "    ?entity pk:namesake? ?unit .\n"
        "    ?other pk:leadUnit ?unit ; pk:batch ?b ; pk:year ?y .\n"
        "    FILTER (?b = ?batch && ?y = ?year)",
        "每个牵头单位每批最多申报 {n} 个项目",
        "at most {n} projects per lead unit per batch",
    ),
    "max_recommended_per_direction_region": (
        "$this pk:recommended true ; pk:direction ?dir ; pk:region ?region ; pk:year ?year .\n"
        "    ?other pk:direction ?dir ; pk:recommended true ; pk:region ?r ; pk:year ?y .\n"
        "    FILTER (?r = ?region && ?y = ?year)",
        "各地每个方向推荐项目不超过 {n} 个",
        "at most {n} recommended projects per direction and region",
    ),
}


def _t(s: str, lang: str | None = None) -> str:
    return Lit(s, lang=lang).n3()


def _rule_shape(shape: URIRef, rule: Rule) -> str:
    n = rule.value
    head = (
        f"<{shape}> dcterms:source <{iri.iri(iri.rule(rule.id))}> ;\n"
        f"  dcterms:description {_t(rule.span.text, 'zh')} ;\n  sh:severity sh:Violation ;\n"
    )
    if rule.kind in _PROPERTY_RULES:
        path, lo, hi, zh, en = _PROPERTY_RULES[rule.kind]
        counts = ("sh:minCount 1 ; " if lo else "") + (f"sh:maxCount {n} ; " if hi else "")
        return (
            head + f"  a sh:PropertyShape ; sh:targetClass pk:Project ; sh:path {path} ; {counts}\n"
            f"  sh:message {_t(zh.format(n=n), 'zh')} , {_t(en.format(n=n), 'en')} .\n"
        )
    where, zh, en = _COUNT_RULES[rule.kind]
    group = "$this ?entity" if rule.kind == "max_projects_per_lead" else "$this"  # over the limit in any entity
    query = (
        f"{_Q}SELECT $this (COUNT(DISTINCT ?other) AS ?value) WHERE {{\n    {where}\n}}\n"
        f"GROUP BY {group} HAVING (COUNT(DISTINCT ?other) > {n})"
    )
    return (
        head + "  a sh:NodeShape ; sh:targetClass pk:Project ;\n  sh:sparql [ a sh:SPARQLConstraint ;\n"
        f"    sh:message {_t(zh.format(n=n), 'zh')} , {_t(en.format(n=n), 'en')} ;\n"
        f"    sh:select {_t(query)} ] .\n"
    )


def _deadline_shape(deadlines: dict[tuple[str | None, int], str]) -> str:
    # One shape for all batches and regions: pyshacl runs each SPARQL constraint once per project. (SHACL
    # forbids VALUES in a query with pre-bound $this, hence the disjunction.) A region with its own
    # notice is held to that notice's dates; every other region to the national ones.
    regional = sorted({r for r, _ in deadlines if r is not None})
    others = " && ".join(f"?region != <{r}>" for r in regional) or "true"
    late = " ||\n        ".join(
        f'(?batch = {b} && {f"?region = <{r}>" if r else f"({others})"} && ?value > "{d}"^^xsd:date)'
        for (r, b), d in sorted(deadlines.items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
    )
    query = (
        f"{_Q}SELECT $this ?value WHERE {{\n    $this pk:batch ?batch ; pk:submitted ?value ; pk:region ?region .\n"
        f"    FILTER ({late})\n}}"
    )
    national = {b: d for (r, b), d in deadlines.items() if r is None}
    shown = "；".join(f"第{b}批 {d}" for b, d in sorted(national.items()))
    shown_en = "; ".join(f"batch {b} {d}" for b, d in sorted(national.items()))
    return (
        f"<{DEADLINE_SHAPE}> a sh:NodeShape ; sh:targetClass pk:Project ; sh:severity sh:Violation ;\n"
        "  sh:sparql [ a sh:SPARQLConstraint ;\n"
        f"    sh:message {_t(f'须在本批截止日期前（含）提交：{shown}（地方另有通知的按其日期）', 'zh')} , "
        f"{_t(f'submit on or before the batch deadline: {shown_en} (or that of the region own notice)', 'en')} ;\n"
        f"    sh:select {_t(query)} ] .\n"
    )


# --- checking --------------------------------------------------------------------------------------


def check_eligibility(
    new: Graph,
    focus: Sequence[URIRef],
    context: Graph | None,
    rules: RuleSet,
    *,
    lines: dict[str, int] | None = None,
    source: str | None = None,
) -> EligibilityReport:
    """Validate the ``focus`` projects of ``new`` against ``rules``; ``context`` holds the stored
    projects that count towards the same limits (their triples must not describe ``focus``)."""
    data = _data_graph(new, context)
    results: Graph = Graph()
    if rules.rules and focus:
        _conforms, results, _text = pyshacl.validate(
            data, shacl_graph=rules.shapes, inference="none", abort_on_first=False, allow_warnings=False
        )
    focus_set = set(focus)
    seen: set[tuple[URIRef, URIRef]] = set()
    violations: list[RuleViolation] = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        node, shape = results.value(r, SH.focusNode), results.value(r, SH.sourceShape)
        if not isinstance(node, URIRef) or not isinstance(shape, URIRef):
            continue  # projects and generated shapes are IRIs; anything else is not one of our results
        key = (node, shape)
        if node not in focus_set or key in seen:
            continue
        if shape == DEADLINE_SHAPE:
            region, batch = data.value(node, PK.region), data.value(node, PK.batch)
            rule = rules.deadline_for(str(region) if region else None, int(batch)) if isinstance(batch, Lit) else None
        else:
            rule = rules.by_shape.get(shape)
        if rule is None:
            continue
        seen.add(key)
        violations.append(_violation(rule, node, results.value(r, SH.value), new, data, lines or {}, source))
    violations.sort(key=lambda v: (_line_key(v.where), v.project_id, v.rule.id))
    stored = len(set(context.subjects(RDF.type, PK.Project))) if context is not None else 0
    return EligibilityReport(
        conforms=not violations,
        projects_checked=len(focus),
        stored_projects_considered=stored,
        rules=rules.rules,
        not_checked={k: f"{zh} / {en}" for k, (zh, en) in NOT_CHECKED.items()},
        violations=violations,
    )


def _line_key(where: str) -> tuple[str, int]:
    file, _, line = where.rpartition(":")
    return (file, int(line)) if line.isdigit() else (where, 0)


def _data_graph(new: Graph, context: Graph | None) -> Graph:
    """An in-memory Oxigraph graph with the triples the shapes read (see the module docstring).

    Only the new projects are typed pk:Project, so only they are SHACL targets (pyshacl's own
    ``focus_nodes`` filter is quadratic); the stored ones are there to be counted."""
    store = ox.Store()
    default = ox.DefaultGraph()
    rdf_type, project = ox.NamedNode(str(RDF.type)), ox.NamedNode(str(PK.Project))
    quads = [ox.Quad(ox.NamedNode(str(s)), rdf_type, project, default) for s in new.subjects(RDF.type, PK.Project)]
    for g in (new, context) if context is not None else (new,):
        for p in CHECKED_PREDICATES:
            pn = ox.NamedNode(str(p))
            quads += [ox.Quad(ox.NamedNode(str(s)), pn, _ox(o), default) for s, o in g.subject_objects(p)]
    store.extend(quads)
    return Graph(store=OxigraphStore(store=store), identifier=DATASET_DEFAULT_GRAPH_ID)


def _ox(o: object) -> ox.NamedNode | ox.Literal:
    if isinstance(o, URIRef):
        return ox.NamedNode(str(o))
    assert isinstance(o, Lit)
    return ox.Literal(str(o), datatype=ox.NamedNode(str(o.datatype))) if o.datatype else ox.Literal(str(o))


def _violation(
    rule: RuleRef,
    node: URIRef,
    value: object,
    new: Graph,
    data: Graph,
    lines: dict[str, int],
    source: str | None,
) -> RuleViolation:
    pid = str(new.value(node, _DCTERMS_ID) or iri.gid(str(node)).split("/", 1)[1])
    where = f"{source}:{lines[pid]}" if source and pid in lines else f"project/{pid}"
    n, kind = rule.limit, rule.kind

    def label(o: Node) -> str:
        # the name this project gave (a coded unit's node may carry several spellings), and its code
        names = [str(new.value(m, PK.unitName)) for m in new.subjects(ORG.member, o) if str(m).startswith(f"{node}/")]
        code = new.value(o, PK.creditCode)
        return (names[0] if names else str(o)) + (f"（统一社会信用代码 {code}）" if code is not None else "")

    def count(p: URIRef) -> int:
        return len(set(data.objects(node, p)))

    found: str
    if kind == "lead_units":
        found = str(count(PK.leadUnit))
        zh, en = f"有 {found} 家牵头单位，规定为 {n} 家", f"has {found} lead units; the notice requires {n}"
    elif kind == "max_partners":
        found = str(count(PK.partner))
        zh = f"有 {found} 家联合单位，超过上限 {n} 家"
        en = f"has {found} partner units, more than the {n} allowed"
    elif kind == "no_single_enterprise":
        found = "0"
        zh, en = "没有联合单位（单一企业申报）", "has no partner unit (a single-enterprise application)"
    elif kind == "directions_per_project":
        dirs = sorted(int(str(d).rsplit("/", 1)[-1]) for d in data.objects(node, PK.direction))
        found = str(len(dirs))
        zh = f"选择了 {found} 个试点方向（{'、'.join(map(str, dirs))}），只可选择 {n} 个"
        en = f"chooses {found} pilot directions ({', '.join(map(str, dirs))}); only {n} allowed"
    elif kind == "max_projects_per_lead":
        found = str(value)
        lead = "、".join(sorted(label(o) for o in new.objects(node, PK.leadUnit)))
        batch, year = new.value(node, PK.batch), new.value(node, PK.year)
        zh = f"牵头单位 {lead} 在 {year} 年第 {batch} 批共申报 {found} 个项目，超过上限 {n} 个"
        en = f"lead unit {lead} has {found} projects in batch {batch} of {year}, more than the {n} allowed"
    elif kind == "max_recommended_per_direction_region":
        found = str(value)
        d = str(new.value(node, PK.direction)).rsplit("/", 1)[-1]
        region_node, year = new.value(node, PK.region), new.value(node, PK.year)
        region = region_named(str(region_node)).name if region_node is not None else "?"
        zh = f"{region} 在第 {d} 个方向推荐了 {found} 个项目（{year} 年），超过上限 {n} 个"
        en = f"{region} recommends {found} projects for direction {d} ({year}), more than the {n} allowed"
    else:  # deadline
        found = str(value)
        batch = new.value(node, PK.batch)
        by = f"（{rule.document_title}，适用于{rule.applies_to}）" if rule.applies_to else f"（{rule.document_title}）"
        by_en = f" ({rule.document_title}, for {rule.applies_to})" if rule.applies_to else f" ({rule.document_title})"
        zh = f"提交日期 {found} 晚于第 {batch} 批截止日期 {n}{by}"
        en = f"submitted {found}, after the batch {batch} deadline {n}{by_en}"
    limit = {"no_single_enterprise": "≥ 1", "lead_units": n, "directions_per_project": n}.get(kind, f"≤ {n}")
    return RuleViolation(
        rule=rule,
        project_id=pid,
        where=where,
        found=found,
        limit=limit,
        message_zh=f"项目 {pid}：{zh}",
        message_en=f"project {pid}: {en}",
    )


_DCTERMS_ID = URIRef("http://purl.org/dc/terms/identifier")
