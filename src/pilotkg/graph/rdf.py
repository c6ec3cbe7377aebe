"""The policy graph: typed corpus → RDF (pilotkg ontology), SHACL-validated, written to the store.

The graph is a pure function of the corpus text: same text → same triples, with IRIs minted by
:mod:`pilotkg.iri` and no blank nodes, so two builds can be compared triple by triple. Every extracted
resource points (``prov:wasDerivedFrom``) at a ``pk:TextSpan`` holding the exact source text and its
character offsets into the corpus file, and (``prov:wasGeneratedBy``) at the build activity, whose IRI
and ``pk:sha256`` name the corpus digest. No timestamps go into the graph (they would break
determinism); the build time is in :class:`BuildSummary`.

The vocabulary (namespaces, packaged ontology and shapes), SHACL validation and export live beside
it in :mod:`.vocabulary`, :mod:`.validation` and :mod:`.export`.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from pydantic import BaseModel
from rdflib import RDF, XSD, Graph, URIRef
from rdflib import Literal as Lit
from rdflib.namespace import DCTERMS, ORG, PROV, RDFS, SKOS

from pilotkg import iri
from pilotkg.errors import InputError, ShapeViolation
from pilotkg.graph.linkeddata import VOID, describe_dataset
from pilotkg.graph.validation import validate
from pilotkg.graph.vocabulary import (
    ELI,
    OA,
    PK,
    PREFIXES,
    UNIT,
    VCARD,
    add_standard_types,
    english_labels_graph,
    ontology_graph,
    regions_graph,
    thesaurus_graph,
)
from pilotkg.policy import UNITS, Corpus, Quantity, Requirement, Span, load_corpus, normalize_mapped

if TYPE_CHECKING:
    from pilotkg.settings import Settings


# pilotkg.policy.quantity unit codes → QUDT unit IRIs; codes without a QUDT twin get a pk: unit.
QUDT: dict[str, str] = {
    "millisecond": "MilliSEC",
    "second": "SEC",
    "minute": "MIN",
    "hour": "HR",
    "day": "DAY",
    "week": "WK",
    "month": "MO",
    "year": "YR",
    "nm": "NanoM",
    "um": "MicroM",
    "mm": "MilliM",
    "cm": "CentiM",
    "dm": "DeciM",
    "m": "M",
    "km": "KiloM",
    "percent": "PERCENT",
    "permille": "PERMILLE",
    "Hz": "HZ",
    "kHz": "KiloHZ",
    "per_minute": "PER-MIN",
    "per_hour": "PER-HR",
    "per_day": "PER-DAY",
    "s": "SEC",
    "%": "PERCENT",
}
REQUIREMENT_CLASS = {
    "capability": PK.CapabilityRequirement,
    "means": PK.MeansRequirement,
    "threshold": PK.ThresholdRequirement,
}
REQUIREMENT_KIND = {"capability": PK.Capability, "means": PK.Means, "threshold": PK.Threshold}
DOCUMENT_CLASS = {"notice": PK.Notice, "guide": PK.ImplementationGuide, "measures": PK.ManagementMeasures}
SHA_PREFIX = 12


def span_iri(sha256: str, start: int, end: int) -> str:
    """A text span's IRI: the corpus digest prefix keeps spans of different texts apart."""
    return iri.iri(iri.span(sha256, start, end))


def unit_iri(code: str) -> URIRef:
    return UNIT[QUDT[code]] if code in QUDT else URIRef(iri.unit(code))


def _dec(x: float) -> Lit:
    # repr() is the float's shortest exact form; written canonically ("30", not "30.0") so the store,
    # which keeps canonical forms, gives back exactly the bytes that went in
    return Lit(format(Decimal(repr(float(x))).normalize(), "f"), datatype=XSD.decimal)


