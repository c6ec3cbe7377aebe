"""The SPARQL 1.1 Protocol endpoint, exercised by real clients (SPARQLWrapper, rdflib's SPARQLStore)
against a real uvicorn server on loopback, plus the protocol's edges over plain HTTP."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.error import HTTPError

import httpx
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, POST, POSTDIRECTLY, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper

from pilotkg.api.app import create_app
from pilotkg.api.routes.sparql import GRAPH_OFFERS, RESULT_OFFERS, negotiate
from pilotkg.graph.rdf import build as build_graph
from pilotkg.service import build_index
from pilotkg.settings import Settings
from tests.serving import serve_in_thread

REPO = Path(__file__).resolve().parents[2]
FIRE = "森林草原火灾监测预警系统"
TIMEOUT_S = 2.5  # ample for every real query here (milliseconds), short for the runaway one

PREFIXES = """PREFIX pk: <https://w3id.org/pilotkg/def#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
# Directions have a Chinese and an English name; these queries take the Chinese one.
ZH = 'FILTER(LANG(?name) = "zh")'
SELECT_DIRECTIONS = PREFIXES + f"SELECT ?d ?name WHERE {{ ?d a pk:Direction ; skos:prefLabel ?name {ZH} }} ORDER BY ?d"
ASK_FIRE = PREFIXES + f'ASK {{ ?d a pk:Direction ; skos:prefLabel "{FIRE}"@zh }}'
ASK_NOTHING = PREFIXES + 'ASK { ?d a pk:Direction ; skos:prefLabel "不存在的方向"@zh }'
CONSTRUCT_LABELS = (
    PREFIXES + f"CONSTRUCT {{ ?d skos:prefLabel ?name }} WHERE {{ ?d a pk:Direction ; skos:prefLabel ?name {ZH} }}"
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = Settings(
        embedder="hash",
        data_dir=tmp_path_factory.mktemp("sparql-data"),
        corpus_dir=REPO / "corpus",
        sparql_timeout_s=TIMEOUT_S,
    )
    build_graph(s)
    build_index(s)
    return s


@pytest.fixture(scope="module")
def endpoint(settings: Settings) -> Iterator[str]:
    with serve_in_thread(create_app(settings)) as base:
        yield f"{base}/sparql"


def wrapper(endpoint: str, query: str, fmt: str) -> SPARQLWrapper:
    sw = SPARQLWrapper(endpoint)
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    return sw


# --- real clients -------------------------------------------------------------------------------


def test_sparqlwrapper_select_json_get(endpoint: str) -> None:
    data = wrapper(endpoint, SELECT_DIRECTIONS, JSON).queryAndConvert()
    assert isinstance(data, dict)
    names = [b["name"]["value"] for b in data["results"]["bindings"]]
    assert len(names) == 16
    assert FIRE in names  # UTF-8 survives the round trip
    assert data["results"]["bindings"][0]["name"].get("xml:lang") == "zh"


@pytest.mark.parametrize("method", [URLENCODED, POSTDIRECTLY])
def test_sparqlwrapper_select_post_forms(endpoint: str, method: str) -> None:
    sw = wrapper(endpoint, SELECT_DIRECTIONS, JSON)
    sw.setMethod(POST)
    sw.setRequestMethod(method)  # urlencoded form, or application/sparql-query body
    data = sw.queryAndConvert()
    assert isinstance(data, dict)
    assert len(data["results"]["bindings"]) == 16


def test_sparqlwrapper_select_xml_csv_tsv(endpoint: str) -> None:
    xml_doc = wrapper(endpoint, SELECT_DIRECTIONS, XML).queryAndConvert()
    assert len(xml_doc.getElementsByTagName("result")) == 16  # type: ignore[union-attr]
    csv_bytes = wrapper(endpoint, SELECT_DIRECTIONS, CSV).queryAndConvert()
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8"))))  # type: ignore[union-attr]
    assert rows[0] == ["d", "name"] and len(rows) == 17 and FIRE in {r[1] for r in rows}
    tsv_bytes = wrapper(endpoint, SELECT_DIRECTIONS, TSV).queryAndConvert()
    lines = tsv_bytes.decode("utf-8").strip().split("\n")  # type: ignore[union-attr]
    assert lines[0] == "?d\t?name" and len(lines) == 17


def test_sparqlwrapper_ask(endpoint: str) -> None:
    assert wrapper(endpoint, ASK_FIRE, JSON).queryAndConvert()["boolean"] is True  # type: ignore[index]
    assert wrapper(endpoint, ASK_NOTHING, JSON).queryAndConvert()["boolean"] is False  # type: ignore[index]


def test_sparqlwrapper_construct_turtle_and_default_rdfxml(endpoint: str) -> None:
    g = wrapper(endpoint, CONSTRUCT_LABELS, TURTLE).queryAndConvert()
    graph = rdflib.Graph().parse(data=g, format="turtle") if isinstance(g, bytes) else g
    assert len(graph) == 16
    assert rdflib.Literal(FIRE, lang="zh") in set(graph.objects())
    # SPARQLWrapper's default for CONSTRUCT is RDF/XML, converted into an rdflib Graph.
    default = wrapper(endpoint, CONSTRUCT_LABELS, XML).queryAndConvert()
    assert isinstance(default, rdflib.Graph) and len(default) == 16


def test_sparqlwrapper_update_is_refused(endpoint: str) -> None:
    sw = SPARQLWrapper(endpoint)
    sw.setMethod(POST)
    sw.setQuery('INSERT DATA { <urn:x> <urn:y> "z" }')
    assert sw.isSparqlUpdateRequest()
    with pytest.raises(HTTPError) as info:
        sw.query()
    assert info.value.code == 403


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore_select_ask_construct(endpoint: str, method: str) -> None:
    store = SPARQLStore(endpoint, method=method)  # default: XML results / RDF/XML graphs
    g = rdflib.Graph(store=store)
    rows = list(g.query(SELECT_DIRECTIONS))
    assert len(rows) == 16
    assert FIRE in {str(r[1]) for r in rows}  # type: ignore[index]
    assert g.query(ASK_FIRE).askAnswer is True
    assert g.query(ASK_NOTHING).askAnswer is False
    constructed = g.query(CONSTRUCT_LABELS).graph
    assert constructed is not None and len(constructed) == 16
    store.close()


# --- protocol details over plain HTTP -----------------------------------------------------------


def test_the_three_protocol_forms_agree(endpoint: str) -> None:
    h = {"Accept": "application/sparql-results+json"}
    a = httpx.get(endpoint, params={"query": SELECT_DIRECTIONS}, headers=h)
    b = httpx.post(endpoint, data={"query": SELECT_DIRECTIONS}, headers=h)
    c = httpx.post(
        endpoint,
        content=SELECT_DIRECTIONS.encode(),
        headers=h | {"Content-Type": "application/sparql-query; charset=utf-8"},
    )
    for r in (a, b, c):
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/sparql-results+json")
    assert a.json() == b.json() == c.json()


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/sparql-results+json"),
        ("*/*", "application/sparql-results+json"),
        ("text/csv", "text/csv"),
        ("text/*", "text/csv"),
        ("application/sparql-results+xml;q=0.5, text/tab-separated-values", "text/tab-separated-values"),
        ("text/csv;q=0, */*;q=0.1", "application/sparql-results+json"),
        ("application/json", "application/sparql-results+json"),
        ("text/html, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ],
)
def test_select_content_negotiation(endpoint: str, accept: str | None, media: str) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    r = httpx.get(endpoint, params={"query": SELECT_DIRECTIONS}, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert "Accept" in r.headers["vary"]


@pytest.mark.parametrize(
    ("accept", "media", "fmt"),
    [
        (None, "text/turtle", "turtle"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/sparql-results+json, application/n-triples;q=0.2", "application/n-triples", "nt"),
    ],
)
def test_construct_content_negotiation(endpoint: str, accept: str | None, media: str, fmt: str) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    r = httpx.get(endpoint, params={"query": CONSTRUCT_LABELS}, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    assert len(rdflib.Graph().parse(data=r.content, format=fmt)) == 16


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        (SELECT_DIRECTIONS, "image/png"),
        (SELECT_DIRECTIONS, "text/turtle"),
        (SELECT_DIRECTIONS, "text/html"),
        (ASK_FIRE, "application/sparql-results+json;q=0"),
    ],
)
def test_unacceptable_accept_is_406(endpoint: str, query: str, accept: str) -> None:
    r = httpx.get(endpoint, params={"query": query}, headers={"Accept": accept})
    assert r.status_code == 406
    body = r.json()
    assert body["error"] == "not_acceptable" and body["message_zh"] and body["message_en"]
    # The list names what a SELECT/ASK result can be, and nothing of the graph syntaxes.
    available = body["message_en"].split("available: ")[1].split(", ")
    assert available == list(dict.fromkeys(m for m, _ in RESULT_OFFERS))


@pytest.mark.parametrize(
    ("accept", "media", "fmt"),
    [
        # No RDF syntax in Accept: a graph result falls back to Turtle, as Fuseki and Virtuoso answer.
        ("application/sparql-results+json", "text/turtle", "turtle"),
        ("text/csv", "text/turtle", "turtle"),
        ("image/png", "text/turtle", "turtle"),
        ("application/n-quads", "application/n-quads", "nquads"),
        ("application/trig", "application/trig", "trig"),
    ],
)
def test_construct_falls_back_to_turtle_and_speaks_quads(endpoint: str, accept: str, media: str, fmt: str) -> None:
    r = httpx.get(endpoint, params={"query": CONSTRUCT_LABELS}, headers={"Accept": accept})
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] == media
    if fmt in ("nquads", "trig"):
        ds = rdflib.Dataset()
        ds.parse(data=r.content, format=fmt)
        assert len(ds) == 16  # all in the default graph
    else:
        assert len(rdflib.Graph().parse(data=r.content, format=fmt)) == 16


def test_rdflib_sparqlstore_construct_with_json_return_format(endpoint: str) -> None:
    # SPARQLStore sends Accept: application/sparql-results+json for every query when returnFormat is
    # "json"; a CONSTRUCT must still come back as a graph.
    store = SPARQLStore(endpoint, returnFormat="json")
    result = store.query(CONSTRUCT_LABELS)
    graph = result.graph
    assert graph is not None and len(graph) == 16
    assert rdflib.Literal(FIRE, lang="zh") in set(graph.objects())


def test_construct_jsonld_carries_the_context(endpoint: str) -> None:
    r = httpx.get(endpoint, params={"query": CONSTRUCT_LABELS}, headers={"Accept": "application/ld+json"})
    doc = r.json()
    assert doc["@context"]["skos"] == "http://www.w3.org/2004/02/skos/core#"
    assert all("skos:prefLabel" in node for node in doc["@graph"])
    assert len(rdflib.Graph().parse(data=r.content, format="json-ld")) == 16


def test_browser_gets_the_yasgui_page_and_clients_the_service_description(endpoint: str) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = httpx.get(endpoint, headers={"Accept": browser})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/vendor/yasgui/yasgui.min.js" in page.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)  # nothing from another host
    assert "评审令牌" in page.text
    desc = httpx.get(endpoint, headers={"Accept": "text/turtle"})
    assert desc.headers["content-type"].startswith("text/turtle")
    assert len(rdflib.Graph().parse(data=desc.content, format="turtle")) > 0
    # the assets the page names are served by this service
    base = endpoint.rsplit("/", 1)[0]
    for asset in ("yasgui/yasgui.min.js", "yasgui/yasgui.min.css"):
        assert httpx.get(f"{base}/static/vendor/{asset}").status_code == 200


@pytest.mark.parametrize(
    "send",
    [
        lambda url: httpx.get(url, params={"update": "CLEAR ALL"}),
        lambda url: httpx.post(url, data={"update": 'INSERT DATA { <urn:a> <urn:b> "c" }'}),
        lambda url: httpx.post(url, content=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"}),
        lambda url: httpx.get(url, params={"query": "DROP ALL"}),
        lambda url: httpx.post(url, data={"query": "PREFIX x: <urn:x#>\nDELETE WHERE { ?s ?p ?o }"}),
        lambda url: httpx.post(
            url,
            content=b'INSERT DATA { <urn:a> <urn:b> "c" }',
            headers={"Content-Type": "application/sparql-query"},
        ),
    ],
)
def test_updates_are_403_and_change_nothing(endpoint: str, send) -> None:  # type: ignore[no-untyped-def]
    count = PREFIXES + "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    before = httpx.get(endpoint, params={"query": count}).json()
    r = send(endpoint)
    assert r.status_code == 403
    assert r.json()["error"] == "update_forbidden" and "更新" in r.json()["message_zh"]
    assert httpx.get(endpoint, params={"query": count}).json() == before


def test_malformed_query_is_400_with_the_parser_message(endpoint: str) -> None:
    r = httpx.get(endpoint, params={"query": "SELECT ?x WHERE { ?x ?y }"})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "query_error"
    assert "SPARQL" in body["message_en"] and len(body["message_en"]) > len("malformed SPARQL: ")
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("send", "status"),
    [
        (lambda url: httpx.get(url, params=[("query", "ASK {}"), ("query", "ASK {}")]), 400),
        (
            lambda url: httpx.post(url, content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}),
            400,
        ),
        (lambda url: httpx.post(url, content=b"ASK {}", headers={"Content-Type": "text/plain"}), 415),
        (
            lambda url: httpx.post(
                url + "?query=ASK%7B%7D",
                content=b"ASK {}",
                headers={"Content-Type": "application/sparql-query"},
            ),
            400,
        ),
        (
            lambda url: httpx.post(url, content=b"\xff\xfe", headers={"Content-Type": "application/sparql-query"}),
            400,
        ),
    ],
)
def test_malformed_protocol_requests(endpoint: str, send, status: int) -> None:  # type: ignore[no-untyped-def]
    r = send(endpoint)
    assert r.status_code == status
    assert r.json()["message_zh"] and r.json()["message_en"]


