"""The RDF store: one interface, two adapters (embedded Oxigraph, remote SPARQL 1.1 endpoint).

This module is the contract: the :class:`GraphStore` protocol, the query-result types and the SPARQL
text both adapters share. The adapters live beside it in :mod:`.embedded` (:class:`EmbeddedStore`) and
:mod:`.remote` (:class:`RemoteStore`); the factory :func:`pilotkg.graph.store.open_store` picks one.

Both adapters write with the same SPARQL Update text (``DROP SILENT GRAPH …; INSERT DATA …`` and
``DELETE … WHERE … VALUES``): one update request is one transaction in Oxigraph (embedded: pyoxigraph
``Store.update``; remote: the SPARQL 1.1 Update service), so readers see the old graph or the new one,
never half. When a Graph Store Protocol URL is set, the remote adapter PUTs/POSTs whole graphs there.
(pyoxigraph's ``bulk_extend`` is not transactional and ``extend`` cannot drop the old graph in the same
transaction; staging with ``extend`` + ``MOVE`` measured no faster than the single update, ~0.5 s for
the 4 k-triple policy graph on the 2-core machine, so the one update it is.)
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pyoxigraph as ox
import rdflib

from pilotkg.errors import InputError, QueryError, QueryTimeout

if TYPE_CHECKING:
    pass


# Triples per INSERT DATA operation. Virtuoso 7's SPARQL parser runs out of stack ("SP030 … memory
# exhausted") past ~4,990 triples in one operation; several operations in one request are still one
# transaction there as in Oxigraph, so a big graph is still replaced atomically.
INSERT_CHUNK = 2000
# Subjects per DELETE … VALUES operation: Virtuoso refuses some thousands of VALUES rows ("Too many
# arguments for standard built-in function").
DELETE_CHUNK = 1000
ResultKind = Literal["bindings", "boolean", "graph", "update"]
TermType = Literal["uri", "literal", "bnode", "triple"]
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_BOOLEAN = {"1": "true", "0": "false"}


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    value: str
    type: TermType
    datatype: str | None = None
    lang: str | None = None

    def to_json(self) -> dict[str, str]:
        if self.type == "literal":
            out = {"type": "literal", "value": self.value}
            if self.lang:
                out["xml:lang"] = self.lang
            elif self.datatype and self.datatype != XSD_STRING:
                out["datatype"] = self.datatype
            return out
        if self.type == "triple":  # quoted triples are shown as their N-Triples text
            return {"type": "literal", "value": self.value}
        return {"type": self.type, "value": self.value}


_RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_GRAPH_FORMATS = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}


@dataclass
class QueryResult:
    """SELECT rows, an ASK boolean, or CONSTRUCT/DESCRIBE triples (rows: subject, predicate, object)."""

    kind: ResultKind
    variables: list[str] = field(default_factory=list)
    rows: list[dict[str, Term]] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> bytes:
        """SPARQL 1.1 Query Results JSON (bindings / boolean)."""
        if self.kind == "boolean":
            return json.dumps({"head": {}, "boolean": bool(self.boolean)}).encode()
        bindings = [{k: t.to_json() for k, t in row.items()} for row in self.rows]
        doc = {"head": {"vars": self.variables}, "results": {"bindings": bindings}}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    def serialize(self, fmt: str) -> tuple[bytes, str]:
        """``(body, media type)``: json/xml/csv/tsv for SELECT/ASK, turtle/ntriples/jsonld for CONSTRUCT."""
        if self.kind == "graph":
            if fmt not in _GRAPH_FORMATS:
                raise _bad_format(fmt, "turtle, ntriples, jsonld, rdfxml")
            from pilotkg.graph.vocabulary import PREFIXES

            rdf = _GRAPH_FORMATS[fmt]
            prefixes = None if fmt == "ntriples" else {k: v for k, v in PREFIXES.items() if k != "id"}
            return serialize_rdf(self.triples, rdf, prefixes), rdf.media_type
        if self.kind == "update" or fmt not in _RESULT_FORMATS:
            raise _bad_format(fmt, "json, xml, csv, tsv")
        body = self.to_json()
        rf = _RESULT_FORMATS[fmt]
        if fmt != "json":  # pyoxigraph re-serialises the standard JSON into the other standard formats
            other = ox.parse_query_results(body, ox.QueryResultsFormat.JSON).serialize(format=rf)
            assert other is not None  # serialize() without an output returns the bytes
            body = other
        return body, rf.media_type


def _bad_format(fmt: str, allowed: str) -> InputError:
    return InputError(
        f"format {fmt!r} does not fit this result (use {allowed})",
        f"结果格式 {fmt!r} 不适用于该查询结果（可用：{allowed}）",
        where="format",
    )


def to_term(t: Any) -> Term:
    if isinstance(t, ox.NamedNode):
        return Term(t.value, "uri")
    if isinstance(t, ox.Literal):
        lang = t.language
        datatype = None if lang else t.datatype.value
        if datatype == XSD_BOOLEAN:  # canonical form: Virtuoso answers "1"/"0" for stored true/false
            return Term(_BOOLEAN.get(t.value, t.value), "literal", datatype)
        return Term(t.value, "literal", datatype, lang)
    if isinstance(t, ox.BlankNode):
        return Term(t.value, "bnode")
    return Term(str(t), "triple")


class Cancelled(Exception):
    pass


def materialize(res: Any, cancel: threading.Event | None, t0: float) -> QueryResult:
    """pyoxigraph results → QueryResult, checking for cancellation at every row."""
    if isinstance(res, ox.QueryBoolean):
        return QueryResult("boolean", boolean=bool(res), seconds=time.perf_counter() - t0)
    if isinstance(res, ox.QueryTriples) or not hasattr(res, "variables"):
        triples: list[ox.Triple] = []
        for t in res:
            if cancel is not None and cancel.is_set():
                raise Cancelled
            triples.append(t if isinstance(t, ox.Triple) else t.triple)
        rows = [
            {"subject": to_term(t.subject), "predicate": to_term(t.predicate), "object": to_term(t.object)}
            for t in triples
        ]
        return QueryResult(
            "graph",
            ["subject", "predicate", "object"],
            rows,
            triples=triples,
            seconds=time.perf_counter() - t0,
        )
    names = [v.value for v in res.variables]
    out: list[dict[str, Term]] = []
    for sol in res:
        if cancel is not None and cancel.is_set():
            raise Cancelled
        row = {}
        for i, name in enumerate(names):
            v = sol[i]
            if v is not None:
                row[name] = to_term(v)
        out.append(row)
    return QueryResult("bindings", names, out, seconds=time.perf_counter() - t0)


# --- the interface ---------------------------------------------------------------------------------


class GraphStore(Protocol):
    """What the rest of pilotkg uses. ``named_graphs`` is the query's whole dataset (default graph =
    their union; None = every graph); every write is one transaction; ``update`` runs raw SPARQL
    Update (callers decide whether that is allowed: see :func:`pilotkg.graph.sparql.run_query`)."""

    location: str  # store folder or endpoint URL, for messages

    def query(
        self, sparql: str, *, timeout_s: float | None = None, named_graphs: Sequence[str] | None = None
    ) -> QueryResult: ...
    def update(self, sparql: str) -> None: ...
    def replace_graph(self, graph_iri: str, g: rdflib.Graph) -> None: ...
    def add_to_graph(self, graph_iri: str, g: rdflib.Graph) -> None: ...
    def delete_subjects(self, graph_iri: str, subjects: Sequence[str]) -> None: ...
    def update_transaction(self, graph_iri: str, remove_subjects: Sequence[str], add: rdflib.Graph | None) -> None: ...
    def triple_count(self, graph_iri: str | None = None) -> int: ...
    def close(self) -> None: ...


def to_oxigraph(g: rdflib.Graph) -> list[ox.Triple]:
    """rdflib triples → pyoxigraph triples (no serialise/parse round trip)."""
    try:
        return [ox.Triple(_ox_term(s), _ox_term(p), _ox_term(o)) for s, p, o in g]  # type: ignore[arg-type]
    except ValueError as exc:  # pyoxigraph validates IRIs and language tags
        raise InputError(f"not valid RDF: {exc}", f"不是合法的 RDF：{exc}", where="graph") from exc


def _ox_term(t: object) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(t, rdflib.URIRef):
        return ox.NamedNode(str(t))
    if isinstance(t, rdflib.BNode):
        return ox.BlankNode(str(t))
    if isinstance(t, rdflib.Literal):
        if t.language:
            return ox.Literal(str(t), language=t.language)
        if t.datatype is not None:
            return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype)))
        return ox.Literal(str(t))
    raise TypeError(f"unsupported RDF term {t!r}")


# --- SPARQL Update text shared by both adapters ----------------------------------------------------


def _iri_ref(value: str) -> str:
    if any(c in value for c in '<>"{}|^`\\ \n'):
        raise InputError(f"not an IRI: {value!r}", f"不是合法的 IRI：{value!r}", where="iri")
    return f"<{value}>"


def ntriples(g: rdflib.Graph) -> str:
    return serialize_rdf(to_oxigraph(g), ox.RdfFormat.N_TRIPLES).decode("utf-8")


def serialize_rdf(
    triples: Sequence[ox.Triple] | Sequence[ox.Quad], fmt: ox.RdfFormat, prefixes: dict[str, str] | None = None
) -> bytes:
    """pyoxigraph's serialiser into bytes (it returns ``None`` only when given an output to write to)."""
    out = ox.serialize(triples, format=fmt, prefixes=prefixes)
    assert out is not None
    return out


