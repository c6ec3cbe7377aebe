"""RDF export: canonical N-Triples and byte-stable Turtle / JSON-LD / N-Triples exports of a store's
named graph (or of an rdflib graph)."""

from __future__ import annotations

from typing import Literal

import pyoxigraph as ox
from rdflib import Graph

from pilotkg import iri
from pilotkg.errors import InputError
from pilotkg.graph.linkeddata import to_jsonld
from pilotkg.graph.store.base import GraphStore, serialize_rdf, to_oxigraph
from pilotkg.graph.vocabulary import PREFIXES

ExportFormat = Literal["turtle", "jsonld", "ntriples"]


def canonical_ntriples(triples: Graph | list[ox.Triple]) -> bytes:
    """Sorted canonical N-Triples: byte-identical for equal graphs without blank nodes."""
    ts = to_oxigraph(triples) if isinstance(triples, Graph) else triples
    lines = serialize_rdf(ts, ox.RdfFormat.N_TRIPLES).splitlines(keepends=True)
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
        return serialize_rdf(triples, _EXPORT[fmt])
    if fmt == "jsonld":  # with the published @context, inline
        return to_jsonld(triples)
    # Local names of id: IRIs contain "/", which Turtle must escape: those IRIs stay in full.
    prefixes = {k: v for k, v in PREFIXES.items() if k != "id"}
    out = serialize_rdf(triples, _EXPORT[fmt], prefixes)
    if fmt == "turtle":  # the serialiser emits prefixes in hash order; sort them for stable bytes
        lines = out.split(b"\n")
        n = next((i for i, ln in enumerate(lines) if not ln.startswith(b"@prefix")), len(lines))
        out = b"\n".join(sorted(lines[:n]) + lines[n:])
    return out