def test_get_without_query_is_the_service_description(endpoint: str) -> None:
    r = httpx.get(endpoint)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (None, sd.endpoint, rdflib.URIRef(endpoint)) in g
    assert (None, sd.supportedLanguage, sd.SPARQL11Query) in g


def test_a_query_past_the_time_limit_is_503(endpoint: str) -> None:
    runaway = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # ~10^11 rows
    t0 = time.monotonic()
    r = httpx.get(endpoint, params={"query": runaway}, timeout=60)
    assert time.monotonic() - t0 < TIMEOUT_S + 5
    assert r.status_code == 503
    body = r.json()
    assert body["error"] == "query_timeout"
    assert f"{TIMEOUT_S:g}" in body["message_en"] and "秒" in body["message_zh"]
    # the endpoint still answers afterwards
    assert httpx.get(endpoint, params={"query": ASK_FIRE}).status_code == 200


def test_negotiate_unit_cases() -> None:
    assert negotiate("text/csv, application/sparql-results+json", RESULT_OFFERS) == ("text/csv", "csv")
    assert negotiate("application/*;q=0.4, text/tab-separated-values;q=0.5", RESULT_OFFERS) == (
        "text/tab-separated-values",
        "tsv",
    )
    assert negotiate("text/turtle;q=0.1, application/ld+json;q=0.9", GRAPH_OFFERS) == (
        "application/ld+json",
        "jsonld",
    )
    assert negotiate("*/*;q=0", RESULT_OFFERS) is None
    assert negotiate("text/csv;q=abc", RESULT_OFFERS) is None
    assert negotiate("garbage", GRAPH_OFFERS) is None
    assert negotiate("", GRAPH_OFFERS) == ("text/turtle", "turtle")
    assert json.dumps(negotiate("TEXT/CSV", RESULT_OFFERS)) == '["text/csv", "csv"]'
