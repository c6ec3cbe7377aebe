"""Issue 11, items 1–3 and 7 (SPARQL): limits before any parser, SERVICE/FROM decided on the parsed query,
queries in worker processes killed at the time limit, result-size limits."""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

from pilotkg.errors import QueryError, QueryMemoryExceeded, QueryTimeout, ResultTooLarge, UpdateForbidden
from pilotkg.graph.sparql import prepare_query, run_query
from pilotkg.graph.store.base import SparqlLimits, scan_sparql
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.graph.store.pool import Job, QueryPool

G = "http://e/g"
# The texts of issue 11 item 1: each one killed the store library (segfault) in a bare script.
CRASHERS = {
    "3000 nested {": "SELECT * WHERE " + "{" * 3000 + " ?s ?p ?o " + "}" * 3000,
    "5000 nested ( in FILTER": "SELECT * WHERE { ?s ?p ?o FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }",
    "10000 !": "SELECT * WHERE { ?s ?p ?o FILTER(" + "!" * 10000 + "true) }",
    "2000 nested sub-SELECTs": "SELECT * WHERE { " + "{ SELECT * WHERE " * 2000 + "{ ?s ?p ?o }" + " }" * 2000 + " }",
    "10000-branch UNION": "SELECT * WHERE { " + " UNION ".join("{ ?s ?p ?o }" for _ in range(10000)) + " }",
    "5000 nested OPTIONAL": "SELECT * WHERE { ?s ?p ?o " + "OPTIONAL { ?s ?p ?o " * 5000 + "}" * 5000 + " }",
    "3000 BINDs": "SELECT * WHERE { ?s ?p ?o " + " ".join(f"BIND(1 AS ?b{i})" for i in range(3000)) + " }",
    "3000 MINUS": "SELECT * WHERE { ?s ?p ?o " + " ".join(f"MINUS {{ ?s ?p {i} }}" for i in range(3000)) + " }",
}


@pytest.fixture(scope="module")
def memory_store() -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(None)
    g = Graph()
    for i in range(3):
        g.add((URIRef(f"http://e/s{i}"), URIRef("http://e/p"), Literal(i)))
    s.replace_graph(G, g)
    yield s
    s.close()


@pytest.mark.parametrize("name", sorted(CRASHERS))
def test_crashing_texts_are_refused_before_any_parser(memory_store: EmbeddedStore, name: str) -> None:
    with pytest.raises(QueryError) as err:
        run_query(memory_store, CRASHERS[name], timeout_s=5, allowed_graphs=[G])
    assert err.value.where == "query" and err.value.message_zh != err.value.message_en
    assert "查询" in err.value.message_zh


def test_the_lexer_skips_strings_iris_comments_and_escapes() -> None:
    limits = SparqlLimits(max_depth=3)
    text = (
        "PREFIX e: <http://e/#> SELECT * WHERE { ?s ?p \"{{{{((((\" . ?s ?p e:a\\#x # {{{{{{{\n?s ?p '''{{{{\n{{{{''' }"
    )
    scan = scan_sparql(text, limits)
    assert scan.depth == 1
    assert [t.text for t in scan.tokens if t.kind == "word"] == ["PREFIX", "e:", "SELECT", "WHERE", "e:a\\#x"]


SERVICE_BYPASSES = [
    # issue 11 item 2: the escaped '#' of a prefixed name was taken for a comment by the old masking
    "PREFIX e: <http://e/> SELECT * WHERE { OPTIONAL { ?s ?p e:a\\#x } SERVICE <http://127.0.0.1:9/x> { ?a ?b ?c } }",
    "SELECT * WHERE { ?s ?p ?o SERVICE <http://127.0.0.1:9/x> { ?a ?b ?c } }",
    "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE SILENT <http://127.0.0.1:9/x> { ?a ?b ?c } } }",
    "select * where { ?s ?p ?o . service <http://127.0.0.1:9/x> { ?a ?b ?c } }",
]


@pytest.mark.parametrize("text", SERVICE_BYPASSES)
def test_service_is_refused_on_a_restricted_dataset(memory_store: EmbeddedStore, text: str) -> None:
    with pytest.raises(QueryError) as err:
        run_query(memory_store, text, timeout_s=5, allowed_graphs=[G])
    assert "127.0.0.1" not in err.value.message_en  # nothing about the target, nothing fetched


def test_from_clauses_are_read_from_the_parse_and_removed() -> None:
    text = "PREFIX e: <http://e/> SELECT ?s FROM <http://e/secret> FROM NAMED e:other WHERE { ?s ?p 'FROM <x>' }"
    out = prepare_query(text, restricted=True)
    assert "secret" not in out and "e:other" not in out and "'FROM <x>'" in out


def test_nested_insert_data_is_a_query_error_not_a_crash(memory_store: EmbeddedStore) -> None:
    with pytest.raises(QueryError):
        run_query(memory_store, "SELECT * WHERE { INSERT DATA { <http://e/a> <http://e/p> 1 } }", timeout_s=5)
    with pytest.raises(UpdateForbidden):
        run_query(memory_store, "INSERT DATA { INSERT DATA { <http://e/a> <http://e/p> 1 } }", timeout_s=5)


