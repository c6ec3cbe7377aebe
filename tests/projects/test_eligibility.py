"""The notice's eligibility rules as generated SHACL: every rule broken once, cited with its clause."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Literal, Namespace
from rdflib.namespace import SH

from pilotkg import iri
from pilotkg.errors import ShapeViolation
from pilotkg.graph.store.base import GraphStore
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.policy.base import Corpus
from pilotkg.policy.corpus import load_corpus, parse_text
from pilotkg.projects.base import ProjectIn
from pilotkg.projects.eligibility import PKSH, EligibilityReport, RuleSet, compile_rules, deadline_notice
from pilotkg.projects.importer import import_projects
from pilotkg.projects.regions import find_region
from pilotkg.projects.submissions import read_projects

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
PK = Namespace(iri.ONTOLOGY)


@pytest.fixture(scope="module")
def policy_text() -> str:
    (path,) = (REPO / "corpus").glob("*.txt")
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(REPO / "corpus")


@pytest.fixture(scope="module")
def rules(corpus: Corpus, policy_text: str) -> RuleSet:
    return compile_rules(corpus, policy_text=policy_text)


@pytest.fixture()
def store() -> GraphStore:
    return EmbeddedStore(None)


def load(store: GraphStore, corpus: Corpus, rules: RuleSet, name: str):  # type: ignore[no-untyped-def]
    read = read_projects(DATA / name, corpus=corpus)
    return import_projects(store, corpus, read.projects, rules=rules, lines=read.lines, source=str(DATA / name))


def violation_report(store: GraphStore, corpus: Corpus, rules: RuleSet, name: str) -> EligibilityReport:
    with pytest.raises(ShapeViolation) as exc:
        load(store, corpus, rules, name)
    assert exc.value.exit_code == 4
    report = exc.value.report
    assert isinstance(report, EligibilityReport) and not report.conforms
    return report


CASES = [
    # fixture, rule kind, flagged project ids, found, limit
    ("projects_rule_lead_units.json", "lead_units", ["L-01"], "2", "1"),
    ("projects_rule_max_partners.json", "max_partners", ["M-01"], "9", "≤ 8"),
    ("projects_rule_no_single_enterprise.json", "no_single_enterprise", ["S-01"], "0", "≥ 1"),
    ("projects_rule_directions_per_project.json", "directions_per_project", ["D-01"], "2", "1"),
    (
        "projects_rule_max_projects_per_lead.jsonl",
        "max_projects_per_lead",
        ["P-01", "P-02", "P-03"],
        "3",
        "≤ 2",
    ),
    (
        "projects_rule_max_recommended.json",
        "max_recommended_per_direction_region",
        [f"R-0{i}" for i in range(1, 7)],
        "6",
        "≤ 5",
    ),
    ("projects_rule_deadline.json", "deadline", ["DL-01"], "2021-04-02", "≤ 2021-03-31"),
]


@pytest.mark.parametrize(("name", "kind", "ids", "found", "limit"), CASES, ids=[c[1] for c in CASES])
def test_each_rule_is_found_and_cited(
    store: GraphStore,
    corpus: Corpus,
    rules: RuleSet,
    name: str,
    kind: str,
    ids: list[str],
    found: str,
    limit: str,
) -> None:
    report = violation_report(store, corpus, rules, name)
    assert {v.rule.kind for v in report.violations} == {kind}  # the file breaks this rule and no other
    assert [v.project_id for v in report.violations] == ids
    read = read_projects(DATA / name)
    for v in report.violations:
        assert (v.found, v.limit) == (found, limit)
        assert v.where == f"{DATA / name}:{read.lines[v.project_id]}"
        assert v.project_id in v.message_zh and v.project_id in v.message_en
    rule = report.violations[0].rule
    if kind == "deadline":
        (dl,) = [d for d in deadline_notice(corpus).deadlines if d.batch == 1]  # type: ignore[union-attr]
        assert (rule.clause, rule.source_text) == ("三、（四）申报截止时间", dl.span.text)
    else:
        src = corpus.rule(kind)
        assert src is not None
        assert (rule.clause, rule.source_text, rule.document) == (src.clause, src.span.text, src.document)
    assert rule.clause.startswith("三、（")
    text = report.render_text()
    assert rule.clause in text and rule.source_text in text and "工信厅联安全函〔2021〕11号" in text
    assert store.triple_count(iri.PROJECTS_GRAPH) == 0  # nothing written


def test_clean_file_conforms(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    report = load(store, corpus, rules, "projects_clean.json")
    assert report.eligibility.conforms and not report.eligibility.violations
    kinds = {r.kind for r in report.eligibility.rules}
    assert kinds == {
        "lead_units",
        "max_partners",
        "no_single_enterprise",
        "directions_per_project",
        "max_projects_per_lead",
        "max_recommended_per_direction_region",
        "deadline",
    }
    assert set(report.eligibility.not_checked) == {"characteristics", "business_models", "legal_entity"}


def test_in_principle_rules_are_marked(rules: RuleSet) -> None:
    marked = {r.kind for r in rules.rules if r.in_principle}
    assert marked == {
        "no_single_enterprise",
        "max_recommended_per_direction_region",
    }  # 原则上 in both sentences
    assert "原则上 / in principle" in next(r for r in rules.rules if r.kind == "no_single_enterprise").cite()


def test_each_notice_sets_the_deadline_of_its_own_applicants(corpus: Corpus, rules: RuleSet) -> None:
    notice = deadline_notice(corpus)
    assert notice is not None and notice.parent is not None and notice.doc_number == "工信厅联安全函〔2021〕11号"
    forwarding = next(d for d in corpus.documents if d.kind == "notice" and d.parent is None)
    assert min(d.date for d in forwarding.deadlines) < min(d.date for d in notice.deadlines)
    bingtuan = find_region("兵团")
    assert bingtuan is not None
    by_key = {k: (r.limit, r.document_title) for k, r in rules.deadlines.items()}
    assert by_key == {
        (None, 1): ("2021-03-31", "工信厅联安全函〔2021〕11号"),
        (None, 2): ("2021-09-30", "工信厅联安全函〔2021〕11号"),
        (bingtuan.iri, 1): ("2021-03-20", "兵工信安全〔2021〕10号"),
        (bingtuan.iri, 2): ("2021-09-20", "兵工信安全〔2021〕10号"),
    }


@pytest.mark.parametrize(
    ("region", "submitted", "late", "notice"),
    [
        ("新疆生产建设兵团", "2021-03-25", True, "兵工信安全〔2021〕10号"),
        ("兵团", "2021-03-20", False, None),
        ("四川省", "2021-03-25", False, None),
        ("四川省", "2021-04-01", True, "工信厅联安全函〔2021〕11号"),
        ("新疆维吾尔自治区", "2021-03-25", False, None),  # 新疆 is not the Bingtuan
    ],
)
def test_the_bingtuan_deadline_applies_to_bingtuan_projects(
    store: GraphStore, corpus: Corpus, rules: RuleSet, region: str, submitted: str, late: bool, notice: str | None
) -> None:
    p = _project("BT-1", 1, region=region, submitted=submitted)
    if not late:
        assert import_projects(store, corpus, [p], rules=rules).eligibility.conforms
        return
    with pytest.raises(ShapeViolation) as exc:
        import_projects(store, corpus, [p], rules=rules)
    report = exc.value.report
    assert isinstance(report, EligibilityReport)
    (v,) = report.violations
    assert v.rule.kind == "deadline" and v.rule.document_title == notice
    assert notice in v.message_zh and notice in v.message_en and notice in v.rule.cite()
    if "兵团" in region:
        assert v.rule.applies_to == "新疆生产建设兵团" and v.limit == "≤ 2021-03-20"


def test_the_quota_counts_regions_not_spellings(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    # Five recommended direction-8 projects of 云南 are stored; a sixth is refused however 云南 is written.
    first = [_project(f"YN-{i}", 1, region="云南", recommended=True) for i in range(1, 6)]
    assert import_projects(store, corpus, first, rules=rules).eligibility.conforms
    for spelling in ("云南省", "Yunnan", "530000", " 云 南 "):
        with pytest.raises(ShapeViolation) as exc:
            import_projects(store, corpus, [_project("YN-6", 1, region=spelling, recommended=True)], rules=rules)
        report = exc.value.report
        assert isinstance(report, EligibilityReport)
        (v,) = report.violations
        assert v.rule.kind == "max_recommended_per_direction_region" and v.found == "6"
        assert "云南省" in v.message_zh
    # another region's quota is its own
    assert import_projects(store, corpus, [_project("SC-1", 1, region="四川", recommended=True)], rules=rules)


# --- the numbers come from the text ----------------------------------------------------------------


def _project(pid: str, partners: int, **kw: object) -> ProjectIn:
    return ProjectIn.model_validate(
        {
            "id": pid,
            "name": "变体测试",
            "description": "d",
            "direction": 8,
            "region": "海南省",
            "batch": 1,
            "submitted": "2021-03-10",
            "lead_unit": {"name": f"{pid}牵头", "type": "装备制造企业"},
            "partners": [{"name": f"{pid}伙伴{i}", "type": "服务提供商"} for i in range(partners)],
            **kw,
        }
    )


def test_a_corpus_saying_6_partners_changes_the_check(store: GraphStore, corpus: Corpus, policy_text: str) -> None:
    seven = [_project("V-1", 7)]
    assert import_projects(store, corpus, seven).eligibility.conforms  # 8 allowed by the real notice

    variant = parse_text(policy_text.replace("联合单位不超过 8 家", "联合单位不超过 6 家"), "variant.txt")
    rs = compile_rules(variant, policy_text=policy_text)
    assert rs.shapes.value(PKSH["rule-max_partners"], SH.maxCount) == Literal(6)
    with pytest.raises(ShapeViolation) as exc:
        import_projects(EmbeddedStore(None), variant, seven, rules=rs)
    (v,) = exc.value.report.violations
    assert (v.rule.kind, v.found, v.limit, v.rule.source_text) == (
        "max_partners",
        "7",
        "≤ 6",
        "联合单位不超过 6 家",
    )
    assert "超过上限 6 家" in v.message_zh


def test_a_corpus_with_other_deadlines_or_without_a_rule(corpus: Corpus, policy_text: str) -> None:
    earlier = parse_text(policy_text.replace("2021 年 3 月 31 日", "2021 年 3 月 5 日"), "variant.txt")
    with pytest.raises(ShapeViolation) as exc:
        import_projects(EmbeddedStore(None), earlier, [_project("V-2", 1)])  # submitted 2021-03-10
    (v,) = exc.value.report.violations
    assert (v.rule.kind, v.limit) == ("deadline", "≤ 2021-03-05")

    no_cap = parse_text(policy_text.replace("每个方向不超过 5 个", "每个方向择优推荐"), "variant.txt")
    assert no_cap.rule("max_recommended_per_direction_region") is None
    rs = compile_rules(no_cap)
    assert "max_recommended_per_direction_region" not in {r.kind for r in rs.rules}
    six = [_project(f"V-R{i}", 1, recommended=True) for i in range(6)]
    assert import_projects(EmbeddedStore(None), no_cap, six, rules=rs).eligibility.conforms
    with pytest.raises(ShapeViolation):
        import_projects(EmbeddedStore(None), corpus, six)


# --- counts across files ---------------------------------------------------------------------------


def test_counts_include_stored_projects(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    load(store, corpus, rules, "projects_clean.json")  # 测试甲 leads T-01, T-02 in batch 1
    before = store.triple_count(iri.PROJECTS_GRAPH)
    third = ProjectIn.model_validate(
        {
            **read_projects(DATA / "projects_clean.json").projects[0].model_dump(),
            "id": "T-99",
            "partners": [{"name": "另一家用户", "type": "用户单位"}],
        }
    )
    with pytest.raises(ShapeViolation) as exc:
        import_projects(store, corpus, [third], rules=rules)
    report = exc.value.report
    (v,) = report.violations
    assert (v.rule.kind, v.project_id, v.found) == ("max_projects_per_lead", "T-99", "3")
    assert "测试甲装备有限公司" in v.message_zh and report.stored_projects_considered == 2
    assert store.triple_count(iri.PROJECTS_GRAPH) == before

    # re-importing the same file replaces its projects: they are not counted twice
    assert load(store, corpus, rules, "projects_clean.json").updated
    # moving T-02 to batch 2 frees a place in batch 1 within one file
    moved = read_projects(DATA / "projects_clean.json").projects[1].model_copy(update={"batch": 2})
    assert import_projects(store, corpus, [moved, third], rules=rules).eligibility.conforms


def test_recommended_cap_counts_stored_projects(store: GraphStore, corpus: Corpus, rules: RuleSet) -> None:
    five = [_project(f"Q-{i}", 1, recommended=True, region="四川") for i in range(5)]
    assert import_projects(store, corpus, five, rules=rules).eligibility.conforms
    assert import_projects(store, corpus, [_project("Q-9", 1, region="四川")], rules=rules).eligibility.conforms
    with pytest.raises(ShapeViolation) as exc:
        import_projects(store, corpus, [_project("Q-10", 1, recommended=True, region="四川")], rules=rules)
    (v,) = exc.value.report.violations
    assert (v.project_id, v.found, v.limit) == ("Q-10", "6", "≤ 5") and "四川" in v.message_zh
    other_region = [_project("Q-11", 1, recommended=True, region="云南")]
    assert import_projects(store, corpus, other_region, rules=rules).eligibility.conforms
