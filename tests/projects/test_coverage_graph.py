"""Coverage statements in the projects graph carry what the project states and where: the stated value
(a quantity with value and unit), the evidence sentence and its offsets. The reviewer question "which
projects state an alarm time over 30 minutes, and what did they state" is one packaged query.

The checker runs for real (thresholds are decided by the stated quantities, not by the embedder, so
the hash embedder suffices)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyshacl
import pytest

from pilotkg import iri
from pilotkg.graph.rdf import build_graph
from pilotkg.graph.store.base import GraphStore
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.graph.vocabulary import shapes_graph
from pilotkg.matching import CoverageChecker, tokenizer_for
from pilotkg.policy import Corpus, load_corpus
from pilotkg.projects import Enrichment, ProjectIn, import_projects
from pilotkg.projects.rdf import enrichment_graph, project_graph
from pilotkg.settings import Settings
from pilotkg.vectors import get_embedder

REPO = Path(__file__).resolve().parents[2]
QUERY = (REPO / "ontology" / "queries" / "reviewer-stated-alarm-time.rq").read_text(encoding="utf-8")
TEXTS = {
    "A-45": "本项目在林区部署火情监测系统，利用无人机巡护。火情发现后报警响应时间45分钟，并推送至指挥中心。",
    "A-2H": "建设森林草原火灾监测预警平台。报警响应时间约2小时，由人工复核后发布。",
    "A-20": "建设森林草原火灾监测预警平台，报警响应时间20分钟。",
    "A-NONE": "建设森林草原火灾监测预警平台，覆盖重点林区。",
}


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(REPO / "corpus")


@pytest.fixture(scope="module")
def checker(corpus: Corpus) -> CoverageChecker:
    return CoverageChecker(corpus, get_embedder(Settings(embedder="hash")), tokenizer_for(corpus))


def project(pid: str) -> ProjectIn:
    return ProjectIn.model_validate(
        {
            "id": pid,
            "name": f"火情项目{pid}",
            "description": TEXTS[pid],
            "direction": 8,
            "lead_unit": {"name": f"{pid}牵头公司", "type": "装备制造企业"},
            "partners": [{"name": f"{pid}林场", "type": "用户单位"}],
            "region": "云南",
            "batch": 1,
            "submitted": "2021-03-10",
        }
    )


Enrich = Callable[[ProjectIn], Enrichment]


@pytest.fixture(scope="module")
def enrich(checker: CoverageChecker) -> Enrich:
    def run(p: ProjectIn) -> Enrichment:
        return Enrichment.of(8, 0.9, checker.check(p.description, 8), p.description)

    return run


@pytest.fixture()
def store(corpus: Corpus, enrich: Enrich) -> GraphStore:
    s = EmbeddedStore(None)
    s.replace_graph(iri.POLICY_GRAPH, build_graph(corpus))
    import_projects(s, corpus, [project(pid) for pid in TEXTS], enrich=enrich)
    return s


def reviewer_rows(store: GraphStore) -> list[dict[str, str]]:
    res = store.query(QUERY, named_graphs=[iri.POLICY_GRAPH, iri.PROJECTS_GRAPH])
    return [{k: v.value for k, v in row.items()} for row in res.rows]


def test_the_reviewer_query_answers_with_values_and_evidence(store: GraphStore) -> None:
    rows = reviewer_rows(store)
    assert [r["id"] for r in rows] == ["A-2H", "A-45"]  # over the limit, longest first; 20 分钟 is within it
    two_hours, r45 = rows
    assert (r45["stated"], r45["value"], r45["unit"], r45["seconds"], r45["limitSeconds"]) == (
        "45分钟",
        "45",
        "minute",
        "2700",
        "1800",
    )
    assert r45["status"].endswith("#violated")
    text = TEXTS["A-45"]
    start, end = int(r45["start"]), int(r45["end"])
    assert r45["evidence"] == text[start:end] == "火情发现后报警响应时间45分钟，并推送至指挥中心。"
    assert (two_hours["stated"], two_hours["value"], two_hours["unit"]) == ("约2小时", "2", "hour")
    assert two_hours["evidence"] in TEXTS["A-2H"]


def test_statements_without_a_stated_value_keep_their_status_only(store: GraphStore) -> None:
    res = store.query(
        "PREFIX pk: <https://w3id.org/pilotkg/def#> SELECT ?s ?status WHERE { "
        f"<{iri.iri(iri.project('A-NONE'))}> pk:coverage ?s . ?s pk:status ?status "
        "FILTER NOT EXISTS { ?s pk:statedQuantity ?q } }",
        named_graphs=[iri.PROJECTS_GRAPH],
    )
    assert len(res.rows) == len({r.id for r in load_corpus(REPO / "corpus").direction(8).requirements})


def test_the_enriched_graph_conforms_and_reimport_leaves_no_orphans(
    store: GraphStore, corpus: Corpus, enrich: Enrich
) -> None:
    p = project("A-45")
    g = project_graph([p], corpus)
    enrichment_graph(p.id, enrich(p), corpus, into=g)
    conforms, _, text = pyshacl.validate(g, shacl_graph=shapes_graph("project-shapes.ttl"), inference="none")
    assert conforms, text
    before = store.triple_count(iri.PROJECTS_GRAPH)
    import_projects(store, corpus, [project("A-45")], enrich=enrich)
    assert store.triple_count(iri.PROJECTS_GRAPH) == before  # the old stated value and span were replaced
