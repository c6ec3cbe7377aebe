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

from pilotkg.errors import InputError, QueryError, QueryTimeout, ResultTooLarge

if TYPE_CHECKING:
    from collections.abc import Callable


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


def result_too_large(what: str, limit: int) -> ResultTooLarge:
    return ResultTooLarge(
        f"the result has more than {limit} {what}; add a LIMIT (or use a token with more allowance)",
        f"查询结果超过 {limit} {'行' if what == 'rows' else '字节'}；请加上 LIMIT（或使用有更高额度的令牌）",
        where="query",
    )


class _Budget:
    """Counts rows and bytes (the characters of the values) as a result is read, and stops it past the limits."""

    def __init__(self, max_rows: int | None, max_bytes: int | None) -> None:
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.rows = self.bytes = 0

    def add(self, *terms: Term) -> None:
        self.rows += 1
        if self.max_rows is not None and self.rows > self.max_rows:
            raise result_too_large("rows", self.max_rows)
        if self.max_bytes is not None:
            self.bytes += sum(len(t.value) + 16 for t in terms)
            if self.bytes > self.max_bytes:
                raise result_too_large("bytes", self.max_bytes)


def materialize(
    res: Any,
    cancel: threading.Event | None,
    t0: float,
    *,
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> QueryResult:
    """pyoxigraph results → QueryResult, checking for cancellation and the size limits at every row."""
    try:
        return _materialize(res, cancel, t0, _Budget(max_rows, max_bytes))
    finally:
        del res  # pyoxigraph iterators are thread-bound: no frame of a raised exception may keep one


def _materialize(res: Any, cancel: threading.Event | None, t0: float, budget: _Budget) -> QueryResult:
    if isinstance(res, ox.QueryBoolean):
        return QueryResult("boolean", boolean=bool(res), seconds=time.perf_counter() - t0)
    if isinstance(res, ox.QueryTriples) or not hasattr(res, "variables"):
        triples: list[ox.Triple] = []
        rows = []
        for t in res:
            if cancel is not None and cancel.is_set():
                raise Cancelled
            triple = t if isinstance(t, ox.Triple) else t.triple
            triples.append(triple)
            row = {
                "subject": to_term(triple.subject),
                "predicate": to_term(triple.predicate),
                "object": to_term(triple.object),
            }
            budget.add(*row.values())
            rows.append(row)
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
        budget.add(*row.values())
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
    def run_untrusted(
        self,
        sparql: str,
        *,
        prepare: Callable[[str], str],
        timeout_s: float | None,
        named_graphs: Sequence[str] | None,
        max_rows: int | None = None,
        max_bytes: int | None = None,
        priority: bool = False,
    ) -> QueryResult:
        """A user's query: ``prepare`` (parse, check, maybe rewrite) runs where the query runs, which for
        the embedded store is a worker process that is killed at the time limit."""
        ...

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


# --- the SPARQL lexer: size and nesting limits before any parser sees a text -------------------------

# The store library's parser and evaluator recurse on nesting ({ ( [ !, sub-SELECT, OPTIONAL) and on long
# chains of UNION / MINUS / BIND (each adds a level to the algebra tree): ~3 000 levels overflow the
# native stack and kill the process, and rdflib's pyparsing grammar gives up (RecursionError) after a few
# dozen. So every user text is first scanned by this linear lexer — strings, IRIs, comments and
# prefixed-name escapes (``e:a\#x``) tokenised as the SPARQL grammar does — and refused past the limits.


@dataclass(frozen=True)
class SparqlLimits:
    """What a user's SPARQL text may contain (checked by :func:`scan_sparql`) and return."""

    max_chars: int = 100_000
    max_depth: int = 32  # { ( [ nested
    max_tokens: int = 20_000
    max_brackets: int = 4_096  # all { ( [ together
    max_keyword: int = 128  # each of NESTING_KEYWORDS
    max_not: int = 64  # '!' (each one nests an expression)
    max_rows: int | None = None  # result rows (None: unlimited)
    max_bytes: int | None = None  # result size, counted as the characters of the values
    priority: bool = False  # token holders: may use the query worker kept free for them


# Keywords whose every occurrence adds a level to the algebra (or a sub-query).
NESTING_KEYWORDS = frozenset(
    {"UNION", "OPTIONAL", "MINUS", "BIND", "FILTER", "SELECT", "GRAPH", "EXISTS", "VALUES", "SERVICE"}
)
UPDATE_KEYWORDS = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"})
QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})

_WS = re.compile(r"\s+")
_COMMENT = re.compile(r"#[^\n\r]*")
_IRIREF = re.compile(r'<[^<>"{}|^`\\\x00-\x20]*>')
_STRING = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|'
    r"'''(?:[^'\\]|\\.|'(?!''))*'''|"
    r'"(?:[^"\\\n\r]|\\.)*"|'
    r"'(?:[^'\\\n\r]|\\.)*'",
    re.DOTALL,
)
_VAR = re.compile(r"[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]*")
_LANGTAG = re.compile(r"@[A-Za-z0-9\-]+")
# Keywords, prefixed names (with %HH and \\-escapes), blank-node labels, numbers.
_WORD = re.compile(r"(?:[\w:%\-]|\\.|\.(?=[\w:%\-\\]))+")


