"""Submitted projects: the model (:mod:`.base`), reading files (:mod:`.submissions`), the eligibility
rules as SHACL (:mod:`.eligibility`), the all-or-nothing import (:mod:`.importer`), projects as RDF
(:mod:`.rdf`) and similar-project search (:mod:`.similar`)."""

from pilotkg.projects.base import Enrichment, ProjectIn, ProjectOut, Unit
from pilotkg.projects.eligibility import EligibilityReport, RuleSet, RuleViolation, compile_rules
from pilotkg.projects.importer import ImportReport, import_file, import_projects, policy_text, precheck_projects
from pilotkg.projects.rdf import (
    UnreadableProject,
    get_project,
    list_projects,
    project_owner,
    stored_project_ids,
    unreadable_projects,
)
from pilotkg.projects.similar import (
    DUPLICATE_THRESHOLD,
    PROJECTS,
    CalibrationReport,
    CalibrationText,
    SimilarFilters,
    SimilarProject,
    calibrate_duplicates,
    calibration_pairs,
    index_projects,
    similar_to_project,
    similar_to_text,
)
from pilotkg.projects.submissions import ImportProgress, ProjectInputError, read_projects

__all__ = [
    "DUPLICATE_THRESHOLD",
    "PROJECTS",
    "CalibrationReport",
    "CalibrationText",
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
    "UnreadableProject",
    "calibrate_duplicates",
    "calibration_pairs",
    "compile_rules",
    "get_project",
    "import_file",
    "import_projects",
    "index_projects",
    "list_projects",
    "policy_text",
    "precheck_projects",
    "project_owner",
    "read_projects",
    "similar_to_project",
    "similar_to_text",
    "stored_project_ids",
    "unreadable_projects",
]
