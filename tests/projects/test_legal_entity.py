"""A lead unit is one legal entity whatever its name's spelling: the quota of 每个牵头单位可最多申报 2 个项目
counts by credit code, else by normalised name; each project reads back with its own spelling; replacing
a project leaves no unit node or spelling behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Namespace

from pilotkg import iri
from pilotkg.errors import ShapeViolation
from pilotkg.graph.rdf import build_graph
from pilotkg.graph.store.base import GraphStore
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.policy import name_key
from pilotkg.policy.base import Corpus
from pilotkg.policy.corpus import load_corpus
from pilotkg.projects.base import ProjectIn
from pilotkg.projects.eligibility import EligibilityReport, RuleSet, compile_rules
from pilotkg.projects.importer import import_projects
from pilotkg.projects.rdf import get_project, list_projects

REPO = Path(__file__).resolve().parents[2]
PK = Namespace(iri.ONTOLOGY)
# valid 统一社会信用代码 (GB 32100-2015 check characters)
CODE_A = "91530000MA6K0B8X2U"
CODE_B = "91110000100000000R"
# one entity (code A) spelled three ways: bracket width, an inner space, a trailing note
SPELLINGS = [
    "云岭应急（集团）装备有限公司",
    "云岭应急(集团)装备有限公司",
    "云岭应急（集团） 装备有限公司（原云岭机械厂）",
]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(REPO / "corpus")


@pytest.fixture(scope="module")
def rules(corpus: Corpus) -> RuleSet:
    return compile_rules(corpus, policy_text=next((REPO / "corpus").glob("*.txt")).read_text(encoding="utf-8"))


@pytest.fixture()
def store(corpus: Corpus) -> GraphStore:
    s = EmbeddedStore(None)
    s.replace_graph(iri.POLICY_GRAPH, build_graph(corpus))
    return s


def project(pid: str, lead: str, code: str | None = None, *, batch: int = 1, partner: str = "某市应急局") -> ProjectIn:
    return ProjectIn.model_validate(
        {
            "id": pid,
            "name": f"森林火情监测试点{pid}",
            "description": "在林区部署火情监测与预警装备。",
            "direction": 8,
            "region": "云南省",
            "batch": batch,
            "submitted": "2021-03-10" if batch == 1 else "2021-09-10",
            "lead_unit": {"name": lead, "type": "装备制造企业", "credit_code": code},
            "partners": [{"name": partner, "type": "用户单位"}],
        }
    )


def refused(store: GraphStore, corpus: Corpus, rules: RuleSet, projects: list[ProjectIn]) -> list[tuple[str, str]]:
    with pytest.raises(ShapeViolation) as exc:
        import_projects(store, corpus, projects, rules=rules)
    report = exc.value.report
    assert isinstance(report, EligibilityReport)
    assert all(v.rule.kind == "max_projects_per_lead" for v in report.violations)
    assert all("2 个项目" in v.rule.source_text and v.limit == "≤ 2" for v in report.violations)
    return sorted((v.project_id, v.found) for v in report.violations)


def reviewer(store: GraphStore) -> list[dict[str, str]]:
    text = (REPO / "ontology" / "queries" / "reviewer-lead-units-over-2.rq").read_text(encoding="utf-8")
    res = store.query(text, named_graphs=[iri.POLICY_GRAPH, iri.PROJECTS_GRAPH])
    return [{k: v.value for k, v in row.items()} for row in res.rows]


def test_name_key_folds_bracket_width_and_spaces_only() -> None:
    assert name_key(SPELLINGS[0]) == name_key(SPELLINGS[1]) == name_key(" 云岭应急 ( 集团 )\u3000装备有限公司\u200b")
    assert name_key(SPELLINGS[2]) != name_key(SPELLINGS[0])  # a trailing note is another name
    assert iri.legal_entity(CODE_A, name_key(SPELLINGS[0])) == iri.legal_entity(CODE_A, name_key(SPELLINGS[2]))
    assert iri.legal_entity(None, name_key(SPELLINGS[0])) == iri.legal_entity(None, name_key(SPELLINGS[1]))
    assert iri.legal_entity(None, "云岭") == iri.organisation("云岭")  # a plain name keeps the agencies' node


def test_one_code_three_spellings_is_one_lead_unit(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    three = [project(f"E-{i}", name, CODE_A) for i, name in enumerate(SPELLINGS, start=1)]
    assert refused(store, corpus, rules, three) == [("E-1", "3"), ("E-2", "3"), ("E-3", "3")]
    assert store.triple_count(iri.PROJECTS_GRAPH) == 0
    # the same across files: two stored, the third spelling refused against them
    assert import_projects(store, corpus, three[:2], rules=rules).eligibility.conforms
    with pytest.raises(ShapeViolation) as exc:
        import_projects(store, corpus, three[2:], rules=rules)
    report = exc.value.report
    assert isinstance(report, EligibilityReport)
    (v,) = report.violations
    assert (v.project_id, v.found) == ("E-3", "3") and CODE_A in v.message_zh and SPELLINGS[2] in v.message_zh


def test_no_codes_bracket_width_and_spaces_are_one_lead_unit(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    names = ["滇西安全科技（集团）有限公司", "滇西安全科技(集团)有限公司", "滇西安全科技 （集团） 有限公司"]
    three = [project(f"N-{i}", name) for i, name in enumerate(names, start=1)]
    assert refused(store, corpus, rules, three) == [("N-1", "3"), ("N-2", "3"), ("N-3", "3")]
    # another batch is another call for applications
    assert import_projects(store, corpus, [*three[:2], three[2].model_copy(update={"batch": 2})], rules=rules)


def test_two_codes_under_one_name_are_two_lead_units(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    name = SPELLINGS[1]
    both = [project("C-1", name, CODE_A), project("C-2", name, CODE_A), project("C-3", name, CODE_B)]
    assert import_projects(store, corpus, both, rules=rules).eligibility.conforms  # 2 + 1, not 3
    assert reviewer(store) == []
    # a unit without a code may be either: it counts towards each coded entity of its name (A now has 3)
    assert refused(store, corpus, rules, [project("C-4", SPELLINGS[0])]) == [("C-4", "3")]
    # given with B's code it is B's second project
    assert import_projects(store, corpus, [project("C-4", SPELLINGS[0], CODE_B)], rules=rules).eligibility.conforms


def test_stored_spellings_of_an_entity_are_counted(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    # A was given spelling 2 in batch 2; in batch 1 it leads T-1 and, without its code, T-3 as spelling 2.
    # A new T-4 without a code as spelling 0 is A's third project in batch 1: found through A's spellings.
    stored = [
        project("T-1", SPELLINGS[0], CODE_A),
        project("T-2", SPELLINGS[2], CODE_A, batch=2),
        project("T-3", SPELLINGS[2]),
    ]
    assert import_projects(store, corpus, stored, rules=rules).eligibility.conforms
    assert refused(store, corpus, rules, [project("T-4", SPELLINGS[0])]) == [("T-4", "3")]
    assert import_projects(store, corpus, [project("T-4", SPELLINGS[0], batch=2)], rules=rules).eligibility.conforms


def test_each_project_reads_back_with_its_own_spelling(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    projects = [project(f"S-{i}", name, CODE_A, batch=i) for i, name in enumerate(SPELLINGS[:2], start=1)]
    projects.append(project("S-3", SPELLINGS[2], CODE_A, batch=2))
    assert import_projects(store, corpus, projects, rules=rules).eligibility.conforms
    assert [(p.id, p.lead_unit.name, p.lead_unit.credit_code) for p in list_projects(store)] == [
        ("S-1", SPELLINGS[0], CODE_A),
        ("S-2", SPELLINGS[1], CODE_A),
        ("S-3", SPELLINGS[2], CODE_A),
    ]
    assert get_project(store, "S-3").model_dump(exclude={"gid", "iri"}) == {
        **projects[2].model_dump(exclude={"extra_lead_units", "extra_directions"}),
        "matched_direction": None,
        "match_confidence": None,
        "coverage": {},
    }
    # one node for the three spellings
    nodes = store.query(
        f"SELECT DISTINCT ?o WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ ?p <{PK.leadUnit}> ?o }} }}",
        named_graphs=[iri.PROJECTS_GRAPH],
    )
    assert [r["o"].value for r in nodes.rows] == [iri.iri(iri.legal_entity(CODE_A, ""))]


def test_the_reviewer_query_lists_the_entity_once(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    # over two batches (the rule is per batch; the reviewer query counts across them)
    projects = [
        project("R-1", SPELLINGS[0], CODE_A),
        project("R-2", SPELLINGS[1], CODE_A),
        project("R-3", SPELLINGS[2], CODE_A, batch=2),
        project("R-4", "另一家装备公司"),
    ]
    assert import_projects(store, corpus, projects, rules=rules).eligibility.conforms
    (row,) = reviewer(store)
    assert (row["leadUnit"], row["creditCode"], row["count"]) == (iri.iri(iri.legal_entity(CODE_A, "")), CODE_A, "3")
    assert sorted(row["name"].split(" / ")) == sorted(SPELLINGS)
    assert sorted(row["projects"].split(", ")) == ["R-1", "R-2", "R-3"]
    # a unit of that name without a code is counted in the coded entity, not listed on its own
    assert import_projects(store, corpus, [project("R-5", SPELLINGS[1], batch=2)], rules=rules).eligibility.conforms
    (row,) = reviewer(store)
    assert row["count"] == "4" and sorted(row["projects"].split(", ")) == ["R-1", "R-2", "R-3", "R-5"]


def org_triples(store: GraphStore) -> set[tuple[str, str, str]]:
    res = store.query(
        f"SELECT ?o ?p ?v WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ ?o a <http://www.w3.org/ns/org#Organization> ; "
        "?p ?v FILTER NOT EXISTS { ?o a <https://w3id.org/pilotkg/def#Consortium> } } }",
        named_graphs=[iri.PROJECTS_GRAPH],
    )
    return {(r["o"].value, r["p"].value.rsplit("#", 1)[-1], r["v"].value.rsplit("#", 1)[-1]) for r in res.rows}


def test_replacing_a_project_leaves_no_unit_behind(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    a, b = project("X-1", SPELLINGS[0], CODE_A), project("X-2", SPELLINGS[2], CODE_A, partner="甲县林场")
    import_projects(store, corpus, [a], rules=rules)
    only_a = org_triples(store)
    import_projects(store, corpus, [b], rules=rules)
    entity = iri.iri(iri.legal_entity(CODE_A, ""))
    assert {v for o, p, v in org_triples(store) if o == entity and p == "label"} == {SPELLINGS[0], SPELLINGS[2]}

    # X-2 resubmitted under another lead: its spelling and key leave the shared node, its partner's node goes
    import_projects(store, corpus, [project("X-2", "新牵头单位有限公司", partner="某市应急局")], rules=rules)
    after = org_triples(store)
    assert {(p, v) for o, p, v in after if o == entity} == {(p, v) for o, p, v in only_a if o == entity}
    assert not any(v in ("甲县林场", name_key(SPELLINGS[2])) for _, _, v in after)
    # and back to the first state: nothing of X-2's units is left
    import_projects(store, corpus, [project("X-2", SPELLINGS[0], CODE_B)], rules=rules)
    import_projects(store, corpus, [project("X-2", SPELLINGS[0], CODE_A)], rules=rules)
    assert org_triples(store) == only_a
