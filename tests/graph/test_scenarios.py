"""The 2023–2025 action plan in the graph: the scenario scheme built from corpus/reference, the reviewed
cross-walk, their SHACL shapes and the example queries (run on a store built by ``pilotkg build``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from pilotkg import iri
from pilotkg.errors import InputError, ShapeViolation
from pilotkg.graph import (
    PK,
    ValidationReport,
    action_plan_graph,
    build,
    build_policy_graph,
    example_query,
    read_scenario_table,
    run_query,
    validate,
)
from pilotkg.graph.store import GraphStore, QueryResult, open_store
from pilotkg.policy import Corpus, load_corpus
from pilotkg.settings import Settings

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
TABLE = CORPUS_DIR / "reference" / "action-plan-2023-scenarios.tsv"
UNCOVERED = {3: "城市内涝灾害", 4: "冰雪灾害", 6: "城市特殊场景火灾", 9: "紧急生命救护", 10: "家庭应急"}


def node(gid: str) -> URIRef:
    return URIRef(iri.iri(gid))


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(CORPUS_DIR)


@pytest.fixture(scope="module")
def full(corpus: Corpus) -> Graph:
    return build_policy_graph(corpus, CORPUS_DIR)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    settings = Settings(corpus_dir=CORPUS_DIR, data_dir=tmp_path_factory.mktemp("data"), sparql_query_url=None)
    summary = build(settings)
    assert summary.scenarios == 10
    s = open_store(settings, read_only=True)
    yield s
    s.close()


def run(store: GraphStore, name: str) -> QueryResult:
    return run_query(store, example_query(name).text, timeout_s=10, allowed_graphs=[iri.POLICY_GRAPH])


def corpus_copy(tmp_path: Path, table: str | None) -> Path:
    """A corpus folder with the real policy text and, optionally, another scenario table."""
    d = tmp_path / "corpus"
    (d / "reference").mkdir(parents=True)
    for f in CORPUS_DIR.glob("*.txt"):
        shutil.copy(f, d / f.name)
    if table is not None:
        (d / "reference" / TABLE.name).write_text(table, encoding="utf-8")
    return d


# --- the scheme, from the reference table -------------------------------------------------------------


def test_the_table_is_read_with_exact_spans() -> None:
    rows = read_scenario_table(TABLE)
    raw = TABLE.read_text(encoding="utf-8")
    assert [r.number for r in rows] == list(range(1, 11))
    assert rows[2].label_zh == "城市内涝灾害" and rows[9].label_zh == "家庭应急"
    for r in rows:
        assert raw[r.span.start : r.span.end] == r.label_zh


@pytest.mark.parametrize(
    ("table", "line"),
    [
        ("id\tname\n1\t地震和地质灾害\n", 1),
        ("no\tscenario\n1\t地震和地质灾害\nx\t洪水灾害\n", 3),
        ("no\tscenario\n1\t地震和地质灾害\n2\n", 3),
    ],
)
def test_a_malformed_table_says_where(tmp_path: Path, table: str, line: int) -> None:
    path = tmp_path / TABLE.name
    path.write_text(table, encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_scenario_table(path)
    assert err.value.where == f"{TABLE.name}:{line}" and err.value.message_zh != err.value.message_en


def test_no_table_no_scenarios(tmp_path: Path) -> None:
    assert action_plan_graph(corpus_copy(tmp_path, None)) is None


def test_scheme_document_and_scenarios(full: Graph) -> None:
    scenarios = set(full.subjects(RDF.type, PK.Scenario))
    assert scenarios == {node(iri.scenario(n)) for n in range(1, 11)}
    scheme = node(iri.scenario_scheme())
    assert set(full.objects(scheme, SKOS.hasTopConcept)) == scenarios
    doc = node(iri.action_plan())
    assert full.value(doc, DCTERMS.identifier) == Literal("工信部联安全〔2023〕166号")
    assert str(full.value(doc, DCTERMS.issued)) == "2023-09-22"
    publishers = {str(full.value(o, SKOS.prefLabel)) for o in full.objects(doc, DCTERMS.publisher)}
    assert publishers == {"工业和信息化部", "国家发展改革委", "科技部", "财政部", "应急管理部"}
    # the ttl's hand-written IRIs are the ones pilotkg.iri mints
    assert set(full.objects(doc, DCTERMS.publisher)) == {node(iri.organisation(p)) for p in publishers}
    for s in scenarios:
        langs = {o.language for o in full.objects(s, SKOS.prefLabel) if isinstance(o, Literal)}
        assert langs == {"zh", "en"}
        assert any(o.language == "zh" for o in full.objects(s, SKOS.definition) if isinstance(o, Literal))


def test_every_mapping_node_is_named_by_iri_and_justified(full: Graph) -> None:
    mappings = set(full.subjects(RDF.type, PK.ScenarioMapping))
    assert len(mappings) == 16
    for m in mappings:
        d = int(str(full.value(full.value(m, RDF.subject), SKOS.notation)))
        s = int(str(full.value(full.value(m, RDF.object), SKOS.notation)))
        assert m == node(iri.crosswalk(d, s))
        assert (full.value(m, RDF.subject), full.value(m, RDF.predicate), full.value(m, RDF.object)) in full


def test_the_whole_graph_conforms(full: Graph) -> None:
    report = validate(full)
    assert report.conforms, report.summary()


# --- the shapes catch a broken scheme or cross-walk ----------------------------------------------------


def test_a_renamed_table_row_fails_the_build(tmp_path: Path) -> None:
    # 3 renamed: the table and the descriptions in action-plan-2023.ttl no longer agree
    table = TABLE.read_text(encoding="utf-8").replace("城市内涝灾害", "城市排涝")
    settings = Settings(corpus_dir=corpus_copy(tmp_path, table), data_dir=tmp_path / "data", sparql_query_url=None)
    with pytest.raises(ShapeViolation) as err:
        build(settings)
    report = err.value.report
    assert isinstance(report, ValidationReport)
    assert any(i.focus_node.endswith("scenario/3") and i.path == "skos:prefLabel" for i in report.issues)


def _issues(g: Graph) -> list[str]:
    report = validate(g)
    assert not report.conforms
    return [f"{i.focus_node} {i.message}" for i in report.issues]


def test_shapes_catch_an_unjustified_or_unasserted_mapping(full: Graph) -> None:
    g = Graph()
    for t in full:
        g.add(t)
    g.remove((node(iri.crosswalk(8, 5)), SKOS.scopeNote, None))  # no justification
    g.add((node(iri.direction(14)), SKOS.closeMatch, node(iri.scenario(4))))  # no statement for it
    g.remove((node(iri.direction(12)), SKOS.relatedMatch, node(iri.scenario(3))))  # statement not asserted
    g.add((node(iri.crosswalk(1, 8)), RDF.predicate, SKOS.exactMatch))  # a second, other relation
    issues = _issues(g)
    assert any("crosswalk/d08-s05" in i and "scopeNote" in i for i in issues)
    assert any("direction/14" in i and "justification" in i for i in issues)
    assert any("crosswalk/d12-s03" in i and "not asserted" in i for i in issues)
    assert any("crosswalk/d01-s08" in i and "closeMatch" in i for i in issues)


# --- the example queries, on the built store -------------------------------------------------------------


def test_the_ten_scenarios_with_their_mappings(store: GraphStore) -> None:
    res = run(store, "scenario-mappings")
    by_number: dict[int, list[tuple[str, int]]] = {}
    for r in res.rows:
        maps = by_number.setdefault(int(r["number"].value), [])
        if "relation" in r:
            maps.append((r["relation"].value, int(r["direction"].value)))
    assert sorted(by_number) == list(range(1, 11))
    assert by_number[5] == [("broadMatch", 8), ("broadMatch", 9)]
    assert by_number[2] == [("closeMatch", 12)]
    assert by_number[4] == []  # 冰雪灾害: nothing in the 2021 guide
    covered = {n for n, maps in by_number.items() if any(rel != "relatedMatch" for rel, _ in maps)}
    assert covered == {1, 2, 5, 7, 8}


def test_directions_related_to_urban_waterlogging(store: GraphStore) -> None:
    res = run(store, "scenario-directions-waterlogging")
    assert [(int(r["number"].value), r["relation"].value) for r in res.rows] == [(12, "relatedMatch")]
    assert res.rows[0]["direction"].value == "洪涝灾害防范及处置装置"
    assert "内涝" in res.rows[0]["note"].value


def test_scenarios_without_a_2021_direction(store: GraphStore) -> None:
    res = run(store, "scenarios-without-2021-direction")
    assert {int(r["number"].value): r["scenario"].value for r in res.rows} == UNCOVERED
