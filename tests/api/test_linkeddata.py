"""Linked-data conventions as reviewers' own tools see them, against a real uvicorn server: CORS
preflights, ``/id/…`` resolution (httpx and a real ``curl``), the VoID description parsed by rdflib, the
dumps it names, and headless Chromium loading the YASGUI page and ``/docs`` with the network blocked
(every request off the server's origin is aborted and recorded)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import rdflib
from playwright.sync_api import Browser, Page, Route, sync_playwright
from rdflib.namespace import DCAT, DCTERMS, SKOS

from pilotkg import iri
from pilotkg.api.app import create_app
from pilotkg.graph.rdf import build as build_graph
from pilotkg.service import build_index
from pilotkg.settings import Settings
from tests.serving import serve_in_thread

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "artifacts"
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
TRUSTED = "https://reviewers.example.org"
REVIEWER = "reviewer-token-ld"
D8 = rdflib.URIRef(iri.iri(iri.direction(8)))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    s = Settings(
        embedder="hash",
        data_dir=tmp_path_factory.mktemp("ld-data"),
        corpus_dir=REPO / "corpus",
        cors_origins=[TRUSTED],
        reviewer_tokens=[REVIEWER],
    )
    build_graph(s)
    build_index(s)
    with serve_in_thread(create_app(s)) as url:
        yield url


# --- CORS ----------------------------------------------------------------------------------------------


def test_preflight_from_any_origin_allows_public_reads_without_credentials(base: str) -> None:
    r = httpx.options(
        f"{base}/sparql",
        headers={
            "Origin": "https://yasgui.example.net",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
    assert allowed == {"content-type"}  # an arbitrary origin cannot make a browser send a token
    assert "access-control-allow-credentials" not in r.headers


def test_preflight_from_a_configured_origin_allows_the_token(base: str) -> None:
    r = httpx.options(
        f"{base}/sparql",
        headers={
            "Origin": TRUSTED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == TRUSTED
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in r.headers["access-control-allow-headers"]


def test_simple_requests_carry_the_cors_headers(base: str) -> None:
    q = "ASK { ?s ?p ?o }"
    public = httpx.get(f"{base}/sparql", params={"query": q}, headers={"Origin": "https://a.example"})
    assert public.status_code == 200 and public.headers["access-control-allow-origin"] == "*"
    assert "Origin" in public.headers["vary"]
    api = httpx.get(f"{base}/api/directions/8", headers={"Origin": "https://a.example"})
    assert api.headers["access-control-allow-origin"] == "*"
    trusted = httpx.get(f"{base}/sparql", params={"query": q}, headers={"Origin": TRUSTED})
    assert trusted.headers["access-control-allow-origin"] == TRUSTED
    assert trusted.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in httpx.get(f"{base}/sparql", params={"query": q}).headers


# --- /id/ resolution -------------------------------------------------------------------------------------


def test_direction_iri_resolves_to_its_triples_as_turtle(base: str) -> None:
    r = httpx.get(f"{base}/id/direction/8", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.content, format="turtle")
    assert (D8, SKOS.prefLabel, rdflib.Literal("森林草原火灾监测预警系统", lang="zh")) in g
    assert (D8, SKOS.prefLabel, None) in g and (D8, rdflib.RDF.type, SKOS.Concept) in g
    assert set(g.subjects()) == {D8}  # the direction's own triples (it has no sub-resources)


def test_curl_gets_the_direction_as_turtle(base: str) -> None:
    curl = shutil.which("curl")
    assert curl is not None, "curl is part of the machine image"
    out = subprocess.run(
        [curl, "-sS", "-f", "-H", "Accept: text/turtle", f"{base}/id/direction/8"],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    g = rdflib.Graph().parse(data=out, format="turtle")
    assert g.value(D8, SKOS.notation).toPython() == 8


@pytest.mark.parametrize(
    ("accept", "media", "fmt"),
    [
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("*/*", "text/turtle", "turtle"),
    ],
)
def test_requirement_with_its_quantity_in_every_syntax(base: str, accept: str, media: str, fmt: str) -> None:
    r = httpx.get(f"{base}/id/requirement/d08-r06", headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == media
    g = rdflib.Graph().parse(data=r.content, format=fmt)
    req = rdflib.URIRef(iri.iri("requirement/d08-r06"))
    quantity = rdflib.URIRef(f"{req}/quantity")
    assert (req, rdflib.URIRef(iri.ONTOLOGY + "quantity"), quantity) in g
    assert (quantity, rdflib.URIRef(iri.ONTOLOGY + "value"), None) in g  # the sub-resource comes along
    if fmt == "json-ld":
        assert r.json()["@context"]["pk"] == iri.ONTOLOGY


def test_browser_gets_html_with_local_links(base: str) -> None:
    r = httpx.get(f"{base}/id/direction/8", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "森林草原火灾监测预警系统" in r.text
    assert 'href="/id/group/3"' in r.text  # links resolve on this server, whatever the base IRI


def test_unknown_and_confidential_resources_are_404(base: str) -> None:
    assert httpx.get(f"{base}/id/direction/99").status_code == 404
    body = httpx.get(f"{base}/id/project/P-001").json()
    assert body["error"] == "not_found" and body["message_zh"]
    assert httpx.get(f"{base}/id/direction/8", headers={"Accept": "image/png"}).status_code == 406


# --- VoID, context, dumps --------------------------------------------------------------------------------


def test_void_description_parses_and_names_what_is_served(base: str) -> None:
    r = httpx.get(f"{base}/.well-known/void", headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    g = rdflib.Graph().parse(data=r.content, format="turtle")
    ds = next(g.subjects(rdflib.RDF.type, VOID.Dataset))
    assert (ds, rdflib.RDF.type, DCAT.Dataset) in g
    assert {t.language for t in g.objects(ds, DCTERMS.title)} == {"zh", "en"}
    assert g.value(ds, DCTERMS.license) is not None and g.value(ds, DCTERMS.publisher) is not None
    assert str(g.value(ds, VOID.sparqlEndpoint)) == iri.RESOURCE_BASE + "sparql"
    examples = [str(e) for e in g.objects(ds, VOID.exampleResource)]
    assert len(examples) == 3
    for e in examples:  # each example resolves on this server
        assert httpx.get(f"{base}/id/{iri.gid(e)}", headers={"Accept": "text/turtle"}).status_code == 200
    assert str(g.value(ds, VOID.uriSpace)) == iri.ID
    service = g.value(ds, DCAT.accessService)
    assert str(g.value(service, DCAT.endpointURL)) == iri.RESOURCE_BASE + "sparql"
    dumps = {str(u) for u in g.objects(ds, VOID.dataDump)}
    assert iri.RESOURCE_BASE + "dump/policy.ttl" in dumps
    # void:triples is the size of the policy graph, which the dump at that name holds
    ttl = httpx.get(f"{base}/dump/policy.ttl")
    policy = rdflib.Graph().parse(data=ttl.content, format="turtle")
    assert g.value(ds, VOID.triples).toPython() == len(policy)
    jsonld = httpx.get(f"{base}/dump/policy.jsonld")
    assert len(rdflib.Graph().parse(data=jsonld.content, format="json-ld")) == len(policy)


def test_jsonld_context_is_published(base: str) -> None:
    r = httpx.get(f"{base}/context.jsonld")
    assert r.headers["content-type"].startswith("application/ld+json")
    assert r.json()["@context"]["skos"] == str(SKOS)


# --- browser, network blocked ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def offline_page(browser: Browser, base: str) -> Iterator[tuple[Page, list[str]]]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    blocked: list[str] = []
    here = urlparse(base).netloc

    def gate(route: Route) -> None:
        if urlparse(route.request.url).netloc in (here, ""):
            route.continue_()
        else:  # the network is blocked: anything off this server fails, and is recorded
            blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", gate)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(60_000)
    yield page, blocked
    ctx.close()
    assert errors == []


def test_yasgui_page_runs_a_query_offline(offline_page: tuple[Page, list[str]], base: str) -> None:
    page, blocked = offline_page
    page.goto(f"{base}/sparql")  # the browser's own Accept asks for HTML
    page.wait_for_selector(".yasqe .CodeMirror")
    page.evaluate(
        "() => { const t = window.pilotkgYasgui.getTab();"
        " t.setQuery('PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        "SELECT ?label WHERE { <" + str(D8) + "> skos:prefLabel ?label }'); t.query(); }"
    )
    page.wait_for_selector("text=森林草原火灾监测预警系统")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "yasgui.png"))
    assert blocked == []


def test_swagger_docs_and_redoc_render_offline(offline_page: tuple[Page, list[str]], base: str) -> None:
    page, blocked = offline_page
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock-summary-path >> text=/sparql")
    assert page.locator(".opblock").count() > 10
    page.goto(f"{base}/redoc")
    page.wait_for_selector("h1:has-text('pilotkg')")
    assert page.get_by_text("SPARQL 1.1 查询 / SPARQL 1.1 query").count() >= 1
    assert blocked == []


def test_articles_and_requirements_are_served_in_the_corpus_form(base: str) -> None:
    a10 = httpx.get(f"{base}/api/articles/10").json()
    assert "，" in a10["display"] and "（应急）" in a10["display"]
    assert a10["text"] != a10["display"]  # the normalised form stays for matching
    a12 = httpx.get(f"{base}/api/articles/12").json()
    assert a12["display"].count("\n") == 3  # four paragraphs, as in the notice
    d4 = httpx.get(f"{base}/api/directions/4").json()
    assert "尾矿库漫顶与溃坝" in d4["effect"]["display"]
    # the graph's pk:text is the display form too
    r = httpx.get(f"{base}/id/article/10", headers={"Accept": "text/turtle"})
    g = rdflib.Graph().parse(data=r.content, format="turtle")
    text = g.value(rdflib.URIRef(iri.iri(iri.article(10))), rdflib.URIRef(iri.ONTOLOGY + "text"))
    assert str(text) == a10["display"]