@dataclass(frozen=True)
class Token:
    kind: Literal["word", "iri", "string", "var", "lang", "punct"]
    text: str
    start: int
    end: int

    @property
    def keyword(self) -> str | None:
        """The upper-cased keyword this token is (a word without ':'), else None."""
        return self.text.upper() if self.kind == "word" and ":" not in self.text else None


@dataclass(frozen=True)
class SparqlScan:
    tokens: list[Token]
    depth: int
    keywords: dict[str, int]

    @property
    def first_keyword(self) -> str | None:
        """The first keyword after the prologue (PREFIX p: <…> / BASE <…>)."""
        i, toks = 0, self.tokens
        while i < len(toks):
            kw = toks[i].keyword
            if kw == "PREFIX":
                i += 3
            elif kw == "BASE":
                i += 2
            else:
                return kw
        return None

    @property
    def is_update(self) -> bool:
        """Every SPARQL Update operation starts with one of UPDATE_KEYWORDS; no query does."""
        return self.first_keyword in UPDATE_KEYWORDS

    @property
    def form(self) -> str | None:
        """The query form (the first of SELECT/ASK/CONSTRUCT/DESCRIBE: a sub-query comes later)."""
        return next((t.keyword for t in self.tokens if t.keyword in QUERY_FORMS), None)

    def has_keyword(self, word: str) -> bool:
        return any(t.keyword == word for t in self.tokens)

    def without_dataset_clauses(self, text: str) -> str:
        """``text`` without its ``FROM [NAMED] <iri>|prefix:name`` clauses (the protocol dataset replaces them)."""
        out, last, toks = [], 0, self.tokens
        for i, t in enumerate(toks):
            if t.keyword != "FROM":
                continue
            j = i + 1
            if j < len(toks) and toks[j].keyword == "NAMED":
                j += 1
            if j < len(toks) and toks[j].kind in ("iri", "word"):
                out.append(text[last : t.start] + " ")
                last = toks[j].end
        return "".join(out) + text[last:]


def _too_big(en: str, zh: str) -> QueryError:
    return QueryError(en, zh, where="query")


def scan_sparql(text: str, limits: SparqlLimits) -> SparqlScan:
    """Tokenise ``text`` and enforce ``limits`` (QueryError past any of them), in one linear pass."""
    if len(text) > limits.max_chars:
        raise _too_big(
            f"the query is {len(text)} characters long; at most {limits.max_chars} are accepted",
            f"查询长度为 {len(text)} 个字符，最多接受 {limits.max_chars} 个",
        )
    tokens: list[Token] = []
    keywords: dict[str, int] = {}
    depth = max_depth = brackets = nots = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        m: re.Match[str] | None
        if c.isspace():
            m = _WS.match(text, i)
            assert m is not None
            i = m.end()
            continue
        if c == "#":
            m = _COMMENT.match(text, i)
            assert m is not None
            i = m.end()
            continue
        kind: Literal["word", "iri", "string", "var", "lang", "punct"] = "punct"
        m = None
        if c == "<":
            m = _IRIREF.match(text, i)
            kind = "iri"
        elif c in "\"'":
            m = _STRING.match(text, i)
            if m is None:
                raise _too_big("unterminated string in the query", "查询中有未结束的字符串")
            kind = "string"
        elif c in "?$":
            m = _VAR.match(text, i)
            kind = "var"
        elif c == "@":
            m = _LANGTAG.match(text, i)
            kind = "lang"
        elif c.isalnum() or c in "_:\\":
            m = _WORD.match(text, i)
            kind = "word"
        if m is None or m.end() == i:
            kind = "punct"
            end = i + 1
        else:
            end = m.end()
        tok = Token(kind, text[i:end], i, end)
        i = end
        tokens.append(tok)
        if len(tokens) > limits.max_tokens:
            raise _too_big(
                f"the query has more than {limits.max_tokens} tokens", f"查询的词法单元超过 {limits.max_tokens} 个"
            )
        if kind == "punct":
            if tok.text in "{([":
                depth += 1
                brackets += 1
                max_depth = max(max_depth, depth)
                if depth > limits.max_depth or brackets > limits.max_brackets:
                    raise _too_big(
                        f"the query nests {{ ( [ more than {limits.max_depth} deep "
                        f"(or has more than {limits.max_brackets} of them)",
                        f"查询中 {{ ( [ 的嵌套超过 {limits.max_depth} 层（或总数超过 {limits.max_brackets} 个）",
                    )
            elif tok.text in "})]":
                depth = max(0, depth - 1)
            elif tok.text == "!":
                nots += 1
                if nots > limits.max_not:
                    raise _too_big(
                        f"the query has more than {limits.max_not} '!' operators",
                        f"查询中的“!”运算符超过 {limits.max_not} 个",
                    )
        elif (kw := tok.keyword) in NESTING_KEYWORDS:
            assert kw is not None
            keywords[kw] = keywords.get(kw, 0) + 1
            if keywords[kw] > limits.max_keyword:
                raise _too_big(
                    f"the query has more than {limits.max_keyword} {kw} keywords",
                    f"查询中的 {kw} 关键字超过 {limits.max_keyword} 个",
                )
    return SparqlScan(tokens, max_depth, keywords)


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
