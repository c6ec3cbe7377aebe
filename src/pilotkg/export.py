"""RDF conversion and export: rdflib → pyoxigraph triples, canonical N-Triples, and byte-stable
Turtle / JSON-LD / N-Triples exports of a store's named graph (or of an rdflib graph)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as Lit

from pilotkg import iri
from pilotkg.errors import InputError
from pilotkg.vocabulary import PREFIXES

if TYPE_CHECKING:
    from pilotkg.store import GraphStore

ExportFormat = Literal["turtle", "jsonld", "ntriples"]


def to_oxigraph(g: Graph) -> list[ox.Triple]:
    """rdflib triples → pyoxigraph triples (no serialise/parse round trip)."""
    try:
        return [ox.Triple(_ox_term(s), _ox_term(p), _ox_term(o)) for s, p, o in g]  # type: ignore[arg-type]
    except ValueError as exc:  # pyoxigraph validates IRIs and language tags
        raise InputError(f"not valid RDF: {exc}", f"不是合法的 RDF：{exc}", where="graph") from exc


def _ox_term(t: object) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(t, URIRef):
        return ox.NamedNode(str(t))
    if isinstance(t, BNode):
        return ox.BlankNode(str(t))
    if isinstance(t, Lit):
        if t.language:
            return ox.Literal(str(t), language=t.language)
        if t.datatype is not None:
            return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)))
        return ox.Literal(str(t))
    raise TypeError(f"unsupported RDF term {t!r}")


def canonical_ntriples(triples: Graph | list[ox.Triple]) -> bytes:
    """Sorted canonical N-Triples: byte-identical for equal graphs without blank nodes."""
    ts = to_oxigraph(triples) if isinstance(triples, Graph) else triples
    lines = ox.serialize(ts, format=ox.RdfFormat.N_TRIPLES).splitlines(keepends=True)
    return b"".join(sorted(lines))


_EXPORT = {"turtle": ox.RdfFormat.TURTLE, "jsonld": ox.RdfFormat.JSON_LD, "ntriples": ox.RdfFormat.N_TRIPLES}
_GRAPHS = {"policy": iri.POLICY_GRAPH, "projects": iri.PROJECTS_GRAPH}


def export(store_or_graph: GraphStore | Graph, fmt: ExportFormat, graph: str = "policy") -> bytes:
    """Serialise a named graph of a store (or an rdflib graph) as Turtle, JSON-LD or N-Triples."""
    if fmt not in _EXPORT:
        raise InputError(
            f"unknown export format {fmt!r} (turtle, jsonld, ntriples)",
            f"不支持的导出格式 {fmt!r}（turtle、jsonld、ntriples）",
            where="format",
        )
    if isinstance(store_or_graph, Graph):
        triples = to_oxigraph(store_or_graph)
    else:
        graph_iri = _GRAPHS.get(graph, graph)
        res = store_or_graph.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri}> {{ ?s ?p ?o }} }}")
        triples = res.triples
    # sorted: the same graph always exports to the same bytes, subjects grouped in Turtle
    triples = sorted(triples, key=lambda t: (str(t.subject), str(t.predicate), str(t.object)))
    if fmt == "ntriples":
        return ox.serialize(triples, format=_EXPORT[fmt])
    # Local names of id: IRIs contain "/", which Turtle must escape: those IRIs stay in full.
    prefixes = {k: v for k, v in PREFIXES.items() if k != "id"}
    out = ox.serialize(triples, format=_EXPORT[fmt], prefixes=prefixes)
    if fmt == "turtle":  # the serialiser emits prefixes in hash order; sort them for stable bytes
        lines = out.split(b"\n")
        n = next((i for i, ln in enumerate(lines) if not ln.startswith(b"@prefix")), len(lines))
        out = b"\n".join(sorted(lines[:n]) + lines[n:])
    return out