def _insert_ops(graph_iri: str, g: rdflib.Graph) -> list[str]:
    """``INSERT DATA`` operations of at most ``INSERT_CHUNK`` triples each (for one request)."""
    gi = _iri_ref(graph_iri)
    # N-Triples escapes \n inside literals, so one line is one triple (str.splitlines would also
    # split at U+2028 and friends, which N-Triples leaves raw)
    lines = [ln + "\n" for ln in ntriples(g).split("\n") if ln]
    return [
        f"INSERT DATA {{ GRAPH {gi} {{\n{''.join(lines[i : i + INSERT_CHUNK])}}} }}"
        for i in range(0, len(lines), INSERT_CHUNK)
    ]


def replace_update(graph_iri: str, g: rdflib.Graph) -> str:
    return " ;\n".join([f"DROP SILENT GRAPH {_iri_ref(graph_iri)}", *_insert_ops(graph_iri, g)])


def _delete_ops(graph_iri: str, subjects: Sequence[str]) -> list[str]:
    gi = _iri_ref(graph_iri)
    refs = [_iri_ref(s) for s in subjects]
    return [
        f"DELETE {{ GRAPH {gi} {{ ?s ?p ?o }} }} "
        f"WHERE {{ VALUES ?s {{ {' '.join(refs[i : i + DELETE_CHUNK])} }} GRAPH {gi} {{ ?s ?p ?o }} }}"
        for i in range(0, len(refs), DELETE_CHUNK)
    ]


