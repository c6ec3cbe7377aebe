"""The knowledge graph: the policy as RDF (:mod:`.rdf`), its vocabulary, SHACL validation, export,
SPARQL, and the store that holds it (:mod:`.store`)."""

from pilotkg.graph.export import ExportFormat, canonical_ntriples, export
from pilotkg.graph.rdf import (
    BuildSummary,
    ScenarioRow,
    action_plan_graph,
    build,
    build_graph,
    build_policy_graph,
    read_scenario_table,
)
from pilotkg.graph.sparql import example_queries, example_query, format_table, is_update, run_query
from pilotkg.graph.store import GraphStore, QueryResult, Term, open_store, serialize_rdf
from pilotkg.graph.validation import ValidationIssue, ValidationReport, validate
from pilotkg.graph.vocabulary import PK, PREFIXES, ontology_graph, shapes_graph

__all__ = [
    "PK",
    "PREFIXES",
    "BuildSummary",
    "ExportFormat",
    "GraphStore",
    "QueryResult",
    "ScenarioRow",
    "Term",
    "ValidationIssue",
    "ValidationReport",
    "action_plan_graph",
    "build",
    "build_graph",
    "build_policy_graph",
    "canonical_ntriples",
    "example_queries",
    "example_query",
    "export",
    "format_table",
    "is_update",
    "ontology_graph",
    "open_store",
    "read_scenario_table",
    "run_query",
    "serialize_rdf",
    "shapes_graph",
    "validate",
]
