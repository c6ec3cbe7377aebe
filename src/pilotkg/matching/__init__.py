"""pilotkg.matching"""

from pilotkg.matching.base import CoverageReport, MatchResult, SearchHit, Status
from pilotkg.matching.coverage import CoverageChecker
from pilotkg.matching.matcher import Matcher, Mode
from pilotkg.matching.search import POLICY, build_policy_index, query_sparse, requirement_vectors, search, tokenizer_for

__all__ = [
    "POLICY",
    "CoverageChecker",
    "CoverageReport",
    "MatchResult",
    "Matcher",
    "Mode",
    "SearchHit",
    "Status",
    "build_policy_index",
    "query_sparse",
    "requirement_vectors",
    "search",
    "tokenizer_for",
]
