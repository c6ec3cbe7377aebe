"""The packaged example queries, run on the graph built from the real corpus into a temporary store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotkg import iri
from pilotkg.graph.rdf import build
from pilotkg.graph.sparql import example_queries, example_query, run_query
from pilotkg.graph.store import GraphStore, QueryResult, open_store
from pilotkg.policy.corpus import load_corpus
from pilotkg.settings import Settings

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    settings = Settings(corpus_dir=CORPUS_DIR, data_dir=tmp_path_factory.mktemp("data"), sparql_query_url=None)
    build(settings)
    s = open_store(settings, read_only=True)
    yield s
    s.close()


@pytest.fixture(scope="module")
def raw() -> str:
    return next(CORPUS_DIR.glob("*.txt")).read_text(encoding="utf-8")


def run(store: GraphStore, name: str) -> QueryResult:
    return run_query(store, example_query(name).text, timeout_s=10, allowed_graphs=[iri.POLICY_GRAPH])


def values(res: QueryResult, var: str) -> list[str]:
    return [r[var].value for r in res.rows if var in r]


# reviewer-*.rq ask about submitted projects: tests/test_projects.py runs them on imported projects
@pytest.mark.parametrize("name", [q.name for q in example_queries() if not q.name.startswith("reviewer-")])
def test_every_example_query_answers_and_serialises(store: GraphStore, name: str) -> None:
    res = run(store, name)
    assert res.kind == "bindings" and res.rows
    body, _ = res.serialize("json")
    assert len(json.loads(body)["results"]["bindings"]) == len(res.rows)


def test_directions_per_group(store: GraphStore) -> None:
    res = run(store, "directions-per-group")
    assert [(int(r["groupNumber"].value), int(r["directions"].value)) for r in res.rows] == [
        (1, 4),
        (2, 3),
        (3, 5),
        (4, 4),
    ]
    assert res.rows[0]["group"].value == "矿山安全应用试点示范项目" and res.rows[0]["group"].lang == "zh"
    assert "森林草原火灾监测预警系统" in res.rows[2]["names"].value


def test_threshold_requirements(store: GraphStore) -> None:
    res = run(store, "threshold-requirements")
    assert sorted(values(res, "written")) == sorted(["少于30分钟", "秒级", "毫米级", "亚分钟"])
    by_written = {r["written"].value: r for r in res.rows}
    fire = by_written["少于30分钟"]
    assert (fire["directionNumber"].value, fire["comparator"].value, fire["value"].value) == ("8", "lt", "30")
    assert fire["unit"].value == "http://qudt.org/vocab/unit/MIN" and fire["unitSymbol"].value == "分钟"
    assert by_written["毫米级"]["unit"].value == "http://qudt.org/vocab/unit/MilliM"
    assert {by_written[w]["comparator"].value for w in ("秒级", "毫米级", "亚分钟")} == {"range"}


def test_stage_articles(store: GraphStore) -> None:
    res = run(store, "stage-articles")
    assert set(values(res, "number")) == {"12"}
    assert values(res, "stage") == ["项目遴选", "跟踪评价", "评价认定"]
    assert values(res, "outcome") == ["示范工程候选项目", "试点应用项目", "示范工程项目"]
    assert values(res, "duration") == ["6个月", "1年"]
    assert res.rows[0]["label"].value == "第十二条"


def test_rules_with_limits_and_clauses(store: GraphStore) -> None:
    res = run(store, "rules")
    rules = {r["kind"].value: r for r in res.rows}
    assert rules["max_partners"]["limit"].value == "8"
    assert rules["max_partners"]["clause"].value == "三、（一）申报资格"
    assert rules["max_partners"]["source"].value == "联合单位不超过 8 家"
    assert rules["max_projects_per_lead"]["limit"].value == "2"
    assert rules["directions_per_project"]["limit"].value == "1"
    assert set(rules["characteristics"]["values"].value.split("、")) == {
        "技术先进性",
        "应用实效性",
        "模式创新性",
        "示范带动性",
    }
    assert "limit" not in rules["no_single_enterprise"]


def test_requirements_of_direction_8_with_offsets(store: GraphStore, raw: str) -> None:
    res = run(store, "direction-requirements")
    direction = load_corpus(CORPUS_DIR).direction(8)
    assert len(res.rows) == len(direction.requirements)
    assert values(res, "requirement") == [iri.iri(iri.requirement(r.id)) for r in direction.requirements]
    for row in res.rows:
        start, end = int(row["start"].value), int(row["end"].value)
        assert raw[start:end] == row["exact"].value
    last = res.rows[-1]
    assert (last["kind"].value, last["section"].value, last["exact"].value) == (
        "threshold",
        "demand",
        "报警响应时间少于30分钟",
    )
    assert {r["file"].value for r in res.rows} == {"2021-safety-emergency-pilot-notice.txt"}


def test_thesaurus_answers_sparql(store: GraphStore) -> None:
    # The checker's vocabulary is in the graph: a means item of direction 6 and the concrete terms below it.
    res = run(store, "thesaurus-means-terms")
    below = {r["termZh"].value for r in res.rows if r["conceptZh"].value == "先进传感技术" and "termZh" in r}
    assert {"传感器", "探测器", "在线分析仪"} <= below
    means = {r["means"].value for r in res.rows}
    assert any("卫星遥感" in m for m in means) and any("数字孪生" in m for m in means)
    domains = run(store, "thesaurus-other-domains")
    by_label = {r["labelZh"].value: r["categoryZh"].value for r in domains.rows}
    assert by_label["道路交通安全"] == "事故灾难" and by_label["传染病疫情"] == "公共卫生事件"
    assert "矿山安全" not in " ".join(by_label)  # the programme's own kinds are not "other" domains
