"""The RDF store: one interface, two adapters (embedded Oxigraph, remote SPARQL 1.1 endpoint).

Both adapters write with the same SPARQL Update text (``DROP SILENT GRAPH …; INSERT DATA …`` and
``DELETE … WHERE … VALUES``): one update request is one transaction in Oxigraph (embedded: pyoxigraph
``Store.update``; remote: the SPARQL 1.1 Update service), so readers see the old graph or the new one,
never half. When a Graph Store Protocol URL is set, the remote adapter PUTs/POSTs whole graphs there.
(pyoxigraph's ``bulk_extend`` is not transactional and ``extend`` cannot drop the old graph in the same
transaction; staging with ``extend`` + ``MOVE`` measured no faster than the single update, ~0.5 s for
the 4 k-triple policy graph on the 2-core machine, so the one update it is.)

Queries on the embedded store run in a daemon worker thread: pyoxigraph cannot cancel a query, but it
releases the GIL while evaluating, so a query past its deadline is *abandoned* — the caller gets
QueryTimeout at once, the worker stops at its next result row, and a query that yields no row (a runaway
aggregate) runs on in its thread until it finishes. At most ``MAX_ABANDONED`` such threads may linger;
beyond that new queries are refused (StoreError) rather than piling up.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx
import pyoxigraph as ox

from pilotkg.errors import InputError, QueryError, QueryTimeout, StoreError

if TYPE_CHECKING:
    import rdflib

    from pilotkg.settings import Settings

MAX_ABANDONED = 4
# Triples per INSERT DATA operation. Virtuoso 7's SPARQL parser runs out of stack ("SP030 … memory
# exhausted") past ~4,990 triples in one operation; several operations in one request are still one
# transaction there as in Oxigraph, so a big graph is still replaced atomically.
INSERT_CHUNK = 2000
# Subjects per DELETE … VALUES operation: Virtuoso refuses some thousands of VALUES rows ("Too many
# arguments for standard built-in function").
DELETE_CHUNK = 1000
# Opening read-only beside a writer races its compactions (see EmbeddedStore._open_read_only).
_READ_ONLY_ATTEMPTS = 5
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
            from pilotkg.graph import PREFIXES

            rdf = _GRAPH_FORMATS[fmt]
            prefixes = None if fmt == "ntriples" else {k: v for k, v in PREFIXES.items() if k != "id"}
            return ox.serialize(self.triples, format=rdf, prefixes=prefixes), rdf.media_type
        if self.kind == "update" or fmt not in _RESULT_FORMATS:
            raise _bad_format(fmt, "json, xml, csv, tsv")
        body = self.to_json()
        rf = _RESULT_FORMATS[fmt]
        if fmt != "json":  # pyoxigraph re-serialises the standard JSON into the other standard formats
            body = ox.parse_query_results(body, ox.QueryResultsFormat.JSON).serialize(format=rf)
        return body, rf.media_type


def _bad_format(fmt: str, allowed: str) -> InputError:
    return InputError(
        f"format {fmt!r} does not fit this result (use {allowed})",
        f"结果格式 {fmt!r} 不适用于该查询结果（可用：{allowed}）",
        where="format",
    )


def _term(t: Any) -> Term:
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


class _Cancelled(Exception):
    pass


def _materialize(res: Any, cancel: threading.Event | None, t0: float) -> QueryResult:
    """pyoxigraph results → QueryResult, checking for cancellation at every row."""
    if isinstance(res, ox.QueryBoolean):
        return QueryResult("boolean", boolean=bool(res), seconds=time.perf_counter() - t0)
    if isinstance(res, ox.QueryTriples) or not hasattr(res, "variables"):
        triples: list[ox.Triple] = []
        for t in res:
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            triples.append(t if isinstance(t, ox.Triple) else t.triple)
        rows = [
            {"subject": _term(t.subject), "predicate": _term(t.predicate), "object": _term(t.object)} for t in triples
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
            raise _Cancelled
        row = {}
        for i, name in enumerate(names):
            v = sol[i]
            if v is not None:
                row[name] = _term(v)
        out.append(row)
    return QueryResult("bindings", names, out, seconds=time.perf_counter() - t0)


# --- the interface ---------------------------------------------------------------------------------


class GraphStore(Protocol):
    """What the rest of pilotkg uses. ``named_graphs`` is the query's whole dataset (default graph =
    their union; None = every graph); every write is one transaction; ``update`` runs raw SPARQL
    Update (callers decide whether that is allowed: see :func:`pilotkg.sparql.run_query`)."""

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


def open_store(settings: Settings, *, read_only: bool = False) -> GraphStore:
    """The remote endpoint when ``sparql_query_url`` is set, else the embedded store in ``store_dir``."""
    if settings.sparql_query_url:
        return RemoteStore(settings, read_only=read_only)
    return EmbeddedStore(settings.store_dir, read_only=read_only)


# --- SPARQL Update text shared by both adapters ----------------------------------------------------


def _iri_ref(value: str) -> str:
    if any(c in value for c in '<>"{}|^`\\ \n'):
        raise InputError(f"not an IRI: {value!r}", f"不是合法的 IRI：{value!r}", where="iri")
    return f"<{value}>"


def _ntriples(g: rdflib.Graph) -> str:
    from pilotkg.graph import to_oxigraph

    return ox.serialize(to_oxigraph(g), format=ox.RdfFormat.N_TRIPLES).decode("utf-8")


def _insert_ops(graph_iri: str, g: rdflib.Graph) -> list[str]:
    """``INSERT DATA`` operations of at most ``INSERT_CHUNK`` triples each (for one request)."""
    gi = _iri_ref(graph_iri)
    # N-Triples escapes \n inside literals, so one line is one triple (str.splitlines would also
    # split at U+2028 and friends, which N-Triples leaves raw)
    lines = [ln + "\n" for ln in _ntriples(g).split("\n") if ln]
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


def _count_query(graph_iri: str | None) -> str:
    if graph_iri is None:
        return "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
    return f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {_iri_ref(graph_iri)} {{ ?s ?p ?o }} }}"


def _count(res: QueryResult) -> int:
    return int(res.rows[0]["n"].value) if res.rows else 0


def _syntax_error(message: str) -> QueryError:
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
_BARE = r"(?<![\w?$:@.\-\\%])({})(?![\w:.\-])"
_SERVICE_OR_DEFINE = re.compile(_BARE.format("SERVICE|DEFINE"), re.IGNORECASE)
_DATASET_CLAUSE = re.compile(_BARE.format("FROM") + r"\s+(?:NAMED\s+)?(?:<[^>]*>|[^\s{}]+)", re.IGNORECASE)


def _mask(sparql: str) -> str:
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
    masked = _mask(sparql)
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


def _timeout(timeout_s: float) -> QueryTimeout:
    return QueryTimeout(
        f"query exceeded the {timeout_s:g} s time limit",
        f"查询超过 {timeout_s:g} 秒的时间限制",
        where="query",
    )


# --- embedded --------------------------------------------------------------------------------------

_abandoned: set[threading.Thread] = set()
_abandoned_lock = threading.Lock()


def _run_with_deadline(fn: Callable[[threading.Event], QueryResult], timeout_s: float) -> QueryResult:
    with _abandoned_lock:
        _abandoned.difference_update({t for t in _abandoned if not t.is_alive()})
        if len(_abandoned) >= MAX_ABANDONED:
            raise StoreError(
                f"{len(_abandoned)} timed-out queries are still running; try again later",
                f"仍有 {len(_abandoned)} 个超时查询在运行，请稍后再试",
                where="query",
            )
    box: dict[str, Any] = {}
    cancel = threading.Event()

    def work() -> None:
        try:
            box["result"] = fn(cancel)
        except BaseException as exc:  # handed to the waiting caller, re-raised there
            # pyoxigraph result iterators are thread-bound: the traceback's frames must not carry
            # them to whichever thread collects the exception
            traceback.clear_frames(exc.__traceback__)
            box["error"] = exc

    worker = threading.Thread(target=work, name="pilotkg-sparql", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        cancel.set()
        with _abandoned_lock:
            _abandoned.add(worker)
        raise _timeout(timeout_s)
    if "error" in box:
        raise box["error"]
    return box["result"]


class _SparqlUpdates:
    """Writes both adapters express the same way: one SPARQL Update, one transaction."""

    def update(self, sparql: str) -> None:
        raise NotImplementedError

    def delete_subjects(self, graph_iri: str, subjects: Sequence[str]) -> None:
        self.update_transaction(graph_iri, subjects, None)

    def update_transaction(self, graph_iri: str, remove_subjects: Sequence[str], add: rdflib.Graph | None) -> None:
        text = transaction_update(graph_iri, remove_subjects, add)
        if text:
            self.update(text)


class EmbeddedStore(_SparqlUpdates):
    """pyoxigraph on disk (``path``) or in memory (``path=None``, for tests)."""

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self.location = str(path) if path is not None else ":memory:"
        self._store: ox.Store | None = self._open(path, read_only)

    @staticmethod
    def _open(path: Path | None, read_only: bool) -> ox.Store:
        if path is None:
            return ox.Store()
        if read_only:
            if not (path / "CURRENT").is_file():
                raise StoreError(
                    f"no RDF store at {path}: run `pilotkg build` first",
                    f"{path} 处没有 RDF 存储：请先运行 `pilotkg build`",
                    where=str(path),
                )
            return EmbeddedStore._open_read_only(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            return ox.Store(str(path))
        except OSError as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    "the RDF store is in use by another process (a running `pilotkg serve`?): "
                    "use its HTTP API, or stop it first",
                    "RDF 存储正被另一进程使用（可能是正在运行的 `pilotkg serve`）："
                    "请通过其 HTTP API 操作，或先停止该服务",
                    where=str(path),
                ) from exc
            raise StoreError(f"cannot open the RDF store: {exc}", f"无法打开 RDF 存储：{exc}", where=str(path)) from exc

    @staticmethod
    def _open_read_only(path: Path) -> ox.Store:
        # A writer in another process may flush or compact between our reading the MANIFEST and opening
        # the SST files it lists; RocksDB then reports the vanished file as "Corruption". The store is
        # fine, so reading the (new) MANIFEST again succeeds.
        last: Exception | None = None
        for attempt in range(_READ_ONLY_ATTEMPTS):
            try:
                return ox.Store.read_only(str(path))
            except (OSError, RuntimeError) as exc:
                last = exc
                if "No such file" not in str(exc):
                    break
                time.sleep(0.05 * (attempt + 1))
        raise StoreError(
            f"cannot open the RDF store read-only: {last}",
            f"无法以只读方式打开 RDF 存储：{last}",
            where=str(path),
        ) from last

    @property
    def store(self) -> ox.Store:
        if self._store is None:
            raise StoreError("the store is closed", "存储已关闭", where=self.location)
        return self._store

    def _writable(self) -> ox.Store:
        if self.read_only:
            raise StoreError("the store is open read-only", "存储以只读方式打开", where=self.location)
        return self.store

    def query(
        self, sparql: str, *, timeout_s: float | None = None, named_graphs: Sequence[str] | None = None
    ) -> QueryResult:
        store = self.store
        kwargs: dict[str, Any]
        if named_graphs is None:
            kwargs = {"use_default_graph_as_union": True}
        else:  # the protocol dataset replaces any FROM / FROM NAMED of the query
            sparql = restrict_query(sparql, strip_dataset=False)
            graphs = [ox.NamedNode(g) for g in named_graphs]
            kwargs = {"default_graph": graphs, "named_graphs": graphs}

        def run(cancel: threading.Event | None) -> QueryResult:
            t0 = time.perf_counter()
            try:
                res = store.query(sparql, **kwargs)
                return _materialize(res, cancel, t0)
            except SyntaxError as exc:
                raise _syntax_error(str(exc)) from exc
            except OSError as exc:
                raise StoreError(
                    f"query failed in the store: {exc}", f"存储执行查询失败：{exc}", where="query"
                ) from exc

        if timeout_s is None:
            return run(None)
        try:
            return _run_with_deadline(run, timeout_s)
        except _Cancelled as exc:  # only reachable if the deadline passed as the last row came in
            raise _timeout(timeout_s) from exc

    def update(self, sparql: str) -> None:
        try:
            self._writable().update(sparql)
        except SyntaxError as exc:
            raise _syntax_error(str(exc)) from exc
        except OSError as exc:
            raise StoreError(f"update failed: {exc}", f"更新失败：{exc}", where=self.location) from exc

    def replace_graph(self, graph_iri: str, g: rdflib.Graph) -> None:
        self.update(replace_update(graph_iri, g))

    def add_to_graph(self, graph_iri: str, g: rdflib.Graph) -> None:
        self.update_transaction(graph_iri, [], g)

    def triple_count(self, graph_iri: str | None = None) -> int:
        if graph_iri is None:
            return len(self.store)
        return _count(self.query(_count_query(graph_iri), named_graphs=[graph_iri]))

    def close(self) -> None:
        if self._store is not None and not self.read_only:
            self._store.flush()
        # pyoxigraph has no close(): dropping the last reference releases the RocksDB lock
        self._store = None


# --- remote ----------------------------------------------------------------------------------------

_NO_GRAPH = "urn:pilotkg:no-graph"
_ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"
_ACCEPT_GRAPH = "application/n-triples, text/turtle;q=0.8"
_ACCEPT_RESULTS = "application/sparql-results+json"
_QUERY_FORM = re.compile(_BARE.format("SELECT|ASK|CONSTRUCT|DESCRIBE"), re.IGNORECASE)


def _accept_for(sparql: str) -> str:
    """Ask for triples only when the query makes triples: Virtuoso honours the first type of a mixed
    Accept for any query form and sends CONSTRUCT results as (non-standard) SPARQL results JSON."""
    m = _QUERY_FORM.search(_mask(sparql))  # the first form keyword is the query's own, not a subquery's
    if m is None:
        return _ACCEPT
    return _ACCEPT_GRAPH if m.group(1).upper() in ("CONSTRUCT", "DESCRIBE") else _ACCEPT_RESULTS


class _ChallengeAuth(httpx.Auth):
    """HTTP Basic or Digest, whichever the server's first 401 challenge names (Virtuoso's
    ``/sparql-auth`` only takes Digest; most other endpoints take Basic). Learned once per store."""

    requires_request_body = True  # a Digest retry re-sends the body

    def __init__(self, user: str, password: str) -> None:
        self._schemes: dict[str, httpx.Auth] = {
            "digest": httpx.DigestAuth(user, password),
            "basic": httpx.BasicAuth(user, password),
        }
        self._chosen: httpx.Auth | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._chosen is None:
            response = yield request
            if response.status_code != 401:
                return
            offered = {h.split(" ", 1)[0].lower() for h in response.headers.get_list("www-authenticate")}
            scheme = next((name for name in self._schemes if name in offered), None)
            if scheme is None:
                return
            self._chosen = self._schemes[scheme]
        yield from self._chosen.auth_flow(request)


class RemoteStore(_SparqlUpdates):
    """A SPARQL 1.1 Protocol endpoint (+ Graph Store Protocol when ``sparql_gsp_url`` is set)."""

    def __init__(self, settings: Settings, *, read_only: bool = False) -> None:
        assert settings.sparql_query_url
        self.read_only = read_only
        self.query_url = settings.sparql_query_url
        self.update_url = settings.sparql_update_url
        self.gsp_url = settings.sparql_gsp_url
        self.location = self.query_url
        auth = None
        if settings.sparql_user:
            auth = _ChallengeAuth(settings.sparql_user, settings.sparql_password or "")
        self._client = httpx.Client(auth=auth, timeout=httpx.Timeout(60.0, connect=5.0))

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise StoreError(f"SPARQL endpoint timed out: {url}", f"SPARQL 服务超时：{url}", where=url) from exc
        except httpx.HTTPError as exc:
            raise StoreError(
                f"cannot reach the SPARQL endpoint {url}: {exc}",
                f"无法连接 SPARQL 服务 {url}：{exc}",
                where=url,
            ) from exc

    def query(
        self, sparql: str, *, timeout_s: float | None = None, named_graphs: Sequence[str] | None = None
    ) -> QueryResult:
        if named_graphs is None:  # "all graphs" made explicit so remote and embedded answer alike
            named_graphs = self._graph_names()
        else:
            sparql = restrict_query(sparql, strip_dataset=True)
        # The protocol has no "empty dataset": a graph that never exists stands for none.
        graphs = list(named_graphs) or [_NO_GRAPH]
        return self._query({"query": sparql, "default-graph-uri": graphs, "named-graph-uri": graphs}, timeout_s)

    def _query(self, data: dict[str, str | list[str]], timeout_s: float | None) -> QueryResult:
        t0 = time.perf_counter()
        deadline = None if timeout_s is None else t0 + timeout_s
        body = bytearray()
        try:
            with self._client.stream(
                "POST",
                self.query_url,
                data=data,
                headers={"Accept": _accept_for(str(data["query"]))},
                timeout=httpx.Timeout(timeout_s, connect=5.0) if timeout_s is not None else None,
            ) as resp:
                for chunk in resp.iter_bytes():
                    body += chunk
                    if deadline is not None and time.perf_counter() > deadline:
                        raise _timeout(timeout_s or 0)
        except httpx.TimeoutException as exc:
            raise _timeout(timeout_s or 0) from exc
        except httpx.HTTPError as exc:
            raise StoreError(
                f"cannot reach the SPARQL endpoint {self.query_url}: {exc}",
                f"无法连接 SPARQL 服务 {self.query_url}：{exc}",
                where=self.query_url,
            ) from exc
        if resp.status_code == 400:
            raise _syntax_error(_server_text(bytes(body)))
        _raise_for(resp, self.query_url, bytes(body))
        ctype = resp.headers.get("content-type", "").split(";")[0].strip()
        if ctype in ("application/sparql-results+json", "application/json"):
            return _materialize(ox.parse_query_results(bytes(body), ox.QueryResultsFormat.JSON), None, t0)
        fmt = ox.RdfFormat.from_media_type(ctype)
        if fmt is None:
            raise StoreError(
                f"unexpected SPARQL response type {ctype!r}",
                f"SPARQL 服务返回了意外的类型 {ctype!r}",
                where=self.query_url,
            )
        return _materialize_triples((q.triple for q in ox.parse(bytes(body), fmt)), t0)

    def _graph_names(self) -> list[str]:
        res = self._query({"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"}, None)
        return sorted(r["g"].value for r in res.rows if "g" in r)

    def _writable_update_url(self) -> str:
        if self.read_only:
            raise StoreError("the store is open read-only", "存储以只读方式打开", where=self.location)
        if not self.update_url:
            raise StoreError("sparql_update_url is not set", "未设置 sparql_update_url", where="settings")
        return self.update_url

    def update(self, sparql: str) -> None:
        url = self._writable_update_url()
        resp = self._send(
            "POST",
            url,
            content=sparql.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update; charset=utf-8"},
        )
        if resp.status_code == 400:
            raise _syntax_error(_server_text(resp.content))
        _raise_for(resp, url)

    def _gsp(self, method: str, graph_iri: str, g: rdflib.Graph) -> None:
        assert self.gsp_url
        if self.read_only:
            raise StoreError("the store is open read-only", "存储以只读方式打开", where=self.location)
        resp = self._send(
            method,
            self.gsp_url,
            params={"graph": graph_iri},
            content=_ntriples(g).encode("utf-8"),
            headers={"Content-Type": "application/n-triples"},
        )
        _raise_for(resp, self.gsp_url)

    def replace_graph(self, graph_iri: str, g: rdflib.Graph) -> None:
        if self.gsp_url:
            self._gsp("PUT", graph_iri, g)  # GSP PUT replaces the graph in one request
        else:
            self.update(replace_update(graph_iri, g))

    def add_to_graph(self, graph_iri: str, g: rdflib.Graph) -> None:
        if self.gsp_url:
            self._gsp("POST", graph_iri, g)
        else:
            self.update_transaction(graph_iri, [], g)

    def triple_count(self, graph_iri: str | None = None) -> int:
        if graph_iri is None:  # the server's own dataset: its default graph and every named graph
            return _count(self._query({"query": _count_query(None)}, None))
        return _count(self.query(_count_query(graph_iri), named_graphs=[graph_iri]))

    def close(self) -> None:
        self._client.close()


def _materialize_triples(triples: Iterable[ox.Triple], t0: float) -> QueryResult:
    ts = list(triples)
    rows = [{"subject": _term(t.subject), "predicate": _term(t.predicate), "object": _term(t.object)} for t in ts]
    return QueryResult("graph", ["subject", "predicate", "object"], rows, triples=ts, seconds=time.perf_counter() - t0)


def _server_text(body: bytes, limit: int = 500) -> str:
    """The server's error text, cut short: Virtuoso echoes the whole request (megabytes of INSERT DATA)."""
    text = body.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + " …"


def _raise_for(resp: httpx.Response, url: str, body: bytes | None = None) -> None:
    if resp.status_code < 300:
        return
    text = _server_text(body if body is not None else resp.content)
    if resp.status_code in (401, 403):
        raise StoreError(
            f"the SPARQL endpoint refused the credentials (HTTP {resp.status_code})",
            f"SPARQL 服务拒绝了凭据（HTTP {resp.status_code}）",
            where=url,
        )
    raise StoreError(
        f"SPARQL endpoint error HTTP {resp.status_code}: {text}",
        f"SPARQL 服务错误 HTTP {resp.status_code}：{text}",
        where=url,
    )
