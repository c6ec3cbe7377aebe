"""SHACL validation: a graph checked against the packaged shapes, as a typed, readable report."""

from __future__ import annotations

from functools import cache
from typing import Literal

import pyshacl
from pydantic import BaseModel
from rdflib import RDF, BNode, Graph, URIRef
from rdflib.namespace import OWL, SH
from rdflib.paths import Path as RdfPath

from pilotkg.graph.vocabulary import ONTOLOGY_IRI, PREFIXES, ontology_graph, shapes_graph


@cache
def _cached_shapes() -> Graph:  # read-only uses: pyshacl does not modify its shapes or ontology graphs
    return shapes_graph()


@cache
def _cached_ontology() -> Graph:
    return ontology_graph()


class ValidationIssue(BaseModel):
    focus_node: str
    path: str | None
    message: str
    severity: Literal["Violation", "Warning", "Info"]
    value: str | None = None
    shape: str | None = None

    def __str__(self) -> str:
        path = f" {self.path}" if self.path else ""
        return f"[{self.severity}] {self.focus_node}{path}: {self.message}"


class ValidationReport(BaseModel):
    conforms: bool
    issues: list[ValidationIssue]

    def summary(self, limit: int = 20) -> str:
        if self.conforms:
            return "conforms / 符合约束"
        lines = [f"{len(self.issues)} SHACL result(s) / 条约束违反:"]
        lines += [f"- {issue}" for issue in self.issues[:limit]]
        if len(self.issues) > limit:
            lines.append(f"… {len(self.issues) - limit} more")
        return "\n".join(lines)


def validate(g: Graph, *, shapes: Graph | None = None) -> ValidationReport:
    """SHACL-validate ``g`` against the shapes (and the ontology for class hierarchy), no inference."""
    # The policy graph carries the ontology already; mixing it in again would copy the whole graph.
    has_ontology = (URIRef(ONTOLOGY_IRI), RDF.type, OWL.Ontology) in g
    conforms, results, _ = pyshacl.validate(
        g,
        shacl_graph=shapes if shapes is not None else _cached_shapes(),
        ont_graph=None if has_ontology else _cached_ontology(),
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
    )
    issues = [
        ValidationIssue(
            focus_node=_show(results.value(r, SH.focusNode), results),
            path=_show(p, results) if (p := results.value(r, SH.resultPath)) is not None else None,
            message=_messages(results, r),
            severity=str(results.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
            value=_show(v, results) if (v := results.value(r, SH.value)) is not None else None,
            shape=_show(s, results) if (s := results.value(r, SH.sourceShape)) is not None else None,
        )
        for r in results.subjects(RDF.type, SH.ValidationResult)
    ]
    issues.sort(key=lambda i: (i.focus_node, i.path or "", i.message))
    return ValidationReport(conforms=bool(conforms), issues=issues)


def _messages(results: Graph, r: object) -> str:
    """A result's messages, zh before en (shapes give both; pyshacl's own messages are en only)."""
    msgs = list(results.objects(r, SH.resultMessage))  # type: ignore[arg-type]
    return " / ".join(str(m) for m in sorted(msgs, key=lambda m: (getattr(m, "language", None) != "zh", str(m))))


def _show(node: object, g: Graph) -> str:
    """A term as readable text; SHACL path expressions (blank-node lists) as ``a/b``."""
    if isinstance(node, BNode):
        seq = list(g.items(node))
        if seq:
            return "/".join(_show(s, g) for s in seq)
        if (inv := g.value(node, SH.inversePath)) is not None:
            return "^" + _show(inv, g)
        return "[]"
    if isinstance(node, RdfPath):
        return node.n3()
    if isinstance(node, URIRef):
        s = str(node)
        for prefix, ns in PREFIXES.items():
            if s.startswith(ns) and prefix != "id":
                return f"{prefix}:{s[len(ns) :]}"
        return s
    return str(node)
