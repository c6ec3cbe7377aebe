"""Linked-data routes: resolvable resource IRIs, the dataset description, the JSON-LD context, dumps.

* ``GET /id/{path}`` — the resource ``<base>id/{path}`` answered directly (no 303: the W3C *Cool URIs*
  note allows content negotiation on the IRI itself), as HTML for browsers and Turtle / JSON-LD /
  RDF/XML / N-Triples by ``Accept`` (Turtle for ``*/*``). Project resources are confidential: without a
  reviewer token they answer 404 like any unknown IRI.
* ``GET /.well-known/void`` — the VoID + DCAT description (RFC 5785 / VoID §7), same formats.
* ``GET /context.jsonld`` — the JSON-LD ``@context`` that every JSON-LD answer carries inline.
* ``GET /dump/policy.{ttl,nt,jsonld}`` — the policy graph, as ``void:dataDump`` names it.
"""

from __future__ import annotations

import html
from enum import Enum
from typing import Annotated

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pilotkg import iri
from pilotkg.api import auth
from pilotkg.api.deps import pilot_of
from pilotkg.api.errors import NotAcceptable
from pilotkg.api.routes.sparql import negotiate
from pilotkg.errors import NotFoundError
from pilotkg.graph import DUMPS, RDF_OFFERS, jsonld_context, serialize_as
from pilotkg.service import Pilot

PilotDep = Annotated[Pilot, Depends(pilot_of)]
Who = Annotated[auth.Principal, Depends(auth.principal)]
OFFERS: list[tuple[str, str]] = [RDF_OFFERS[0], ("text/html", "html"), *RDF_OFFERS[1:]]
LINKED_TAGS: list[str | Enum] = ["linked data"]


def _choose(accept: str | None) -> str:
    chosen = negotiate(accept, OFFERS)
    if chosen is None:
        available = ", ".join(dict.fromkeys(m for m, _ in OFFERS))
        raise NotAcceptable(
            f"none of the Accept types can represent this resource; available: {available}",
            f"Accept 中的格式都无法表示该资源；可用格式：{available}",
            where="header Accept",
        )
    return str(chosen[1])


def _local(value: str) -> str:
    """A link that works on this server: pilotkg resource IRIs go to ``/id/…`` here."""
    return "/id/" + value[len(iri.ID) :] if value.startswith(iri.ID) else value


def _term_html(term: object, labels: dict[str, str]) -> str:
    value = term.value if isinstance(term, ox.NamedNode | ox.Literal | ox.BlankNode) else str(term)
    if isinstance(term, ox.NamedNode):
        label = labels.get(value)
        shown = html.escape(value) + (f" <span class=label>{html.escape(label)}</span>" if label else "")
        return f'<a href="{html.escape(_local(value), quote=True)}">{shown}</a>'
    lang = getattr(term, "language", None)
    suffix = f" <span class=lang>@{html.escape(lang)}</span>" if lang else ""
    return f"<span class=literal>{html.escape(value)}</span>{suffix}"


def _html_page(resource: str, triples: list[ox.Triple], labels: dict[str, str]) -> str:
    rows = "\n".join(
        f"<tr><td>{_term_html(t.subject, labels)}</td><td>{_term_html(t.predicate, labels)}</td>"
        f"<td>{_term_html(t.object, labels)}</td></tr>"
        for t in triples
    )
    title = labels.get(resource, resource)
    formats = (("turtle", "Turtle"), ("jsonld", "JSON-LD"), ("rdfxml", "RDF/XML"))
    alternates = " · ".join(f'<a href="?format={fmt}">{name}</a>' for fmt, name in formats)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1rem}}table{{border-collapse:collapse}}
