"""The knowledge graph: the policy as RDF (:mod:`.rdf`), its vocabulary, SHACL validation, export,
SPARQL, and the store that holds it (:mod:`.store`)."""

from pilotkg.graph.export import ExportFormat, canonical_ntriples, export
from pilotkg.graph.linkeddata import (
    DUMPS,
    RDF_OFFERS,
    RdfSyntax,
    describe_query,
    jsonld_context,
    labels_query,
    serialize_as,
    to_jsonld,
    void_query,
)
from pilotkg.graph.rdf import (
    BuildSummary,
    ScenarioRow,
    action_plan_graph,
    add_quantity,
    build,
    build_graph,
    build_policy_graph,
    read_scenario_table,
)
from pilotkg.graph.sparql import example_queries, example_query, format_table, is_update, run_query
from pilotkg.graph.store import GraphStore, QueryResult, SparqlLimits, Term, open_store, serialize_rdf
from pilotkg.graph.validation import ValidationIssue, ValidationReport, validate
from pilotkg.graph.vocabulary import PK, PKSH, PREFIXES, add_standard_types, ontology_graph, regions_graph, shapes_graph

__all__ = [
    "DUMPS",
    "PK",
    "PKSH",
    "PREFIXES",
    "RDF_OFFERS",
    "BuildSummary",
    "ExportFormat",
    "GraphStore",
    "QueryResult",
    "RdfSyntax",
    "ScenarioRow",
    "SparqlLimits",
    "Term",
    "ValidationIssue",
    "ValidationReport",
    "action_plan_graph",
    "add_quantity",
    "add_standard_types",
    "build",
    "build_graph",
    "build_policy_graph",
    "canonical_ntriples",
    "describe_query",
    "example_queries",
    "example_query",
    "export",
    "format_table",
    "is_update",
    "jsonld_context",
    "labels_query",
    "ontology_graph",
    "open_store",
    "read_scenario_table",
    "regions_graph",
    "run_query",
    "serialize_as",
    "serialize_rdf",
    "shapes_graph",
    "to_jsonld",
    "validate",
    "void_query",
]
