"""The policy graph: determinism, SHACL conformance (and located failures), provenance, build, export."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDF, BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from pilotkg import iri
from pilotkg.errors import ShapeViolation
from pilotkg.graph import rdf as graph_mod
from pilotkg.graph.export import canonical_ntriples, export
from pilotkg.graph.rdf import build, build_graph, build_policy_graph, span_iri
from pilotkg.graph.store import open_store
from pilotkg.graph.validation import validate
from pilotkg.graph.vocabulary import PK
from pilotkg.policy.base import Corpus
from pilotkg.policy.corpus import load_corpus
from pilotkg.settings import Settings

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
OA = Namespace("http://www.w3.org/ns/oa#")
PROV = Namespace("http://www.w3.org/ns/prov#")
RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="module")
def policy(corpus: Corpus) -> Graph:
    return build_graph(corpus)


@pytest.fixture(scope="module")
def raw() -> str:
    return next(CORPUS_DIR.glob("*.txt")).read_text(encoding="utf-8")


def node(gid: str) -> URIRef:
    return URIRef(iri.iri(gid))


def copy(g: Graph) -> Graph:
    out = Graph()
    for t in g:
        out.add(t)
    return out


# --- determinism -------------------------------------------------------------------------------------


def test_build_twice_is_isomorphic_and_byte_identical(policy: Graph) -> None:
    again = build_graph(load_corpus(CORPUS_DIR))
    assert isomorphic(policy, again)
    assert canonical_ntriples(policy) == canonical_ntriples(again)
    assert not any(isinstance(t, BNode) for triple in policy for t in triple)


def test_build_is_identical_in_another_process(policy: Graph) -> None:
    code = (
        "import hashlib, sys; from pathlib import Path\n"
        "from pilotkg.policy.corpus import load_corpus\n"
        "from pilotkg.graph import build_graph, canonical_ntriples, export\n"
        f"g = build_graph(load_corpus(Path({str(CORPUS_DIR)!r})))\n"
        "print(hashlib.sha256(canonical_ntriples(g)).hexdigest())\n"
        "print(hashlib.sha256(export(g, 'turtle')).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    nt_digest, ttl_digest = proc.stdout.split()
    assert nt_digest == hashlib.sha256(canonical_ntriples(policy)).hexdigest()
    assert ttl_digest == hashlib.sha256(export(policy, "turtle")).hexdigest()


# --- shapes ------------------------------------------------------------------------------------------


def test_policy_graph_conforms(policy: Graph) -> None:
    report = validate(policy)
    assert report.conforms, report.summary()
    assert report.issues == []


def test_direction_without_requirement_fails_with_located_report(policy: Graph) -> None:
    g = copy(policy)
    g.remove((node("direction/8"), PK.hasRequirement, None))
    report = validate(g)
    assert not report.conforms
    located = [r for r in report.issues if r.focus_node == iri.iri("direction/8") and r.path == "pk:hasRequirement"]
    assert len(located) == 1, report.summary()
    assert located[0].severity == "Violation"
    assert "requirement" in located[0].message and "要求" in located[0].message
    assert "direction/8" in report.summary()


def test_threshold_without_unit_fails(policy: Graph) -> None:
    g = copy(policy)
    quantity = URIRef(iri.iri("requirement/d08-r06") + "/quantity")
    g.remove((quantity, PK.unit, None))
    report = validate(g)
    assert not report.conforms
    assert any(r.focus_node == str(quantity) and r.path == "pk:unit" for r in report.issues), report.summary()


def test_span_offsets_must_be_ordered(policy: Graph, corpus: Corpus) -> None:
    g = copy(policy)
    sp = corpus.direction(8).requirements[0].span
    span = URIRef(span_iri(corpus.sha256, sp.start, sp.end))
    g.set((span, OA.start, Literal(sp.end + 5)))
    report = validate(g)
    assert any(r.focus_node == str(span) and r.path == "oa:start" for r in report.issues), report.summary()


def test_requirement_without_source_text_fails(policy: Graph, corpus: Corpus) -> None:
    g = copy(policy)
    req = node("requirement/d08-r01")
    g.remove((req, PROV.wasDerivedFrom, None))
    report = validate(g)
    paths = {r.path for r in report.issues if r.focus_node == str(req)}
    assert {"prov:wasDerivedFrom", "prov:wasDerivedFrom/oa:exact", "prov:wasDerivedFrom/oa:start"} <= paths


# --- content and provenance --------------------------------------------------------------------------


def test_scheme_counts_come_from_the_text(policy: Graph, corpus: Corpus) -> None:
    assert len(set(policy.subjects(RDF.type, PK.Direction))) == len(corpus.directions) == 16
    assert len(set(policy.subjects(RDF.type, PK.DirectionGroup))) == 4
    assert len(set(policy.subjects(RDF.type, PK.Article))) == 19
    assert len(set(policy.subjects(RDF.type, PK.Requirement))) == len(corpus.requirements)
    assert len(set(policy.subjects(RDF.type, PK.ThresholdRequirement))) == 4


def test_every_span_is_the_exact_corpus_text(policy: Graph, raw: str) -> None:
    spans = set(policy.subjects(RDF.type, PK.TextSpan))
    assert len(spans) > 200
    for sp in spans:
        start, end = int(policy.value(sp, OA.start)), int(policy.value(sp, OA.end))
        assert raw[start:end] == str(policy.value(sp, OA.exact)), sp


def test_spans_name_the_document_they_lie_in(policy: Graph, corpus: Corpus) -> None:
    is_part_of = URIRef("http://purl.org/dc/terms/isPartOf")
    guide = node("document/guide")
    for r in corpus.requirements:
        span = URIRef(span_iri(corpus.sha256, r.span.start, r.span.end))
        assert policy.value(span, is_part_of) == guide, r.id
    article_span = policy.value(node("article/12"), PROV.wasDerivedFrom)
    assert policy.value(article_span, is_part_of) == node("document/measures")


def test_threshold_quantity_has_its_own_span_and_qudt_unit(policy: Graph) -> None:
    q = URIRef(iri.iri("requirement/d08-r06") + "/quantity")
    assert policy.value(q, PK.comparator) == PK.lt
    assert float(policy.value(q, PK.value)) == 30
    assert str(policy.value(q, PK.unit)) == "http://qudt.org/vocab/unit/MIN"
    span = policy.value(q, PROV.wasDerivedFrom)
    assert str(policy.value(span, OA.exact)) == "少于30分钟"


def test_every_extracted_resource_points_to_the_build(policy: Graph, corpus: Corpus) -> None:
    activity = node(f"build/{corpus.sha256[:12]}")
    assert str(policy.value(activity, PK.sha256)) == corpus.sha256
    derived = set(policy.subjects(PROV.wasDerivedFrom, None))
    assert derived and all((s, PROV.wasGeneratedBy, activity) in policy for s in derived)


def test_ontology_terms_have_zh_and_en_labels() -> None:
    onto = graph_mod.ontology_graph()
    terms = {s for s in onto.subjects(RDF.type, None) if str(s).startswith(iri.ONTOLOGY)}
    assert len(terms) > 60
    for t in terms:
        langs = {lit.language for lit in onto.objects(t, RDFS_LABEL)}
        assert {"zh", "en"} <= langs, t


# --- build into the store ----------------------------------------------------------------------------


class Built:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.messages: list[str] = []
        self.summary = build(settings, self.messages.append)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(Settings(corpus_dir=CORPUS_DIR, data_dir=tmp_path_factory.mktemp("data"), sparql_query_url=None))


def test_build_writes_the_store_and_summarises(built: Built, corpus: Corpus) -> None:
    summary = built.summary
    assert (summary.groups, summary.directions, summary.articles) == (4, 16, 19)
    assert summary.requirements["threshold"] == 4
    assert sum(summary.requirements.values()) == len(corpus.requirements)
    assert summary.corpus_sha256 == corpus.sha256 and summary.store == str(built.settings.store_dir)
    assert set(summary.timings) == {"parse", "graph", "validate", "store"} and summary.seconds > 0
    assert built.messages
    store = open_store(built.settings, read_only=True)
    try:
        assert store.triple_count(iri.POLICY_GRAPH) == summary.triples
    finally:
        store.close()


def test_requirement_offsets_read_back_from_the_store(built: Built, corpus: Corpus, raw: str) -> None:
    store = open_store(built.settings, read_only=True)
    try:
        res = store.query(
            """PREFIX pk: <https://w3id.org/pilotkg/def#> PREFIX prov: <http://www.w3.org/ns/prov#>
               PREFIX oa: <http://www.w3.org/ns/oa#>
               SELECT ?r ?start ?end ?exact WHERE {
                 ?r a pk:Requirement ; prov:wasDerivedFrom ?s .
                 ?s oa:start ?start ; oa:end ?end ; oa:exact ?exact }""",
            named_graphs=[iri.POLICY_GRAPH],
        )
    finally:
        store.close()
    assert len(res.rows) == len(corpus.requirements)
    for row in res.rows:
        start, end = int(row["start"].value), int(row["end"].value)
        assert row["start"].datatype == "http://www.w3.org/2001/XMLSchema#integer"
        assert raw[start:end] == row["exact"].value, row["r"].value


def test_build_refuses_a_non_conforming_graph_and_keeps_the_old_one(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = built.summary.triples

    def broken(corpus: Corpus) -> Graph:
        g = build_graph(corpus)
        g.remove((node("direction/3"), PK.hasRequirement, None))
        return g

    monkeypatch.setattr(graph_mod, "build_graph", broken)
    with pytest.raises(ShapeViolation) as err:
        build(built.settings)
    assert err.value.report is not None and not err.value.report.conforms
    assert err.value.where == iri.iri("direction/3")
    store = open_store(built.settings, read_only=True)
    try:
        assert store.triple_count(iri.POLICY_GRAPH) == before
    finally:
        store.close()


# --- export ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "rdflib_format"), [("turtle", "turtle"), ("jsonld", "json-ld"), ("ntriples", "nt")])
def test_export_parses_back_to_the_same_triples(corpus: Corpus, built: Built, fmt: str, rdflib_format: str) -> None:
    policy = build_policy_graph(corpus, CORPUS_DIR)  # what the build stored: with the action plan
    data = export(policy, fmt)  # type: ignore[arg-type]
    back = Graph().parse(data=data, format=rdflib_format)
    assert len(back) == len(policy)
    assert isomorphic(back, policy)
    store = open_store(built.settings, read_only=True)
    try:
        assert export(store, fmt) == data  # type: ignore[arg-type]
    finally:
        store.close()
    if fmt == "jsonld":
        assert isinstance(json.loads(data), (list, dict))