def transaction_update(graph_iri: str, remove_subjects: Sequence[str], add: rdflib.Graph | None) -> str:
    ops = []
    if remove_subjects:
        ops.extend(_delete_ops(graph_iri, remove_subjects))
    if add is not None and len(add):
        ops.extend(_insert_ops(graph_iri, add))
    return " ;\n".join(ops)


def count_query(graph_iri: str | None) -> str:
    if graph_iri is None:
        return "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    return f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {_iri_ref(graph_iri)} {{ ?s ?p ?o }} }}"


def count_of(res: QueryResult) -> int:
    return int(res.rows[0]["n"].value) if res.rows else 0


def syntax_error(message: str) -> QueryError:
    return QueryError(f"malformed SPARQL: {message}", f"SPARQL 语法错误：{message}", where="query")


# --- restricted datasets: what the query text itself must not do ---------------------------------

# Strings, IRIs and comments, matched left to right so that a '#' or a keyword inside one is skipped.
_OPAQUE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|'
    r"'''(?:[^'\\]|\\.|'(?!''))*'''|"
    r'"(?:[^"\\\n\r]|\\.)*"|'
    r"'(?:[^'\\\n\r]|\\.)*'|"
    r'<[^<>"{}|^`\\\x00-\x20]*>|#[^\n\r]*',
    re.DOTALL,
)
# A bare keyword: not part of a variable, prefixed name, blank node label or language tag.
BARE_KEYWORD = r"(?<![\w?$:@.\-\\%])({})(?![\w:.\-])"
_SERVICE_OR_DEFINE = re.compile(BARE_KEYWORD.format("SERVICE|DEFINE"), re.IGNORECASE)
_DATASET_CLAUSE = re.compile(BARE_KEYWORD.format("FROM") + r"\s+(?:NAMED\s+)?(?:<[^>]*>|[^\s{}]+)", re.IGNORECASE)


