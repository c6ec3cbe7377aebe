"""User SPARQL: updates refused by parsing, malformed queries, time limits, restricted datasets, tables."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from pilotkg import iri
from pilotkg.errors import QueryError, QueryTimeout, UpdateForbidden
from pilotkg.graph.rdf import build_graph
from pilotkg.graph.sparql import example_queries, format_table, is_update, run_query
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.graph.vocabulary import PK
from pilotkg.policy.corpus import load_corpus

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
PROJECT = iri.iri("project/P-001")


@pytest.fixture(scope="module")
def store() -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(None)
    s.replace_graph(iri.POLICY_GRAPH, build_graph(load_corpus(CORPUS_DIR)))
    projects = Graph()
    projects.add((URIRef(PROJECT), PK.region, Literal("机密地区")))
    s.replace_graph(iri.PROJECTS_GRAPH, projects)
    yield s
    s.close()


UPDATES = [
    "INSERT DATA { <http://e/a> <http://e/p> 1 }",
    "insert data { <http://e/a> <http://e/p> 1 }",
    "PREFIX e: <http://e/>\n# remove everything\nDELETE WHERE { ?s e:p ?o }",
    "WITH <http://e/g> DELETE { ?s ?p ?o } INSERT { ?s ?p 2 } WHERE { ?s ?p ?o }",
    "LOAD <http://example.org/data.ttl>",
    "CLEAR ALL",
    f"DROP GRAPH <{iri.PROJECTS_GRAPH}>",
    "CREATE GRAPH <http://e/new>",
    "ADD <http://e/a> TO <http://e/b>",
    "MOVE DEFAULT TO <http://e/b>",
    "COPY <http://e/a> TO DEFAULT",
    "INSERT DATA { <http://e/a> <http://e/p> ",  # a malformed update is still an update
]
QUERIES = [
    "SELECT ?insert WHERE { ?insert ?p ?o }",
    "PREFIX add: <http://e/> SELECT * WHERE { ?s add:p ?o }",
    'SELECT * WHERE { ?s ?p "DELETE WHERE" }',
    "ASK { ?s ?p ?o FILTER(regex(str(?o), 'drop')) }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1",
    "DESCRIBE <http://e/a>",
]


@pytest.mark.parametrize("text", UPDATES)
def test_updates_are_recognised(text: str) -> None:
    assert is_update(text)


@pytest.mark.parametrize("text", QUERIES)
def test_queries_with_update_words_are_not_updates(text: str) -> None:
    assert not is_update(text)


@pytest.mark.parametrize("text", UPDATES)
def test_run_query_refuses_updates_and_the_store_is_unchanged(store: EmbeddedStore, text: str) -> None:
    before = store.triple_count()
    with pytest.raises(UpdateForbidden) as err:
        run_query(store, text, timeout_s=5)
    assert "SPARQL" in err.value.message_zh and "not allowed" in err.value.message_en
    assert store.triple_count() == before


def test_an_update_smuggled_after_a_query_never_runs(store: EmbeddedStore) -> None:
    before = store.triple_count()
    with pytest.raises(QueryError):  # neither a query nor an update: the query parser rejects it
        run_query(store, "SELECT * WHERE { ?s ?p ?o } ; DROP ALL", timeout_s=5)
    assert store.triple_count() == before


def test_update_runs_only_when_allowed() -> None:
    s = EmbeddedStore(None)
    with pytest.raises(UpdateForbidden):
        run_query(
            s,
            "INSERT DATA { GRAPH <http://e/g> { <http://e/a> <http://e/p> 1 } }",
            timeout_s=5,
            read_only=False,
            allowed_graphs=[iri.POLICY_GRAPH],
        )
    res = run_query(
        s, "INSERT DATA { GRAPH <http://e/g> { <http://e/a> <http://e/p> 1 } }", timeout_s=5, read_only=False
    )
    assert res.kind == "update" and s.triple_count("http://e/g") == 1


@pytest.mark.parametrize(
    "text", ["SELECT ?s WHERE { ?s ?p }", "SELEKT * WHERE { ?s ?p ?o }", "SELECT * WHERE { ?s ?p ?o", "   "]
)
def test_malformed_sparql_is_a_query_error(store: EmbeddedStore, text: str) -> None:
    with pytest.raises(QueryError) as err:
        run_query(store, text, timeout_s=5)
    assert err.value.message_zh and err.value.message_en and err.value.where == "query"
    assert err.value.message_zh != err.value.message_en


def test_runaway_cross_join_times_out_and_the_store_keeps_answering(store: EmbeddedStore) -> None:
    t0 = time.monotonic()
    with pytest.raises(QueryTimeout) as err:
        run_query(store, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", timeout_s=1.0)
    # Each bound is well below the time of the work it guards against (read to the end the join takes
    # minutes), not near the limit: bounds of 2 s and 1 s failed on a loaded machine.
    assert time.monotonic() - t0 < 10.0
    assert "1 s" in err.value.message_en and "秒" in err.value.message_zh
    t1 = time.monotonic()
    res = run_query(store, f"ASK {{ <{iri.iri('direction/8')}> ?p ?o }}", timeout_s=5)
    assert res.boolean is True and time.monotonic() - t1 < 5.0


def test_runaway_aggregate_is_abandoned_without_blocking_others() -> None:
    # an aggregate yields no row until the end, so the worker cannot stop early: it is abandoned
    s = EmbeddedStore(None)
    g = Graph()
    # 300³ = 27 million rows, each summed (a COUNT(*) of a product was fast enough, 0.25 s, to finish
    # inside the limit on a quiet machine): ~6–9 s of work, then it ends by itself. The bounds below are
    # well under that, so they show the caller was not kept waiting, and they leave room for a loaded
    # machine (bounds of 1.3 s and 1 s failed there).
    for i in range(300):
        g.add((URIRef(f"http://e/s{i}"), URIRef("http://e/p"), Literal(i)))
    s.replace_graph("http://e/g", g)
    t0 = time.monotonic()
    with pytest.raises(QueryTimeout):
        run_query(s, "SELECT (SUM(?c * ?f + ?i) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", timeout_s=0.3)
    assert time.monotonic() - t0 < 3.0
    t1 = time.monotonic()
    assert run_query(s, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", timeout_s=5).rows[0]["n"].value == "300"
    assert time.monotonic() - t1 < 3.0


@pytest.mark.parametrize(
    "text",
    [
        f"SELECT ?o WHERE {{ <{PROJECT}> ?p ?o }}",
        f"SELECT ?o FROM <{iri.PROJECTS_GRAPH}> WHERE {{ <{PROJECT}> ?p ?o }}",
        f"SELECT ?o FROM NAMED <{iri.PROJECTS_GRAPH}> WHERE {{ GRAPH ?g {{ <{PROJECT}> ?p ?o }} }}",
        f"SELECT ?o WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ <{PROJECT}> ?p ?o }} }}",
        f"SELECT ?o WHERE {{ GRAPH ?g {{ <{PROJECT}> ?p ?o }} }}",
    ],
)
def test_allowed_graphs_hide_the_projects_graph(store: EmbeddedStore, text: str) -> None:
    public = run_query(store, text, timeout_s=5, allowed_graphs=[iri.POLICY_GRAPH])
    assert public.rows == []
    reviewer = run_query(store, text, timeout_s=5, allowed_graphs=[iri.POLICY_GRAPH, iri.PROJECTS_GRAPH])
    assert [r["o"].value for r in reviewer.rows] == ["机密地区"]


def test_public_view_still_sees_the_policy(store: EmbeddedStore) -> None:
    res = run_query(
        store,
        f"SELECT (COUNT(?d) AS ?n) WHERE {{ ?d a <{PK.Direction}> }}",
        timeout_s=5,
        allowed_graphs=[iri.POLICY_GRAPH],
    )
    assert res.rows[0]["n"].value == "16"


def test_format_table_shows_rows_with_short_iris(store: EmbeddedStore) -> None:
    res = run_query(
        store,
        f"SELECT ?r ?t WHERE {{ ?r a <{PK.ThresholdRequirement}> ; <{PK.text}> ?t }} ORDER BY ?r",
        timeout_s=5,
        allowed_graphs=[iri.POLICY_GRAPH],
    )
    text = format_table(res)
    assert "id:requirement/d08-r06" in text and "报警响应时间少于30分钟" in text
    assert "4 row(s)" in text
    assert format_table(run_query(store, "ASK { ?s ?p ?o }", timeout_s=5)).strip() == "true"


def test_example_queries_have_bilingual_titles() -> None:
    queries = example_queries()
    assert {q.name for q in queries} >= {
        "directions-per-group",
        "threshold-requirements",
        "stage-articles",
        "rules",
        "direction-requirements",
    }
    for q in queries:
        assert q.title_zh != q.name and q.title_en != q.name
        assert any("\u4e00" <= c <= "\u9fff" for c in q.title_zh)
        assert q.title_en.isascii()