class _Builder:
    def __init__(self, corpus: Corpus) -> None:
        self.c = corpus
        self.g = Graph()
        for prefix, ns in PREFIXES.items():
            self.g.bind(prefix, ns, override=True)
        self.source = URIRef(iri.iri(iri.reference_file(corpus.sha256)))
        self.activity = URIRef(iri.iri(iri.build_activity(corpus.sha256)))
        self.doc_ranges = [(d.span.start, d.span.end, URIRef(iri.iri(iri.document(d.id)))) for d in corpus.documents]

    def add(self, s: URIRef, p: URIRef, o: URIRef | Lit | None) -> None:
        if o is not None:
            self.g.add((s, p, o))

    def zh(self, text: str) -> Lit:
        return Lit(text, lang="zh")

    def span(self, sp: Span) -> URIRef:
        node = URIRef(span_iri(self.c.sha256, sp.start, sp.end))
        self.add(node, RDF.type, PK.TextSpan)
        self.add(node, OA.start, Lit(sp.start))
        self.add(node, OA.end, Lit(sp.end))
        self.add(node, OA.exact, Lit(sp.text))
        self.add(node, DCTERMS.source, self.source)
        for start, end, doc in self.doc_ranges:  # the policy document the span lies in
            if start <= sp.start and sp.end <= end and (start, end) != (sp.start, sp.end):
                self.add(node, DCTERMS.isPartOf, doc)
                break
        return node

    def extracted(self, node: URIRef, sp: Span) -> None:
        """Provenance every extracted resource carries: its source span and the build."""
        self.add(node, PROV.wasDerivedFrom, self.span(sp))
        self.add(node, PROV.wasGeneratedBy, self.activity)

    def run(self) -> Graph:
        self.g += ontology_graph()
        self.g += regions_graph()  # projects name regions by these IRIs; their labels are public
        self.g += thesaurus_graph()  # reviewers query the checker's vocabulary where the policy is
        self.provenance()
        self.documents()
        self.scheme()
        self.articles()
        self.rules()
        self.stages()
        self.translations()
        add_standard_types(self.g)
        self.dataset()
        return self.g

    def translations(self) -> None:
        """English labels of labels-en.ttl, each copied only onto the resource whose Chinese label is
        the one it translates (a revised guide keeps no stale translation)."""
        en = english_labels_graph()
        for s, p in sorted(set(en.subject_predicates())):
            zh = {o for o in en.objects(s, p) if isinstance(o, Lit) and o.language == "zh"}
            if zh and zh <= set(self.g.objects(s, p)):
                for o in en.objects(s, p):
                    if isinstance(o, Lit) and o.language == "en":
                        self.g.add((s, p, o))

    def dataset(self) -> None:
        """The VoID + DCAT description, last: its void:triples counts everything above."""
        c = self.c
        examples = [iri.direction(c.directions[0].number)] if c.directions else []
        examples += [iri.requirement(c.requirements[0].id)] if c.requirements else []
        examples += [iri.article(c.articles[0].number)] if c.articles else []
        describe_dataset(
            self.g,
            examples=[URIRef(iri.iri(e)) for e in examples],
            documents=[URIRef(iri.iri(iri.document(d.id))) for d in c.documents if d.parent is None],
            source_sha256=c.sha256,
        )

    def provenance(self) -> None:
        c, g = self.c, self.g
        g.add((self.source, RDF.type, PK.CorpusFile))
        g.add((self.source, DCTERMS.title, Lit(c.source)))
        g.add((self.source, PK.sha256, Lit(c.sha256)))
        g.add((self.activity, RDF.type, PK.BuildActivity))
        g.add((self.activity, RDFS.label, Lit(f"pilotkg build of {c.source} ({c.sha256[:SHA_PREFIX]})")))
        g.add((self.activity, PROV.used, self.source))
        g.add((self.activity, PK.sha256, Lit(c.sha256)))

    def documents(self) -> None:
        for d in self.c.documents:
            node = URIRef(iri.iri(iri.document(d.id)))
            self.add(node, RDF.type, PK.PolicyDocument)
            self.add(node, RDF.type, DOCUMENT_CLASS[d.kind])
            self.add(node, PK.documentKind, Lit(d.kind))
            # ELI's local identifier is the document's own: its number (文号) when it has one, else its title.
            self.add(node, ELI.id_local, Lit(d.doc_number or d.title))
            self.add(node, DCTERMS.title, self.zh(d.title))
            if d.doc_number:
                self.add(node, DCTERMS.identifier, Lit(d.doc_number))
            if d.year:
                self.add(node, DCTERMS.issued, Lit(str(d.year), datatype=XSD.gYear))
            if d.parent:
                self.add(node, DCTERMS.isPartOf, URIRef(iri.iri(iri.document(d.parent))))
            self.extracted(node, d.span)
            for a in d.agencies:
                org = URIRef(iri.iri(iri.organisation(a.name)))
                self.add(org, RDF.type, PK.Agency)
                self.add(org, RDF.type, ORG.Organization)
                self.add(org, SKOS.prefLabel, self.zh(a.name))
                self.add(node, DCTERMS.publisher, org)
                self.extracted(org, a.span)
            for dl in d.deadlines:
                dn = URIRef(f"{node}/deadline/{dl.batch}")
                self.add(dn, RDF.type, PK.Deadline)
                self.add(dn, PK.batch, Lit(dl.batch))
                self.add(dn, DCTERMS.date, Lit(dl.date))
                self.add(node, PK.deadline, dn)
                self.extracted(dn, dl.span)
            for i, ct in enumerate(d.contacts, start=1):
                cn = URIRef(f"{node}/contact/{i}")
                self.add(cn, RDF.type, PK.Contact)
                self.add(cn, VCARD.fn, self.zh(ct.name))
                self.add(cn, VCARD["organization-name"], self.zh(ct.organisation))
                self.add(cn, VCARD.hasTelephone, URIRef("tel:" + quote(ct.phone, safe="-")))
                self.add(node, PK.contact, cn)
                self.extracted(cn, ct.span)
        if self.c.validity is not None and (measures := self._doc_of_kind("measures")) is not None:
            self.add(measures, PK.validity, self.quantity(URIRef(f"{measures}/validity"), self.c.validity, None))

    def _doc_of_kind(self, kind: str) -> URIRef | None:
        d = next((d for d in self.c.documents if d.kind == kind), None)
        return URIRef(iri.iri(iri.document(d.id))) if d else None

    def scheme(self) -> None:
        scheme = URIRef(iri.iri(iri.scheme()))
        guide = self._doc_of_kind("guide")
        self.add(scheme, RDF.type, SKOS.ConceptScheme)
        self.add(scheme, RDF.type, PK.DirectionScheme)
        self.add(scheme, SKOS.prefLabel, self.zh("安全应急装备应用试点示范方向"))
        self.add(scheme, DCTERMS.source, guide)
        for gr in self.c.groups:
            node = URIRef(iri.iri(iri.group(gr.number)))
            self.add(node, RDF.type, SKOS.Concept)
            self.add(node, RDF.type, PK.DirectionGroup)
            self.add(node, SKOS.prefLabel, self.zh(gr.name))
            self.add(node, SKOS.notation, Lit(gr.number))
            self.add(node, PK.numberLabel, Lit(gr.label))
            self.add(node, SKOS.inScheme, scheme)
            self.add(node, SKOS.topConceptOf, scheme)
            self.add(scheme, SKOS.hasTopConcept, node)
            self.extracted(node, gr.span)
        for d in self.c.directions:
            node = URIRef(iri.iri(iri.direction(d.number)))
            group = URIRef(iri.iri(iri.group(d.group)))
            self.add(node, RDF.type, SKOS.Concept)
            self.add(node, RDF.type, PK.Direction)
            self.add(node, SKOS.prefLabel, self.zh(d.name))
            self.add(node, SKOS.notation, Lit(d.number))
            self.add(node, PK.numberLabel, Lit(d.label))
            self.add(node, SKOS.inScheme, scheme)
            self.add(node, SKOS.broader, group)
            self.add(group, SKOS.narrower, node)
            self.extracted(node, d.span)
            if d.effect:
                self.add(node, PK.effectText, self.span(d.effect))
            if d.demand:
                self.add(node, PK.demandText, self.span(d.demand))
            for r in d.requirements:
                self.requirement(node, r)

    def requirement(self, direction: URIRef, r: Requirement) -> None:
        node = URIRef(iri.iri(iri.requirement(r.id)))
        self.add(node, RDF.type, PK.Requirement)
        self.add(node, RDF.type, REQUIREMENT_CLASS[r.kind])
        self.add(node, PK.requirementKind, REQUIREMENT_KIND[r.kind])
        self.add(node, PK.section, PK.Effect if r.section == "effect" else PK.Demand)
        self.add(node, PK.text, self.zh(r.written))  # as the corpus writes it; matching uses r.text
        self.add(node, DCTERMS.identifier, Lit(r.id))
        self.add(node, PK.direction, direction)
        self.add(direction, PK.hasRequirement, node)
        self.extracted(node, r.span)
        for m in r.means:
            self.add(node, PK.means, self.zh(m))
        if r.quantity is not None:
            self.add(node, PK.quantity, self.quantity(URIRef(f"{node}/quantity"), r.quantity, _quantity_span(r)))

    def quantity(self, node: URIRef, q: Quantity, sp: Span | None) -> URIRef:
        add_quantity(self.g, node, q)
        if sp is not None:
            self.extracted(node, sp)
        return node

    def articles(self) -> None:
        doc = self._doc_of_kind("measures")
        for a in self.c.articles:
            node = URIRef(iri.iri(iri.article(a.number)))
            self.add(node, RDF.type, PK.Article)
            self.add(node, RDF.type, ELI.LegalResourceSubdivision)
            self.add(node, ELI.number, Lit(str(a.number)))
            self.add(node, PK.order, Lit(a.number))
            self.add(node, PK.numberLabel, Lit(a.label))
            self.add(node, RDFS.label, self.zh(a.label))
            self.add(node, PK.text, self.zh(a.display))
            self.add(node, ELI.is_part_of, doc)
            self.add(node, DCTERMS.isPartOf, doc)
            self.extracted(node, a.span)
            for i, item in enumerate(a.items, start=1):
                it = URIRef(f"{node}/item/{i}")
                self.add(it, RDF.type, PK.ArticleItem)
                self.add(it, PK.order, Lit(i))
                self.add(it, PK.numberLabel, Lit(item.label))
                self.add(it, RDFS.label, self.zh(item.title))
                self.add(it, ELI.is_part_of, node)
                self.extracted(it, item.span)

    def rules(self) -> None:
        for r in self.c.rules:
            node = URIRef(iri.iri(iri.rule(r.id)))
            self.add(node, RDF.type, PK.EligibilityRule)
            self.add(node, PK.ruleKind, Lit(r.kind))
            if r.value is not None:
                self.add(node, PK.limit, Lit(r.value))
            for v in r.values:
                self.add(node, PK.listedValue, self.zh(v))
            self.add(node, PK.clause, self.zh(r.clause))
            self.add(node, PK.statedIn, URIRef(iri.iri(iri.document(r.document))))
            self.extracted(node, r.span)

    def stages(self) -> None:
        for st in self.c.stages:
            node = URIRef(iri.iri(iri.stage(st.order)))
            self.add(node, RDF.type, PK.Stage)
            self.add(node, PK.order, Lit(st.order))
            self.add(node, RDFS.label, self.zh(st.name))
            if st.outcome:
                self.add(node, PK.outcome, self.zh(st.outcome))
            self.add(node, PK.article, URIRef(iri.iri(iri.article(st.article))))
            if st.duration is not None:
                self.add(node, PK.duration, self.quantity(URIRef(f"{node}/duration"), st.duration, None))
            self.extracted(node, st.span)