td{{border:1px solid #ccc;padding:.2rem .4rem;vertical-align:top}}
.label{{color:#555}}.lang{{color:#888}}</style></head>
<body><h1>{html.escape(title)}</h1><p><code>{html.escape(resource)}</code></p>
<p>其他格式 / other formats: {alternates} · <a href="/sparql">SPARQL</a> · <a href="/.well-known/void">VoID</a></p>
<table><thead><tr><th>主语 / subject</th><th>谓语 / predicate</th><th>宾语 / object</th></tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""


_FORMAT_PARAM = {"turtle": "text/turtle", "jsonld": "application/ld+json", "rdfxml": "application/rdf+xml"}
_FORMAT_PARAM["ntriples"] = "application/n-triples"
_FORMAT_PARAM["html"] = "text/html"


def _answer(request: Request, resource: str, triples: list[ox.Triple], labels: dict[str, str]) -> Response:
    fmt = request.query_params.get("format")
    accept = _FORMAT_PARAM.get(fmt, request.headers.get("accept")) if fmt else request.headers.get("accept")
    syntax = _choose(accept)
    headers = {"Vary": "Accept", "Link": '</.well-known/void>; rel="describedby"'}
    if syntax == "html":
        return Response(_html_page(resource, triples, labels), media_type="text/html; charset=utf-8", headers=headers)
    rdf_syntax = next(s for _, s in RDF_OFFERS if s == syntax)
    media = next(m for m, s in RDF_OFFERS if s == rdf_syntax)
    body = serialize_as(triples, rdf_syntax)
    if media.startswith("text/"):
        media += "; charset=utf-8"
    return Response(body, media_type=media, headers=headers)


def router() -> APIRouter:
    r = APIRouter(tags=LINKED_TAGS)

    @r.get(
        "/id/{path:path}",
        summary="解析资源 IRI / resolve a resource IRI",
        description="HTML（浏览器）或按 Accept 返回 Turtle、JSON-LD、RDF/XML、N-Triples；也可用 ?format=。 / "
        "HTML for browsers, else Turtle, JSON-LD, RDF/XML or N-Triples by Accept (or ?format=).",
        response_class=Response,
    )
    async def resource(
        request: Request, who: Who, pilot: PilotDep, path: Annotated[str, PathParam(min_length=1, max_length=300)]
    ) -> Response:
        _choose(request.headers.get("accept"))  # 406 before any store work
        resource_iri = iri.iri(iri.from_path(path))
        result, label_rows = await run_in_threadpool(
            pilot.describe, resource_iri, include_projects=who.sees_projects_graph
        )
        triples = sorted(result.triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
        if not triples:
            raise NotFoundError(f"no resource <{resource_iri}>", f"没有资源 <{resource_iri}>", where=f"id/{path}")
        labels: dict[str, str] = {}
        for row in label_rows:  # a Chinese label first, the others as fallback
            if row["r"].value not in labels or row["label"].lang == "zh":
                labels[row["r"].value] = row["label"].value
        return _answer(request, resource_iri, triples, labels)

    @r.get(
        "/.well-known/void",
        summary="数据集描述（VoID + DCAT） / dataset description (VoID + DCAT)",
        response_class=Response,
    )
    async def void(request: Request, pilot: PilotDep) -> Response:
        _choose(request.headers.get("accept"))
        result = await run_in_threadpool(pilot.dataset_description)
        triples = sorted(result.triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
        return _answer(request, iri.iri(iri.dataset()), triples, {})

    @r.get("/context.jsonld", summary="JSON-LD @context", response_class=JSONResponse)
    def context() -> JSONResponse:
        return JSONResponse(jsonld_context(), media_type="application/ld+json")

    @r.get("/dump/{name}", summary="数据转储 / data dump", response_class=Response)
    async def dump(name: str, pilot: PilotDep) -> Response:
        if name not in DUMPS:
            raise NotFoundError(
                f"no dump {name!r}; available: {', '.join(DUMPS)}",
                f"没有转储文件 {name!r}；可用：{'、'.join(DUMPS)}",
                where=f"dump/{name}",
            )
        syntax, media = DUMPS[name]
        body = await run_in_threadpool(pilot.dump, syntax)
        return Response(body, media_type=media + ("; charset=utf-8" if media.startswith("text/") else ""))

    return r
