"""The remote store: a SPARQL 1.1 Protocol endpoint over httpx (+ the Graph Store Protocol when
``sparql_gsp_url`` is set), behind :class:`pilotkg.graph.store.GraphStore`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import httpx
import pyoxigraph as ox

from pilotkg.errors import StoreError
from pilotkg.graph.store.base import (
    QueryResult,
    SparqlLimits,
    SparqlUpdates,
    count_of,
    count_query,
    materialize,
    ntriples,
    replace_update,
    result_too_large,
    scan_sparql,
    syntax_error,
    timeout_error,
    to_term,
)

if TYPE_CHECKING:
    import rdflib

    from pilotkg.settings import Settings

log = logging.getLogger("pilotkg.store")
_NO_GRAPH = "urn:pilotkg:no-graph"
_ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"
_ACCEPT_GRAPH = "application/n-triples, text/turtle;q=0.8"
_ACCEPT_RESULTS = "application/sparql-results+json"
_SCAN_LIMITS = SparqlLimits(
    max_chars=10**9, max_depth=10**6, max_tokens=10**9, max_brackets=10**9, max_keyword=10**9, max_not=10**9
)


def _accept_for(sparql: str) -> str:
    """Ask for triples only when the query makes triples: Virtuoso honours the first type of a mixed
    Accept for any query form and sends CONSTRUCT results as (non-standard) SPARQL results JSON."""
    form = scan_sparql(sparql, _SCAN_LIMITS).form  # the first form keyword is the query's own, not a subquery's
    if form is None:
        return _ACCEPT
    return _ACCEPT_GRAPH if form in ("CONSTRUCT", "DESCRIBE") else _ACCEPT_RESULTS


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


class RemoteStore(SparqlUpdates):
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
        # The protocol has no "empty dataset": a graph that never exists stands for none.
        graphs = list(named_graphs) or [_NO_GRAPH]
        return self._query({"query": sparql, "default-graph-uri": graphs, "named-graph-uri": graphs}, timeout_s)

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
        """The remote engine runs the query (and schedules its own work); ``prepare`` runs here."""
        del priority
        result = self.query(prepare(sparql), timeout_s=timeout_s, named_graphs=named_graphs)
        if max_rows is not None and len(result.rows) > max_rows:
            raise result_too_large("rows", max_rows)
        if max_bytes is not None:
            size = sum(len(t.value) + 16 for row in result.rows for t in row.values())
            if size > max_bytes:
                raise result_too_large("bytes", max_bytes)
        return result

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
                        raise timeout_error(timeout_s or 0)
        except httpx.TimeoutException as exc:
            raise timeout_error(timeout_s or 0) from exc
        except httpx.HTTPError as exc:
            # No URL or library text in the message: it may reach API callers (the log has both).
            log.warning("SPARQL endpoint %s unreachable: %s", self.query_url, exc)
            raise StoreError("cannot reach the SPARQL endpoint", "无法连接 SPARQL 服务", where="store") from exc
        if resp.status_code == 400:
            raise syntax_error(_server_text(bytes(body)))
        _raise_for(resp, self.query_url, bytes(body))
        ctype = resp.headers.get("content-type", "").split(";")[0].strip()
        if ctype in ("application/sparql-results+json", "application/json"):
            return materialize(ox.parse_query_results(bytes(body), ox.QueryResultsFormat.JSON), None, t0)
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
            raise syntax_error(_server_text(resp.content))
        _raise_for(resp, url)

    def _gsp(self, method: str, graph_iri: str, g: rdflib.Graph) -> None:
        assert self.gsp_url
        if self.read_only:
            raise StoreError("the store is open read-only", "存储以只读方式打开", where=self.location)
        resp = self._send(
            method,
            self.gsp_url,
            params={"graph": graph_iri},
            content=ntriples(g).encode("utf-8"),
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
            return count_of(self._query({"query": count_query(None)}, None))
        return count_of(self.query(count_query(graph_iri), named_graphs=[graph_iri]))

    def close(self) -> None:
        self._client.close()


def _materialize_triples(triples: Iterable[ox.Triple], t0: float) -> QueryResult:
    ts = list(triples)
    rows = [{"subject": to_term(t.subject), "predicate": to_term(t.predicate), "object": to_term(t.object)} for t in ts]
    return QueryResult("graph", ["subject", "predicate", "object"], rows, triples=ts, seconds=time.perf_counter() - t0)


def _server_text(body: bytes, limit: int = 500) -> str:
    """The server's error text, cut short: Virtuoso echoes the whole request (megabytes of INSERT DATA)."""
    text = body.decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[:limit] + " …"


def _raise_for(resp: httpx.Response, url: str, body: bytes | None = None) -> None:
    if resp.status_code < 300:
        return
    # The endpoint's own text goes to the log, not into the message: it may echo a whole request or
    # internal detail, and the message reaches API callers.
    log.warning(
        "SPARQL endpoint %s: HTTP %s: %s",
        url,
        resp.status_code,
        _server_text(body if body is not None else resp.content),
    )
    if resp.status_code in (401, 403):
        raise StoreError(
            f"the SPARQL endpoint refused the credentials (HTTP {resp.status_code})",
            f"SPARQL 服务拒绝了凭据（HTTP {resp.status_code}）",
            where=url,
        )
    raise StoreError(
        f"SPARQL endpoint error HTTP {resp.status_code}",
        f"SPARQL 服务错误 HTTP {resp.status_code}",
        where=url,
    )
