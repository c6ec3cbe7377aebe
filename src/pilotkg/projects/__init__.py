"""Submitted projects: the model (:mod:`.base`), reading files (:mod:`.submissions`), the eligibility
rules as SHACL (:mod:`.eligibility`), the all-or-nothing import (:mod:`.importer`), projects as RDF
(:mod:`.rdf`) and similar-project search (:mod:`.similar`)."""

from pilotkg.projects.base import Enrichment, ProjectIn, ProjectOut, Unit
from pilotkg.projects.eligibility import EligibilityReport, RuleSet, RuleViolation, compile_rules
from pilotkg.projects.importer import ImportReport, import_file, import_projects, policy_text, precheck_projects
from pilotkg.projects.rdf import get_project, list_projects
from pilotkg.projects.similar import (
    DUPLICATE_THRESHOLD,
    PROJECTS,
    SimilarFilters,
    SimilarProject,
    index_projects,
    similar_to_project,
    similar_to_text,
)
from pilotkg.projects.submissions import ImportProgress, ProjectInputError, read_projects

__all__ = [
    "DUPLICATE_THRESHOLD",
    "PROJECTS",
    "EligibilityReport",
    "Enrichment",
    "ImportProgress",
    "ImportReport",
    "ProjectIn",
    "ProjectInputError",
    "ProjectOut",
    "RuleSet",
    "RuleViolation",
    "SimilarFilters",
    "SimilarProject",
    "Unit",
    "compile_rules",
    "get_project",
    "import_file",
    "import_projects",
    "index_projects",
    "list_projects",
    "policy_text",
    "precheck_projects",
    "read_projects",
    "similar_to_project",
    "similar_to_text",
]
