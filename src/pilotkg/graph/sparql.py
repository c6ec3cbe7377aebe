"""Running user SPARQL safely: size and nesting limits, one parse, restricted datasets, time limits, tables.

Every user text goes through one path (:func:`run_query`):

1. :func:`pilotkg.graph.store.base.scan_sparql` — a linear lexer — refuses texts past the size and nesting
   limits before any parser sees them (the store library crashes on ~3 000 nesting levels, rdflib's
   parser on far fewer).
2. Update or query is decided on the tokens: every SPARQL Update operation starts with an update keyword
   after the prologue, no query does. Updates are refused (403) unless the caller allows them.
3. :func:`prepare_query` parses the query with rdflib's SPARQL grammar and translates it to algebra;
   SERVICE (anywhere in the algebra, or as a keyword token) is refused on a restricted dataset, and
   FROM / FROM NAMED are read from the parsed query and cut out (the protocol dataset replaces them).
   It runs where the query runs — a worker process for the embedded store — so a parse that is slow or
   fails badly is stopped with the query.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import BaseModel
from pyparsing import ParseBaseException
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rich.console import Console
from rich.table import Table

from pilotkg.errors import NotFoundError, QueryError, UpdateForbidden
from pilotkg.graph.store.base import GraphStore, QueryResult, SparqlLimits, Term, scan_sparql
from pilotkg.graph.vocabulary import PREFIXES

DEFAULT_LIMITS = SparqlLimits()
# For telling updates from queries in texts that are not run (no size limits apply there).
_UNLIMITED = SparqlLimits(
    max_chars=10**9, max_depth=10**9, max_tokens=10**9, max_brackets=10**9, max_keyword=10**9, max_not=10**9
)
_MESSAGE_CHARS = 300  # parser messages are cut: they quote the text


@dataclass(frozen=True)
class ParsedQuery:
    """What the checks need from a parsed query."""

    form: str  # SelectQuery, AskQuery, ConstructQuery, DescribeQuery
    service: bool
    from_graphs: tuple[str, ...]
    from_named_graphs: tuple[str, ...]


def is_update(text: str) -> bool:
    """True if ``text`` is a SPARQL Update request (well-formed or not)."""
    return scan_sparql(text, _UNLIMITED).is_update


def _short(message: str) -> str:
    message = " ".join(message.split())
    return message if len(message) <= _MESSAGE_CHARS else message[:_MESSAGE_CHARS] + " …"


def _nodes(root: Any) -> Iterator[CompValue]:
    """Every algebra node under ``root`` (iteratively: the tree is as deep as the query)."""
    stack = [root]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, CompValue):
            yield item
            stack.extend(item.values())
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def parse_query(text: str) -> ParsedQuery:
    """rdflib's SPARQL 1.1 query grammar and algebra: QueryError when the text is not a query."""
    try:
        query = translateQuery(parseQuery(text))
    except RecursionError:
        raise QueryError("the query is nested too deeply to parse", "查询嵌套过深，无法解析", where="query") from None
    except ParseBaseException as exc:
        raise QueryError(
            f"malformed SPARQL: {_short(str(exc))}", f"SPARQL 语法错误：{_short(str(exc))}", where="query"
        ) from None
    except Exception as exc:  # rdflib raises plain Exception for e.g. an undeclared prefix
        raise QueryError(
            f"malformed SPARQL: {_short(str(exc))}", f"SPARQL 语法错误：{_short(str(exc))}", where="query"
        ) from None
    algebra = query.algebra
    service = any(node.name == "ServiceGraphPattern" for node in _nodes(algebra))
    default: list[str] = []
    named: list[str] = []
    # CompValue.get resolves variables and raises on a missing key: plain dict lookups here.
    for clause in dict.get(algebra, "datasetClause") or []:
        if (g := dict.get(clause, "default")) is not None:
            default.append(str(g))
        if (g := dict.get(clause, "named")) is not None:
            named.append(str(g))
    return ParsedQuery(algebra.name, service, tuple(default), tuple(named))


