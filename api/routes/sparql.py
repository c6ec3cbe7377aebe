"""SPARQL 1.1 Protocol endpoint (query operation only; the service is read-only).

* ``GET /sparql?query=…``, ``POST`` ``application/x-www-form-urlencoded`` (``query=…``) and ``POST``
  ``application/sparql-query`` (query as the body), with ``default-graph-uri`` / ``named-graph-uri``;
* the result format is negotiated from ``Accept`` (q-values honoured; ties go to the client's order);
  a graph result (CONSTRUCT / DESCRIBE) whose ``Accept`` names no RDF syntax is sent as Turtle, as
  Fuseki and Virtuoso do, so clients that always ask for SPARQL JSON (rdflib's ``SPARQLStore`` with
  ``returnFormat="json"``) still get the graph; a 406 lists only the formats of that result's kind;
* an update in any form (``update=``, ``application/sparql-update``, or update text in ``query=``) is 403;
* ``GET /sparql`` without a query returns the SPARQL 1.1 Service Description (Turtle), or, when the
  client prefers ``text/html`` (a browser), the YASGUI page served from the project's own copy of
  YASGUI (``scripts/setup.sh`` installs it; nothing is fetched at run time). With a query, ``text/html``
  is not a result format: the results come in the best format the ``Accept`` allows, as before.
"""

from __future__ import annotations

import functools
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from pilotkg.api import auth
from pilotkg.api.deps import Runtime, pilot_of
from pilotkg.api.errors import NotAcceptable, UnsupportedMediaType
from pilotkg.errors import QueryError, UpdateForbidden
from pilotkg.graph import QueryResult, serialize_rdf, to_jsonld
from pilotkg.iri import POLICY_GRAPH, PROJECTS_GRAPH
from pilotkg.service import Pilot
from pilotkg.settings import Settings

# (media type, QueryResult.serialize format), in the server's order of preference.
RESULT_OFFERS: list[tuple[str, str]] = [
    ("application/sparql-results+json", "json"),
    ("application/sparql-results+xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
    ("application/json", "json"),
    ("application/xml", "xml"),
    ("text/xml", "xml"),
]
GRAPH_OFFERS: list[tuple[str, str]] = [
    ("text/turtle", "turtle"),
    ("application/n-triples", "ntriples"),
    ("application/ld+json", "jsonld"),
    ("application/rdf+xml", "rdfxml"),
    ("application/x-turtle", "turtle"),
    # A graph result is a dataset with only a default graph, so the quad syntaxes apply too.
    ("application/n-quads", "nquads"),
    ("application/trig", "trig"),
]
HTML_OFFER = ("text/html", "html")
YASGUI_PAGE = Path(__file__).resolve().parents[1] / "static" / "sparql.html"
MAX_BODY_BYTES = 1_000_000

PilotDep = Annotated[Pilot, Depends(pilot_of)]
Who = Annotated[auth.Principal, Depends(auth.principal)]


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float
    position: int

    def specificity(self, media_type: str) -> int:
        """-1 when this range does not cover ``media_type``; else 0 (*/*), 1 (type/*), 2 (exact)."""
        t, _, s = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 0
        if self.type != t:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == s else -1


def parse_accept(header: str) -> list[MediaRange]:
    ranges: list[MediaRange] = []
    for position, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        kind = fields[0].lower()
        if "/" not in kind:
            continue  # not a media range; ignored rather than failing the request
        t, _, s = kind.partition("/")
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value.strip())))
                except ValueError:
                    q = 0.0  # an unreadable weight is taken as "not acceptable"
        ranges.append(MediaRange(t, s, q, position))
    return ranges


