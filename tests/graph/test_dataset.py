"""The query dataset: a list of graphs that covers the whole store is asked for as Oxigraph's union
default graph (faster), and only then; a caller limited to some graphs never sees the others."""

from __future__ import annotations

import pyoxigraph as ox

from pilotkg.graph.store.pool import covers_store, query_dataset

A = "https://example.org/graph/a"
B = "https://example.org/graph/b"
ASK_B = "ASK { <https://example.org/s> <https://example.org/p> 'in b' }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def store_with(*graphs: str, default: bool = False) -> ox.Store:
    store = ox.Store()
    s, p = ox.NamedNode("https://example.org/s"), ox.NamedNode("https://example.org/p")
    for g in graphs:
        store.add(ox.Quad(s, p, ox.Literal(f"in {g[-1]}"), ox.NamedNode(g)))
    if default:
        store.add(ox.Quad(s, p, ox.Literal("in the default graph"), ox.DefaultGraph()))
    return store


def count(store: ox.Store, graphs: list[str] | None) -> int:
    return query_dataset(store, COUNT, graphs, lambda res: int(next(iter(res))["n"].value))


def test_covers_store_only_when_every_graph_is_listed_and_the_default_graph_is_empty() -> None:
    assert covers_store(store_with(A, B), [A, B])
    assert covers_store(store_with(A), [A, B])  # a listed graph the store lacks is empty anyway
    assert not covers_store(store_with(A, B), [A])
    assert not covers_store(store_with(A, B, default=True), [A, B])


def test_a_caller_limited_to_some_graphs_never_sees_the_others() -> None:
    store = store_with(A, B, default=True)
    assert count(store, [A]) == 1
    assert not query_dataset(store, ASK_B, [A], lambda res: bool(res))
    assert count(store, [A, B]) == 2  # not the default graph's triple
    assert count(store, None) == 3  # every graph


def test_the_union_and_the_explicit_list_answer_alike_when_they_are_the_same_dataset() -> None:
    store = store_with(A, B)
    assert count(store, [A, B]) == count(store, None) == 2
    assert query_dataset(store, ASK_B, [A, B], lambda res: bool(res))