def prepare_query(text: str, *, restricted: bool, limits: SparqlLimits = DEFAULT_LIMITS) -> str:
    """The text the engine may run: checked (limits, query not update, no SERVICE on a restricted
    dataset) and, on a restricted dataset, without its FROM / FROM NAMED clauses."""
    scan = scan_sparql(text, limits)
    if scan.is_update:
        raise _update_forbidden()
    parsed = parse_query(text)
    if restricted:
        # Decided on the algebra; the keyword token is checked as well, so that a text the two parsers
        # read differently (rdflib and the store's) is refused rather than run.
        for word, present in (
            ("SERVICE", parsed.service or scan.has_keyword("SERVICE")),
            ("DEFINE", scan.has_keyword("DEFINE")),
        ):
            if present:
                raise QueryError(
                    f"{word} is not allowed in queries on a restricted dataset",
                    f"受限数据集上的查询不允许使用 {word}",
                    where="query",
                )
        if parsed.from_graphs or parsed.from_named_graphs:
            text = scan.without_dataset_clauses(text)
            if parse_query(text).from_graphs or parse_query(text).from_named_graphs:
                raise QueryError(
                    "FROM / FROM NAMED could not be removed from the query",
                    "无法从查询中去除 FROM / FROM NAMED",
                    where="query",
                )
    return text


def _update_forbidden() -> UpdateForbidden:
    return UpdateForbidden(
        "SPARQL Update (INSERT/DELETE/LOAD/CLEAR/DROP/CREATE/…) is not allowed here",
        "此处不允许执行 SPARQL 更新（INSERT/DELETE/LOAD/CLEAR/DROP/CREATE 等）",
        where="query",
    )


def run_query(
    store: GraphStore,
    text: str,
    *,
    timeout_s: float | None,
    read_only: bool = True,
    allowed_graphs: Sequence[str] | None = None,
    limits: SparqlLimits = DEFAULT_LIMITS,
) -> QueryResult:
    """Run a user's SPARQL; ``allowed_graphs`` is the whole dataset the query can see (default graph =
    their union, ``GRAPH`` limited to them, ``FROM`` clauses overridden)."""
    if not text.strip():
        raise QueryError("empty query", "查询为空", where="query")
    scan = scan_sparql(text, limits)  # before anything parses the text
    if scan.is_update:
        if read_only or allowed_graphs is not None:
            raise _update_forbidden()
        store.update(text)
        return QueryResult("update")
    prepare = functools.partial(prepare_query, restricted=allowed_graphs is not None, limits=limits)
    return store.run_untrusted(
        text,
        prepare=prepare,
        timeout_s=timeout_s,
        named_graphs=allowed_graphs,
        max_rows=limits.max_rows,
        max_bytes=limits.max_bytes,
        priority=limits.priority,
    )


def short_iri(value: str) -> str:
    for prefix, ns in PREFIXES.items():
        if value.startswith(ns) and len(value) > len(ns):
            return f"{prefix}:{value[len(ns) :]}"
    return f"<{value}>"


def _cell(t: Term | None) -> str:
    if t is None:
        return ""
    if t.type == "uri":
        return short_iri(t.value)
    if t.type == "bnode":
        return f"_:{t.value}"
    return t.value  # language tags and datatypes are noise in a terminal table


def format_table(result: QueryResult, *, width: int | None = None) -> str:
    """The result as a plain-text table (rich) as wide as the terminal, for the CLI. Print it as
    plain text (``sys.stdout.write``): through a rich console, cell text like ``[x]`` reads as markup."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False, soft_wrap=False)
    if result.kind == "boolean":
        console.print("true" if result.boolean else "false")
    elif result.kind == "update":
        console.print("update executed / 已执行更新")
    else:
        table = Table(show_lines=False)
        for v in result.variables:
            table.add_column(v, overflow="fold")
        for row in result.rows:
            table.add_row(*(_cell(row.get(v)) for v in result.variables))
        console.print(table)
        console.print(f"{len(result.rows)} row(s) / 行, {result.seconds * 1000:.1f} ms")
    return buf.getvalue()


class ExampleQuery(BaseModel):
    name: str  # file stem, e.g. "threshold-requirements"
    title_zh: str
    title_en: str
    text: str


def example_queries() -> list[ExampleQuery]:
    """The packaged example queries (``ontology/queries/*.rq``), each opening with ``# title: zh / en``."""
    out = []
    folder = resources.files("pilotkg.ontology").joinpath("queries")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".rq"):
            continue
        text = entry.read_text(encoding="utf-8")
        m = re.match(r"#\s*title:\s*(.+?)\s*/\s*(.+?)\s*$", text.splitlines()[0] if text else "")
        title_zh, title_en = (m.group(1), m.group(2)) if m else (entry.name, entry.name)
        out.append(ExampleQuery(name=entry.name[:-3], title_zh=title_zh, title_en=title_en, text=text))
    return out


def example_query(name: str) -> ExampleQuery:
    for q in example_queries():
        if q.name == name:
            return q
    raise NotFoundError(f"no example query {name!r}", f"没有名为 {name!r} 的示例查询", where="query")