def negotiate(accept: str | None, offers: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The offer the ``Accept`` header prefers, or ``None`` when it accepts none of them.

    Each offer takes the weight of the most specific range covering it (RFC 9110 §12.5.1); the
    highest weight wins, then the range listed first by the client, then the server's order.
    """
    if accept is None or not accept.strip():
        return offers[0]
    ranges = parse_accept(accept)
    best: tuple[tuple[float, int, int], tuple[str, str]] | None = None
    for rank, offer in enumerate(offers):
        covering = [(r.specificity(offer[0]), r) for r in ranges]
        covering = [c for c in covering if c[0] >= 0]
        if not covering:
            continue
        _, chosen = max(covering, key=lambda c: (c[0], -c[1].position))
        if chosen.q <= 0:
            continue
        key = (chosen.q, -chosen.position, -rank)
        if best is None or key > best[0]:
            best = (key, offer)
    return best[1] if best else None


@dataclass(frozen=True)
class ProtocolRequest:
    query: str | None
    default_graphs: list[str]
    named_graphs: list[str]


def _params(raw: bytes) -> dict[str, list[str]]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QueryError("the request body is not UTF-8", "请求体不是 UTF-8 编码", where="body") from exc
    return parse_qs(text, keep_blank_values=True)


async def read_protocol(request: Request) -> ProtocolRequest:
    """Parse the three protocol forms; refuse updates and malformed requests."""
    url = {k: request.query_params.getlist(k) for k in request.query_params}
    params: dict[str, list[str]] = dict(url)
    body_query: str | None = None
    if request.method == "POST":
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise QueryError(
                f"the request body exceeds {MAX_BODY_BYTES} bytes",
                f"请求体超过 {MAX_BODY_BYTES} 字节",
                where="body",
            )
        if ctype == "application/sparql-update":
            raise _update_forbidden()
        if ctype == "application/x-www-form-urlencoded":
            for k, v in _params(raw).items():
                params[k] = params.get(k, []) + v
        elif ctype == "application/sparql-query":
            try:
                body_query = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise QueryError("the query is not UTF-8", "查询文本不是 UTF-8 编码", where="body") from exc
        else:
            raise UnsupportedMediaType(
                f"POST to /sparql needs Content-Type application/sparql-query or "
                f"application/x-www-form-urlencoded, not {ctype or 'none'!r}",
                f"POST /sparql 的 Content-Type 须为 application/sparql-query 或 "
                f"application/x-www-form-urlencoded，而不是 {ctype or '空'}",
                where="header Content-Type",
            )
    if "update" in params or "using-graph-uri" in params or "using-named-graph-uri" in params:
        raise _update_forbidden()
    queries = params.get("query", [])
    if body_query is not None:
        if queries:
            raise QueryError(
                "give the query either as the body or as query=, not both",
                "查询只能放在请求体或 query= 参数之一，不能同时给出",
                where="query",
            )
        queries = [body_query]
    if len(queries) > 1:
        raise QueryError("exactly one query= parameter is allowed", "只能有一个 query= 参数", where="query")
    return ProtocolRequest(
        query=queries[0] if queries else None,
        default_graphs=params.get("default-graph-uri", []),
        named_graphs=params.get("named-graph-uri", []),
    )


def _update_forbidden() -> UpdateForbidden:
    return UpdateForbidden(
        "this endpoint is read-only: SPARQL Update is not accepted",
        "本端点只读，不接受 SPARQL 更新",
        where="update",
    )


def serialize(result: QueryResult, fmt: str) -> tuple[bytes, str]:
    if fmt == "rdfxml":
        # RDF/XML is what SPARQLWrapper and rdflib's SPARQLStore ask for by default for graph
        # results; QueryResult.serialize has no RDF/XML, so it is written here from the same triples.
        return serialize_rdf(result.triples, ox.RdfFormat.RDF_XML), "application/rdf+xml"
    if fmt == "jsonld":  # with pilotkg's @context inline, as /id/ and the export write it
        return to_jsonld(result.triples), "application/ld+json"
    if fmt in ("nquads", "trig"):
        quads = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in result.triples]
        rdf_format = ox.RdfFormat.N_QUADS if fmt == "nquads" else ox.RdfFormat.TRIG
        return serialize_rdf(quads, rdf_format), rdf_format.media_type
    return result.serialize(fmt)


def yasgui_page(endpoint: str) -> str:
    """The YASGUI page, pointed at this endpoint."""
    config = {"endpoint": endpoint}
    # JSON inside a data attribute, HTML-escaped: the URL (built from the Host header) cannot break out.
    return YASGUI_PAGE.read_text(encoding="utf-8").replace(
        "{{CONFIG}}", html.escape(json.dumps(config, ensure_ascii=False), quote=True)
    )


def prefers_html(accept: str | None, offers: list[tuple[str, str]]) -> bool:
    """Whether ``text/html`` is what the client wants most (a browser's Accept), over ``offers``."""
    if not accept or "text/html" not in accept.lower():
        return False
    return negotiate(accept, [HTML_OFFER, *offers]) == HTML_OFFER


def _not_acceptable(offers: list[tuple[str, str]]) -> NotAcceptable:
    available = ", ".join(dict.fromkeys(m for m, _ in offers))
    return NotAcceptable(
        f"none of the Accept types can represent this result; available: {available}",
        f"Accept 中的格式都无法表示该结果；可用格式：{available}",
        where="header Accept",
    )


def service_description(endpoint: str) -> str:
    results = " ".join(
        f"<http://www.w3.org/ns/formats/{f}>"
        for f in (
            "SPARQL_Results_JSON",
            "SPARQL_Results_XML",
            "SPARQL_Results_CSV",
            "SPARQL_Results_TSV",
            "Turtle",
            "N-Triples",
            "JSON-LD",
            "RDF_XML",
            "N-Quads",
            "TriG",
        )
    )
    return f"""@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .

[] a sd:Service ;
  rdfs:label "pilotkg 政策知识图谱 SPARQL 端点（只读）"@zh , "pilotkg read-only SPARQL endpoint"@en ;
  sd:endpoint <{endpoint}> ;
  sd:supportedLanguage sd:SPARQL11Query ;
  sd:feature sd:UnionDefaultGraph ;
  sd:resultFormat {results.replace(" ", " , ")} ;
  sd:defaultDataset [ a sd:Dataset ; sd:namedGraph [ sd:name <{POLICY_GRAPH}> ] ] .
"""


DOCS: dict[str, Any] = {
    "tags": ["sparql"],
    "summary": "SPARQL 1.1 查询 / SPARQL 1.1 query",
    "description": (
        "SPARQL 1.1 协议查询端点（只读）。公开调用只能看到政策图；评审令牌还可看到项目图。"
        "结果格式按 Accept 协商：SELECT/ASK 为 JSON、XML、CSV、TSV；CONSTRUCT/DESCRIBE 为 Turtle、N-Triples、"
        "JSON-LD、RDF/XML、N-Quads、TriG（Accept 中没有 RDF 格式时返回 Turtle）。浏览器打开（Accept: text/html）"
        "得到 YASGUI 查询页面。更新请求返回 403，超时返回 503，语法错误返回 400，无可接受格式返回 406。 / "
        "Read-only SPARQL 1.1 Protocol endpoint. Anonymous callers see the policy graph, reviewers also the "
        "projects graph. Results by Accept; graph results fall back to Turtle when Accept names no RDF syntax; "
        "a browser (Accept: text/html) gets the YASGUI page. Update → 403, timeout → 503, malformed → 400, "
        "unacceptable → 406."
    ),
    "response_class": Response,
    "responses": {
        200: {
            "content": {m: {} for m, _ in RESULT_OFFERS + GRAPH_OFFERS},
            "description": "查询结果 / query results",
        }
    },
}


def router() -> APIRouter:
    r = APIRouter()

    async def sparql(request: Request, who: Who, pilot: PilotDep) -> Response:
        proto = await read_protocol(request)
        accept = request.headers.get("accept")
        if proto.query is None:
            if request.method == "GET" and prefers_html(accept, [("text/turtle", "turtle")]):
                page = yasgui_page(str(request.url_for("sparql")))
                return Response(page, media_type="text/html; charset=utf-8", headers={"Vary": "Accept"})
            if request.method == "GET":
                # The endpoint as a relative IRI (resolved against this document's own URL by any RDF
                # parser): the Host header is never written into the answer.
                description = service_description("")
                return Response(description, media_type="text/turtle; charset=utf-8", headers={"Vary": "Accept"})
            raise QueryError("no query given", "未提供查询", where="query")
        requested = proto.default_graphs + proto.named_graphs
        auth.check_graphs(who, requested)
        # The protocol's graph parameters can narrow the caller's view, never widen it.
        include_projects = who.sees_projects_graph and (not requested or PROJECTS_GRAPH in requested)
        settings: Settings = request.app.state.settings
        runtime: Runtime = request.app.state.runtime
        anonymous = who.role == "anonymous"
        # Per caller: an anonymous address, or a token (each reviewer token, each applicant). Token holders
        # may use every worker (one is kept for them); an anonymous address only its small allowance.
        caller = f"address:{request.client.host if request.client else '?'}" if anonymous else who.caller
        allowance = settings.sparql_per_caller if anonymous else max(1, settings.sparql_workers) * 2
        with runtime.slots.hold(caller, allowance):
            result = await run_in_threadpool(
                functools.partial(
                    pilot.sparql,
                    proto.query,
                    include_projects=include_projects,
                    timeout_s=settings.sparql_timeout_s,
                    limits=pilot.sparql_limits(anonymous=anonymous),
                )
            )
        offers = GRAPH_OFFERS if result.kind == "graph" else RESULT_OFFERS
        chosen = negotiate(accept, offers)
        if chosen is None and result.kind == "graph":
            chosen = GRAPH_OFFERS[0]  # no RDF syntax in Accept: Turtle, as Fuseki and Virtuoso answer
        if chosen is None:
            raise _not_acceptable(offers)
        body, media_type = await run_in_threadpool(serialize, result, chosen[1])
        if media_type.startswith("text/") and "charset" not in media_type:
            media_type += "; charset=utf-8"
        return Response(body, media_type=media_type, headers={"Vary": "Accept, Authorization"})

    r.add_api_route("/sparql", sparql, methods=["GET"], operation_id="sparql_get", name="sparql", **DOCS)
    r.add_api_route("/sparql", sparql, methods=["POST"], operation_id="sparql_post", name="sparql_p", **DOCS)
    return r