def add_quantity(g: Graph, node: URIRef, q: Quantity) -> URIRef:
    """A quantity as triples. An order-of-magnitude term (秒级, 毫米级, 亚分钟) is an interval (pk:low /
    pk:high in base units) with pk:orderOfMagnitude naming its unit, and has no pk:value: the parser's
    nominal value 1 would read as "1 second" to anyone selecting ?value."""
    g.add((node, RDF.type, PK.Quantity))
    g.add((node, PK.comparator, PK[q.comparator]))
    if q.level:
        g.add((node, PK.orderOfMagnitude, unit_iri(q.unit)))
    else:
        g.add((node, PK.value, _dec(q.value)))
    g.add((node, PK.unit, unit_iri(q.unit)))
    g.add((node, PK.unitCode, Lit(q.unit)))
    g.add((node, PK.unitSymbol, Lit(UNITS[q.unit][3] if q.unit in UNITS else q.unit, lang="zh")))
    g.add((node, PK.baseUnit, unit_iri(q.base_unit)))
    g.add((node, PK.dimension, Lit(q.dimension)))
    if q.low is not None:
        g.add((node, PK.low, _dec(q.low)))
        g.add((node, PK.lowInclusive, Lit(q.low_inclusive)))
    if q.high is not None:
        g.add((node, PK.high, _dec(q.high)))
        g.add((node, PK.highInclusive, Lit(q.high_inclusive)))
    g.add((node, PK.level, Lit(q.level)))
    g.add((node, RDFS.label, Lit(q.describe_zh(), lang="zh")))
    return node


