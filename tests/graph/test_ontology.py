"""The ontology describes the data: every pilotkg property the policy and projects graphs use is
declared with a Chinese and an English label, a domain and a range; the standard classes the data claims
are stated; documents carry their numbers; 级 terms are never a bare value 1; English labels exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from pilotkg import iri
from pilotkg.graph import ontology_graph, validate
from pilotkg.graph.rdf import build_graph
from pilotkg.policy import Corpus, load_corpus
from pilotkg.projects import Enrichment
from pilotkg.projects.base import CoverageDetail
from pilotkg.projects.rdf import enrichment_graph, project_graph
from pilotkg.projects.submissions import read_projects

REPO = Path(__file__).resolve().parents[2]
PK = Namespace(iri.ONTOLOGY)
ELI = Namespace("http://data.europa.eu/eli/ontology#")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(REPO / "corpus")


@pytest.fixture(scope="module")
def policy(corpus: Corpus) -> Graph:
    return build_graph(corpus)


@pytest.fixture(scope="module")
def projects(corpus: Corpus) -> Graph:
    ps = read_projects(REPO / "tests" / "data" / "projects_clean.json").projects
    g = project_graph(ps, corpus)
    detail = CoverageDetail(stated="45分钟", evidence="报警响应时间45分钟。", start=0, end=11)
    for p in ps:
        e = Enrichment(
            matched_direction=8, confidence=0.5, statuses={"d08-r06": "violated"}, details={"d08-r06": detail}
        )
        enrichment_graph(p.id, e, corpus, into=g)
    return g


def test_every_used_property_is_declared_with_labels_domain_and_range(policy: Graph, projects: Graph) -> None:
    onto = ontology_graph()
    used = {p for g in (policy, projects) for p in g.predicates() if str(p).startswith(iri.ONTOLOGY)}
    declared = {p for p in used if (p, RDF.type, None) in onto}
    assert used - declared == set(), "used but not declared"
    incomplete = {}
    for p in sorted(used):
        langs = {o.language for o in onto.objects(p, RDFS.label) if isinstance(o, Literal)}
        missing = [
            what
            for what, ok in (
                ("label@zh", "zh" in langs),
                ("label@en", "en" in langs),
                ("domain", (p, RDFS.domain, None) in onto),
                ("range", (p, RDFS.range, None) in onto),
            )
            if not ok
        ]
        if missing:
            incomplete[str(p).removeprefix(iri.ONTOLOGY)] = missing
    assert incomplete == {}
    # the six the issue found undeclared in project data
    for name in ("owner", "year", "recommended", "businessModel", "matchConfidence", "unitType"):
        assert PK[name] in used and (PK[name], RDFS.range, None) in onto


def test_standard_classes_answer_without_inference(policy: Graph) -> None:
    docs = set(policy.subjects(RDF.type, PK.PolicyDocument))
    assert docs and docs <= set(policy.subjects(RDF.type, ELI.LegalResource))
    articles = set(policy.subjects(RDF.type, PK.Article))
    assert articles <= set(policy.subjects(RDF.type, ELI.LegalResourceSubdivision))
    assert articles <= set(policy.subjects(RDF.type, PROV.Entity))
    assert set(policy.subjects(RDF.type, PK.Requirement)) <= set(policy.subjects(RDF.type, PROV.Entity))
    assert len(set(policy.subjects(RDF.type, PROV.Activity))) == 1


def test_documents_are_identified_by_their_numbers(policy: Graph) -> None:
    notice = URIRef(iri.iri(iri.document("notice-2")))
    assert str(policy.value(notice, ELI.id_local)) == "工信厅联安全函〔2021〕11号"
    assert str(policy.value(notice, DCTERMS.identifier)) == "工信厅联安全函〔2021〕11号"
    forwarding = URIRef(iri.iri(iri.document("notice-1")))
    assert str(policy.value(forwarding, ELI.id_local)) == "兵工信安全〔2021〕10号"


def test_english_labels_for_groups_directions_articles_and_documents(policy: Graph, corpus: Corpus) -> None:
    def en(node: URIRef, pred: URIRef) -> list[str]:
        return [str(o) for o in policy.objects(node, pred) if isinstance(o, Literal) and o.language == "en"]

    for d in corpus.directions:
        assert len(en(URIRef(iri.iri(iri.direction(d.number))), SKOS.prefLabel)) == 1
    for gr in corpus.groups:
        assert len(en(URIRef(iri.iri(iri.group(gr.number))), SKOS.prefLabel)) == 1
    for a in corpus.articles:
        assert len(en(URIRef(iri.iri(iri.article(a.number))), RDFS.label)) == 1
    for doc in corpus.documents:
        assert len(en(URIRef(iri.iri(iri.document(doc.id))), DCTERMS.title)) == 1
    assert en(URIRef(iri.iri(iri.direction(8))), SKOS.prefLabel) == [
        "Forest and grassland fire monitoring and early-warning systems"
    ]


def test_a_stale_translation_is_not_copied(corpus: Corpus) -> None:
    # A revised guide renames direction 8: it keeps its Chinese name only, and the shapes warn.
    d8 = corpus.direction(8)
    renamed = corpus.model_copy(deep=True)
    renamed.directions[d8.number - 1].name = "森林草原火灾智能监测系统"
    g = build_graph(renamed)
    node = URIRef(iri.iri(iri.direction(8)))
    assert {o.language for o in g.objects(node, SKOS.prefLabel)} == {"zh"}  # type: ignore[union-attr]
    report = validate(g)
    assert report.conforms
    assert [(i.focus_node, i.severity) for i in report.issues] == [(str(node), "Warning")]


def test_order_of_magnitude_terms_have_no_bare_value(policy: Graph) -> None:
    levels = set(policy.subjects(PK.level, Literal(True)))
    assert levels  # 秒级, 毫米级, 亚分钟 in the 2021 guide
    for q in levels:
        assert policy.value(q, PK.value) is None
        assert policy.value(q, PK.orderOfMagnitude) is not None and policy.value(q, PK.high) is not None
    # and the shapes refuse one that has both
    g = Graph()
    g += policy
    q = next(iter(levels))
    g.add((q, PK.value, Literal("1", datatype=URIRef("http://www.w3.org/2001/XMLSchema#decimal"))))
    report = validate(g)
    assert not report.conforms and any(i.focus_node == str(q) for i in report.issues)