def test_result_row_and_byte_limits(memory_store: EmbeddedStore) -> None:
    q = "SELECT * WHERE { ?s ?p ?o }"
    with pytest.raises(ResultTooLarge) as err:
        run_query(memory_store, q, timeout_s=5, allowed_graphs=[G], limits=SparqlLimits(max_rows=2))
    assert err.value.http_status == 422 and "LIMIT" in err.value.message_zh
    with pytest.raises(ResultTooLarge):
        run_query(memory_store, q, timeout_s=5, allowed_graphs=[G], limits=SparqlLimits(max_bytes=40))
    assert len(run_query(memory_store, q, timeout_s=5, allowed_graphs=[G], limits=SparqlLimits(max_rows=3)).rows) == 3


# --- worker processes ------------------------------------------------------------------------------


def crash_in_prepare(text: str) -> str:
    """Stands for a query the engine dies on (every known one is refused by the limits now).

    A real fault in the calling thread, as the engine's would be: ``kill(getpid(), SIGSEGV)`` may be
    delivered to another thread of the worker after this one has already sent its answer (CI saw it)."""
    ctypes.string_at(0)  # reads address 0: SIGSEGV here and now
    return text


@pytest.fixture
def disk_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = EmbeddedStore(tmp_path / "ox", workers=1)
    g = Graph()
    for i in range(200):
        g.add((URIRef(f"http://e/s{i}"), URIRef("http://e/p"), Literal(i)))
    s.replace_graph(G, g)
    yield s
    s.close()


def _pool(store: EmbeddedStore) -> QueryPool:
    pool = store._pool
    assert pool is not None
    return pool


def test_a_timed_out_query_stops_using_a_core_and_the_next_one_runs(disk_store: EmbeddedStore) -> None:
    pool = _pool(disk_store)
    assert run_query(disk_store, "ASK { ?s ?p 5 }", timeout_s=30, allowed_graphs=[G]).boolean is True
    (before,) = pool.pids()
    with pytest.raises(QueryTimeout):
        run_query(
            disk_store,
            "SELECT (SUM(?c * ?f + ?i) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
            timeout_s=0.5,
            allowed_graphs=[G],
        )
    deadline = time.monotonic() + 30
    while pool.replaced < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):  # killed, not left running
        os.kill(before, 0)
    res = run_query(disk_store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", timeout_s=30, allowed_graphs=[G])
    assert res.rows[0]["n"].value == "200"


def test_a_worker_that_dies_is_replaced(disk_store: EmbeddedStore) -> None:
    pool = _pool(disk_store)
    with pytest.raises(QueryError) as err:
        pool.run(Job("ASK {}", crash_in_prepare, None, disk_store.generation, None, None), timeout_s=30)
    assert "查询引擎" in err.value.message_zh
    assert run_query(disk_store, "ASK { ?s ?p 7 }", timeout_s=30, allowed_graphs=[G]).boolean is True


def test_workers_see_writes(disk_store: EmbeddedStore) -> None:
    q = "ASK { <http://e/new> ?p ?o }"
    assert run_query(disk_store, q, timeout_s=30, allowed_graphs=[G]).boolean is False
    disk_store.update(f"INSERT DATA {{ GRAPH <{G}> {{ <http://e/new> <http://e/p> 1 }} }}")
    assert run_query(disk_store, q, timeout_s=30, allowed_graphs=[G]).boolean is True


def test_a_query_over_the_memory_limit_is_stopped_and_the_next_one_runs(tmp_path: Path) -> None:
    # A sorted cross product keeps every row: 3 000² rows need gigabytes, far over 512 MiB (a warm
    # worker uses ~370 MiB of it, most of that its thread's reserved stack).
    s = EmbeddedStore(tmp_path / "ox", workers=1, worker_memory_mb=512)
    try:
        g = Graph()
        for i in range(3000):
            g.add((URIRef(f"http://e/s{i}"), URIRef("http://e/p"), Literal(i)))
        s.replace_graph(G, g)
        with pytest.raises(QueryMemoryExceeded) as err:
            run_query(s, "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f", timeout_s=120, allowed_graphs=[G])
        assert err.value.http_status == 422 and "512 MiB" in err.value.message_en and "内存" in err.value.message_zh
        res = run_query(s, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", timeout_s=60, allowed_graphs=[G])
        assert res.rows[0]["n"].value == "3000"
        # a crash for another reason is still reported as the engine's failure, not as memory
        with pytest.raises(QueryError) as other:
            _pool(s).run(Job("ASK {}", crash_in_prepare, None, s.generation, None, None), timeout_s=30)
        assert not isinstance(other.value, QueryMemoryExceeded) and "查询引擎" in other.value.message_zh
    finally:
        s.close()
