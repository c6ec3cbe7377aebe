"""pilotkg.matching"""

from pilotkg.matching.base import CoverageReport, MatchResult, ScenarioRef, SearchHit, Status
from pilotkg.matching.coverage import CoverageChecker
from pilotkg.matching.matcher import Matcher, Mode
from pilotkg.matching.scenarios import (
    FIT_CUTOFF,
    SCENARIOS,
    ActionPlan,
    CrosswalkMapping,
    ScenarioInfo,
    ScenarioNamer,
    ScenarioNaming,
    TextVectors,
    description_vectors,
    index_scenarios,
    load_action_plan,
    scenario_vectors,
)
from pilotkg.matching.search import POLICY, build_policy_index, query_sparse, requirement_vectors, search, tokenizer_for

__all__ = [
    "FIT_CUTOFF",
    "POLICY",
    "SCENARIOS",
    "ActionPlan",
    "CoverageChecker",
    "CoverageReport",
    "CrosswalkMapping",
    "MatchResult",
    "Matcher",
    "Mode",
    "ScenarioInfo",
    "ScenarioNamer",
    "ScenarioNaming",
    "ScenarioRef",
    "SearchHit",
    "Status",
    "TextVectors",
    "build_policy_index",
    "description_vectors",
    "index_scenarios",
    "load_action_plan",
    "query_sparse",
    "requirement_vectors",
    "scenario_vectors",
    "search",
    "tokenizer_for",
]
