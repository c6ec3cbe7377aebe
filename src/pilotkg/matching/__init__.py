"""Matching a description: directions (:mod:`.matcher`), the requirement checklist (:mod:`.coverage`,
:mod:`.checklist`), policy search (:mod:`.search`) and the 2023–2025 scenarios (:mod:`.scenarios`)."""

from pilotkg.matching.base import (
    CoverageReport,
    MatchResult,
    OtherDomain,
    RequirementCheck,
    ScenarioRef,
    SearchHit,
    Status,
)
from pilotkg.matching.checklist import checklist_csv, checklist_markdown, hint_for
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
    "FIT_CUTOFF",
    "POLICY",
    "PUBLIC_KINDS",
    "SCENARIOS",
    "ActionPlan",
    "CoverageChecker",
    "CoverageReport",
    "CrosswalkMapping",
    "MatchResult",
    "Matcher",
    "Mode",
    "OtherDomain",
    "RequirementCheck",
    "ScenarioInfo",
    "ScenarioNamer",
    "ScenarioNaming",
    "ScenarioRef",
    "SearchHit",
    "Status",
    "TextVectors",
    "build_policy_index",
    "checklist_csv",
    "checklist_markdown",
    "description_vectors",
    "hint_for",
    "index_scenarios",
    "load_action_plan",
    "query_sparse",
    "requirement_vectors",
    "scenario_vectors",
    "search",
    "tokenizer_for",
]