def _quantity_span(r: Requirement) -> Span | None:
    """The quantity's own span in the corpus, when its offsets (into the normalised requirement text)
    map back unambiguously; otherwise the quantity shares the requirement's span."""
    q = r.quantity
    if q is None:
        return None
    m = normalize_mapped(r.span.text)
    if m.text == r.text and q.end <= len(m.text):
        s, e = m.span(q.start, q.end)
    elif r.span.text.count(q.text) == 1:
        s = r.span.text.find(q.text)
        e = s + len(q.text)
    else:
        return r.span
    return Span(source=r.span.source, start=r.span.start + s, end=r.span.start + e, text=r.span.text[s:e])


def build_graph(corpus: Corpus) -> Graph:
    """The policy graph (ontology included, so the endpoint describes its own vocabulary)."""
    return _Builder(corpus).run()


# --- the 2023–2025 action plan: a second, small concept scheme and its cross-walk -------------------

SCENARIO_TABLE = Path("reference") / "action-plan-2023-scenarios.tsv"
SCENARIO_TABLE_HEADER = ("no", "scenario")


class ScenarioRow(BaseModel):
    number: int
    label_zh: str
    span: Span  # the label's exact text and offsets in the table file


def read_scenario_table(path: Path) -> list[ScenarioRow]:
    """The action plan's scenarios (``no<TAB>scenario`` per line, a header first) as typed rows."""
    raw = path.read_text(encoding="utf-8")
    rows: list[ScenarioRow] = []
    offset = 0
    for lineno, line in enumerate(raw.splitlines(keepends=True), start=1):
        start, offset = offset, offset + len(line)
        content = line.rstrip("\r\n")
        if not content.strip():
            continue
        cells = content.split("\t")
        where = f"{path.name}:{lineno}"
        if lineno == 1:
            if tuple(c.strip() for c in cells) != SCENARIO_TABLE_HEADER:
                raise InputError(
                    f"expected the header 'no<TAB>scenario', found {content!r}",
                    f"表头应为“no<TAB>scenario”，实际为 {content!r}",
                    where,
                )
            continue
        if len(cells) != 2 or not cells[0].strip().isdigit() or not cells[1].strip():
            raise InputError(
                f"expected '<number><TAB><scenario name>', found {content!r}",
                f"应为“序号<TAB>场景名称”，实际为 {content!r}",
                where,
            )
        label = cells[1].strip()
        label_start = start + len(cells[0]) + 1 + (len(cells[1]) - len(cells[1].lstrip()))
        rows.append(
            ScenarioRow(
                number=int(cells[0]),
                label_zh=label,
                span=Span(source=path.name, start=label_start, end=label_start + len(label), text=label),
            )
        )
    numbers = [r.number for r in rows]
    if not rows or len(set(numbers)) != len(numbers):
        raise InputError("the scenario table is empty or repeats a number", "场景表为空或序号重复", f"{path.name}:1")
    return rows


