"""pilotkg.matching"""

from pilotkg.matching.base import CoverageReport, MatchResult, OtherDomain, SearchHit, Status
from pilotkg.matching.coverage import CoverageChecker
from pilotkg.matching.features import Analysis
from pilotkg.matching.judge import (
    CAPABILITY_FEATURES,
    SCOPE_FEATURES,
    Judgments,
    Logistic,
    MatchWeights,
    artefact_path,
    fit_logistic,
    load_judgments,
)
from pilotkg.matching.matcher import Matcher, MatchScores, Mode
from pilotkg.matching.search import POLICY, build_policy_index, query_sparse, requirement_vectors, search, tokenizer_for
from pilotkg.matching.thesaurus import Thesaurus, load_thesaurus, thesaurus_graph

__all__ = [
    "CAPABILITY_FEATURES",
    "POLICY",
    "SCOPE_FEATURES",
    "Analysis",
    "CoverageChecker",
    "CoverageReport",
    "Judgments",
    "Logistic",
    "MatchResult",
    "MatchScores",
    "MatchWeights",
    "Matcher",
    "Mode",
    "OtherDomain",
    "SearchHit",
    "Status",
    "Thesaurus",
    "artefact_path",
    "build_policy_index",
    "fit_logistic",
    "load_judgments",
    "load_thesaurus",
    "query_sparse",
    "requirement_vectors",
    "search",
    "thesaurus_graph",
    "tokenizer_for",
]
