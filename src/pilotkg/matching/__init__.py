"""pilotkg.matching"""

from pilotkg.matching.base import CoverageReport, MatchResult, OtherDomain, RequirementCheck, SearchHit, Status
from pilotkg.matching.checklist import checklist_csv, checklist_markdown, hint_for
from pilotkg.matching.coverage import CoverageChecker
from pilotkg.matching.matcher import Matcher, Mode
from pilotkg.matching.search import (
    POLICY,
    PUBLIC_KINDS,
    build_policy_index,
    query_sparse,
    requirement_vectors,
    search,
    tokenizer_for,
)

__all__ = [
    "POLICY",
    "PUBLIC_KINDS",
    "CoverageChecker",
    "CoverageReport",
    "MatchResult",
    "Matcher",
    "Mode",
    "OtherDomain",
    "RequirementCheck",
    "SearchHit",
    "Status",
    "build_policy_index",
    "checklist_csv",
    "checklist_markdown",
    "hint_for",
    "query_sparse",
    "requirement_vectors",
    "search",
    "tokenizer_for",
]