def action_plan_graph(corpus_dir: Path) -> Graph | None:
    """The action plan's scenario scheme and the reviewed cross-walk to the directions.

    The scenarios (number, zh name, source span) come from the reference table in the corpus folder,
    so the same ``pilotkg build`` builds them; the document, English names, descriptions and the
    cross-walk are data in ``ontology/``. A corpus without the table (a variant guide) has no
    scenarios: None."""
    path = corpus_dir / SCENARIO_TABLE
    if not path.is_file():
        return None
    rows = read_scenario_table(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    g = Graph()
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns, override=True)
    source = URIRef(iri.iri(iri.reference_file(digest)))
    activity = URIRef(iri.iri(iri.build_activity(digest)))
    g.add((source, RDF.type, PK.CorpusFile))
    g.add((source, DCTERMS.title, Lit(f"{SCENARIO_TABLE.parent.name}/{path.name}")))
    g.add((source, PK.sha256, Lit(digest)))
    g.add((activity, RDF.type, PK.BuildActivity))
    g.add((activity, RDFS.label, Lit(f"pilotkg build of {path.name} ({digest[:SHA_PREFIX]})")))
    g.add((activity, PROV.used, source))
    g.add((activity, PK.sha256, Lit(digest)))
    scheme = URIRef(iri.iri(iri.scenario_scheme()))
    for r in rows:
        node = URIRef(iri.iri(iri.scenario(r.number)))
        span = URIRef(iri.iri(iri.reference_span(digest, r.span.start, r.span.end)))
        g.add((span, RDF.type, PK.TextSpan))
        g.add((span, OA.start, Lit(r.span.start)))
        g.add((span, OA.end, Lit(r.span.end)))
        g.add((span, OA.exact, Lit(r.span.text)))
        g.add((span, DCTERMS.source, source))
        g.add((node, RDF.type, SKOS.Concept))
        g.add((node, RDF.type, PK.Scenario))
        g.add((node, SKOS.prefLabel, Lit(r.label_zh, lang="zh")))
        g.add((node, SKOS.notation, Lit(r.number)))
        g.add((node, SKOS.inScheme, scheme))
        g.add((node, SKOS.topConceptOf, scheme))
        g.add((scheme, SKOS.hasTopConcept, node))
        g.add((node, PROV.wasDerivedFrom, span))
        g.add((node, PROV.wasGeneratedBy, activity))
    g += ontology_graph("action-plan-2023.ttl")
    g += ontology_graph("crosswalk-2023.ttl")
    return g


