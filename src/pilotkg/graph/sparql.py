"""Running user SPARQL safely: read-only by default, restricted datasets, time limits, table output.

Whether a text is an Update is decided by parsing (rdflib's SPARQL Update grammar), not by keywords
alone; the keyword check only skips the parser for texts that cannot be updates (every SPARQL Update
operation starts with one of ``UPDATE_KEYWORDS``). A text that the Update parser rejects but whose first
operation word is an Update keyword is still refused as an update (a malformed one). Everything else
goes to the engine's *query* parser, so nothing but a query can run, and its syntax errors come back as
QueryError with the engine's message. Time limits are enforced by the store (see :mod:`pilotkg.graph.store.embedded`).
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Sequence
from importlib import resources

from pydantic import BaseModel
from pyparsing import ParseException
from rdflib.plugins.sparql.parser import parseUpdate
from rich.console import Console
from rich.table import Table

from pilotkg.errors import NotFoundError, QueryError, UpdateForbidden
from pilotkg.graph.store.base import GraphStore, QueryResult, Term
from pilotkg.graph.vocabulary import PREFIXES

UPDATE_KEYWORDS = ("insert", "delete", "load", "clear", "drop", "create", "add", "move", "copy", "with")
_KEYWORD = re.compile(r"\b(" + "|".join(UPDATE_KEYWORDS) + r")\b", re.IGNORECASE)
_COMMENT = re.compile(r"#[^\n]*")
_PROLOGUE = re.compile(r"^\s*(?:(?:PREFIX\s+[^\s:]*:\s*<[^>]*>|BASE\s+<[^>]*>)\s*)*", re.IGNORECASE)


def is_update(text: str) -> bool:
    """True if ``text`` is a SPARQL Update request (well-formed or not)."""
    if not _KEYWORD.search(text):
        return False
    try:
        parsed = parseUpdate(text)
    except ParseException:
        # Comments are stripped naively (a '#' inside an IRI or string could cut more): this only
        # decides which error a malformed text gets, never whether something runs as an update.
        head = _PROLOGUE.sub("", _COMMENT.sub("", text), count=1)
        first = re.match(r"\s*([A-Za-z]+)", head)
        return bool(first and first.group(1).lower() in UPDATE_KEYWORDS)
    return bool(parsed.get("request"))


def run_query(
    store: GraphStore,
    text: str,
    *,
    timeout_s: float | None,
    read_only: bool = True,
    allowed_graphs: Sequence[str] | None = None,
) -> QueryResult:
    """Run a SPARQL query; ``allowed_graphs`` is the whole dataset the query can see (default graph =
    their union, ``GRAPH`` limited to them, ``FROM`` clauses overridden)."""
    if not text.strip():
        raise QueryError("empty query", "查询为空", where="query")
    if is_update(text):
        if read_only or allowed_graphs is not None:
            raise UpdateForbidden(
                "SPARQL Update (INSERT/DELETE/LOAD/CLEAR/DROP/CREATE/…) is not allowed here",
                "此处不允许执行 SPARQL 更新（INSERT/DELETE/LOAD/CLEAR/DROP/CREATE 等）",
                where="query",
            )
        store.update(text)
        return QueryResult("update")
    return store.query(text, timeout_s=timeout_s, named_graphs=allowed_graphs)


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
