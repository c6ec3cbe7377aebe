"""GET /api/scenarios and the scenarios in POST /api/match (hash embedder: the routes, not the model)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotkg.api.app import create_app
from pilotkg.graph.rdf import build as build_graph
from pilotkg.service import build_index
from pilotkg.settings import Settings

REPO = Path(__file__).resolve().parents[2]
FIRE = (
    "本项目面向林区火灾源头防控，综合运用卫星遥感、无人机、物联网和图像识别技术，"
    "对森林草原火险因子进行实时采集和分析研判。系统实现火情快速识别和准确定位。"
)


def client_for(corpus_dir: Path, data_dir: Path) -> Iterator[TestClient]:
    s = Settings(embedder="hash", data_dir=data_dir, corpus_dir=corpus_dir)
    build_graph(s)
    build_index(s)
    with TestClient(create_app(s)) as c:
        for _ in range(600):
            if c.get("/healthz").status_code == 200:
                break
            time.sleep(0.05)
        yield c


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from client_for(REPO / "corpus", tmp_path_factory.mktemp("data"))


def test_scenarios_route_lists_the_plan_and_its_crosswalk(client: TestClient) -> None:
    r = client.get("/api/scenarios")
    assert r.status_code == 200
    plan = r.json()
    assert plan["identifier"] == "工信部联安全〔2023〕166号" and plan["issued"] == "2023-09-22"
    assert [s["number"] for s in plan["scenarios"]] == list(range(1, 11))
    uncovered = {s["label_zh"] for s in plan["scenarios"] if not s["covered_2021"]}
    assert uncovered == {"城市内涝灾害", "冰雪灾害", "城市特殊场景火灾", "紧急生命救护", "家庭应急"}
    forest = plan["scenarios"][4]
    assert forest["label_en"] == "Forest and grassland fires"
    assert [(m["direction"], m["relation"]) for m in forest["mappings"]] == [(8, "broadMatch"), (9, "broadMatch")]
    assert all(m["note_zh"] for s in plan["scenarios"] for m in s["mappings"])


def test_match_carries_the_scenarios(client: TestClient) -> None:
    body = client.post("/api/match", json={"text": FIRE}).json()
    assert body["directions"][0]["number"] == 8
    if not body["out_of_scope"]:  # the hash embedder's verdict is not what is tested here
        assert [s["label_zh"] for s in body["scenarios"]] == ["森林草原火灾"]
        assert body["scenarios"][0]["relation"] == "broadMatch" and "森林草原火灾" in body["scenario_note_zh"]
    else:
        assert body["scenario_note_zh"].startswith("不属于2021年16个方向")


def test_without_the_table_scenarios_are_404_and_match_names_none(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in (REPO / "corpus").glob("*.txt"):
        shutil.copy(f, corpus / f.name)
    for c in client_for(corpus, tmp_path / "data"):
        r = c.get("/api/scenarios")
        assert r.status_code == 404
        body = r.json()
        assert body["error"] == "not_found" and "行动计划" in body["message_zh"] and "scenario" in body["message_en"]
        m = c.post("/api/match", json={"text": FIRE}).json()
        assert m["scenarios"] == [] and m["scenario_note_zh"] is None