def mask_sparql(sparql: str) -> str:
    """The text with strings and comments blanked and IRIs emptied, same length and offsets."""

    def blank(m: re.Match[str]) -> str:
        t = m.group(0)
        return "<" + "_" * (len(t) - 2) + ">" if t.startswith("<") else " " * len(t)

    return _OPAQUE.sub(blank, sparql)


def restrict_query(sparql: str, *, strip_dataset: bool) -> str:
    """Check a query that must see only its protocol dataset (``named_graphs``), before it runs.

    SERVICE is refused: it would read another endpoint (Oxigraph's own, say) outside the dataset, or
    make the server fetch any URL. DEFINE is refused: Virtuoso's pragmas (``DEFINE input:default-graph-uri``)
    replace the dataset, and it is not SPARQL 1.1 anyway. With ``strip_dataset`` the query's FROM / FROM
    NAMED clauses are cut out: the SPARQL 1.1 Protocol says the protocol dataset replaces them, and
    Virtuoso 7 lets them win instead, so the client enforces the rule for every remote engine."""
    masked = mask_sparql(sparql)
    if m := _SERVICE_OR_DEFINE.search(masked):
        word = m.group(1).upper()
        raise QueryError(
            f"{word} is not allowed in queries on a restricted dataset",
            f"受限数据集上的查询不允许使用 {word}",
            where="query",
        )
    if not strip_dataset:
        return sparql
    out, last = [], 0
    for m in _DATASET_CLAUSE.finditer(masked):
        out.append(sparql[last : m.start()] + " ")
        last = m.end()
    return "".join(out) + sparql[last:]


def timeout_error(timeout_s: float) -> QueryTimeout:
    return QueryTimeout(
        f"query exceeded the {timeout_s:g} s time limit",
        f"查询超过 {timeout_s:g} 秒的时间限制",
        where="query",
    )


# --- writes both adapters share --------------------------------------------------------------------


class SparqlUpdates:
    """Writes both adapters express the same way: one SPARQL Update, one transaction."""

    def update(self, sparql: str) -> None:
        raise NotImplementedError

    def delete_subjects(self, graph_iri: str, subjects: Sequence[str]) -> None:
        self.update_transaction(graph_iri, subjects, None)

    def update_transaction(self, graph_iri: str, remove_subjects: Sequence[str], add: rdflib.Graph | None) -> None:
        text = transaction_update(graph_iri, remove_subjects, add)
        if text:
            self.update(text)
