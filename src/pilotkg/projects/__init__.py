"""pilotkg.projects"""

from pilotkg.projects.base import Enrichment, ProjectIn, ProjectOut
from pilotkg.projects.importer import ImportReport, import_file, import_projects
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
from pilotkg.projects.submissions import read_projects

__all__ = [
    "DUPLICATE_THRESHOLD",
    "PROJECTS",
    "Enrichment",
    "ImportReport",
    "ProjectIn",
    "ProjectOut",
    "SimilarFilters",
    "SimilarProject",
    "get_project",
    "import_file",
    "import_projects",
    "index_projects",
    "list_projects",
    "read_projects",
    "similar_to_project",
    "similar_to_text",
]