def build_policy_graph(corpus: Corpus, corpus_dir: Path) -> Graph:
    """What ``pilotkg build`` writes and ``pilotkg validate`` checks: the corpus's policy graph plus,
    when the corpus folder has the scenario table, the action plan and its cross-walk."""
    g = build_graph(corpus)
    if (plan := action_plan_graph(corpus_dir)) is not None:
        add_standard_types(plan)  # its spans and build activity are prov: typed like the policy's
        g += plan
        # the dataset description counts what is stored: the action plan too (the count replaces itself)
        dataset = URIRef(iri.iri(iri.dataset()))
        g.set((dataset, VOID.triples, Lit(len(g), datatype=XSD.integer)))
    return g


# --- build -----------------------------------------------------------------------------------------


class BuildSummary(BaseModel):
    corpus_source: str
    corpus_sha256: str
    documents: int
    groups: int
    directions: int
    requirements: dict[str, int]  # kind → count
    articles: int
    rules: int
    stages: int
    scenarios: int = 0  # of the 2023–2025 action plan (0 when the corpus has no reference table)
    triples: int
    store: str
    seconds: float
    timings: dict[str, float]  # parse / graph / validate / store


def build(settings: Settings, progress: Callable[[str], None] | None = None) -> BuildSummary:
    """Parse the corpus, build and validate the policy graph, replace POLICY_GRAPH in the store."""
    from pilotkg.graph.store import open_store

    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    corpus = load_corpus(settings.corpus_dir, progress)
    t1 = time.perf_counter()
    say("building graph / 构建图谱")
    g = build_policy_graph(corpus, settings.corpus_dir)
    t2 = time.perf_counter()
    say("validating (SHACL) / 校验约束")
    report = validate(g)
    if not report.conforms:
        raise ShapeViolation(
            f"policy graph does not conform to the shapes ({len(report.issues)} results)",
            f"政策图谱不符合 SHACL 约束（{len(report.issues)} 条）",
            where=report.issues[0].focus_node if report.issues else None,
            report=report,
        )
    t3 = time.perf_counter()
    say("writing store / 写入存储")
    store = open_store(settings)
    try:
        store.replace_graph(iri.POLICY_GRAPH, g)
        location = store.location
    finally:
        store.close()
    t4 = time.perf_counter()
    return BuildSummary(
        corpus_source=corpus.source,
        corpus_sha256=corpus.sha256,
        documents=len(corpus.documents),
        groups=len(corpus.groups),
        directions=len(corpus.directions),
        requirements=dict(sorted(Counter(r.kind for r in corpus.requirements).items())),
        articles=len(corpus.articles),
        rules=len(corpus.rules),
        stages=len(corpus.stages),
        scenarios=len(set(g.subjects(RDF.type, PK.Scenario))),
        triples=len(g),
        store=location,
        seconds=round(t4 - t0, 3),
        timings={
            k: round(v, 3)
            for k, v in {"parse": t1 - t0, "graph": t2 - t1, "validate": t3 - t2, "store": t4 - t3}.items()
        },
    )
