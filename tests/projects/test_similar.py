"""Similar-project search with the real model: indexing on import, the duplicate flag, filters,
search by stored project without embedding, re-import, access rules (API), CLI, calibration."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pilotkg import iri
from pilotkg.api.app import create_app
from pilotkg.cli import app as cli_app
from pilotkg.errors import ShapeViolation
from pilotkg.policy.corpus import load_corpus
from pilotkg.projects.base import ProjectIn
from pilotkg.projects.importer import import_projects
from pilotkg.projects.similar import (
    DUPLICATE_THRESHOLD,
    PROJECTS,
    CalibrationText,
    SimilarFilters,
    calibrate_duplicates,
    calibration_pairs,
)
from pilotkg.projects.submissions import read_projects
from pilotkg.service import Pilot
from pilotkg.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "corpus" / "projects"
CALIBRATION = Path(__file__).resolve().parents[1] / "data" / "similar_calibration.json"
REVIEWER, XJ, SC = "rv-similar-1f2e", "ap-xj-77aa01", "ap-sc-55bb02"
XJ_NAME, SC_NAME = "applicant-xj-01", "applicant-sc-01"  # owners of the sample projects
ignore_locks = shutil.ignore_patterns(".lock", "LOCK")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sample(pid: str) -> dict[str, Any]:
    rows = json.loads((SAMPLES / "sample-projects.json").read_text(encoding="utf-8"))["projects"]
    return next(r for r in rows if r["id"] == pid)


def recycled(pid: str, name: str, description: str, **extra: Any) -> dict[str, Any]:
    """Another applicant's application, under its own lead unit and partners."""
    return {
        "id": pid,
        "name": name,
        "description": description,
        "direction": 8,
        "lead_unit": {"name": "示例蜀山消防科技有限公司", "type": "装备制造企业", "region": "四川"},
        "partners": [{"name": "示例川西林业局", "type": "用户单位", "region": "四川"}],
        "region": "四川",
        "batch": 2,
        "submitted": "2021-09-20",
        **extra,
    }


# EX-2021-001 reworded by hand (the kind of recycled application the flag is for).
DUP_NAME = "兵团林草火情智能监测与预警应用项目"
DUP_TEXT = (
    "面向天山北坡的林区和草原牧场，采用卫星遥感、无人机巡检以及塔基红外/可见光双光谱摄像机，配合物联网"
    "火险因子传感器，利用人工智能图像识别快速发现并准确定位火情，灾情通过5G专网实时回传指挥中心，报警响应"
    "时间不超过15分钟。"
)


@pytest.fixture(scope="module")
def settings(built_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # The session Pilot holds the built index (one opener per shard): this module works on a copy.
    data = tmp_path_factory.mktemp("similar") / "data"
    shutil.copytree(built_settings.data_dir, data, ignore=ignore_locks)
    return built_settings.model_copy(
        update={"data_dir": data, "reviewer_tokens": [REVIEWER], "applicant_tokens": {XJ: XJ_NAME, SC: SC_NAME}}
    )


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    """The API over the copy; the samples are submitted by a reviewer (owners as in the file), the
    recycled EX-2021-001 by applicant SC, a 2022 project by applicant XJ."""
    with TestClient(create_app(settings)) as c:
        deadline = time.monotonic() + 300
        while c.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "service not ready"
            time.sleep(0.1)
        rows = json.loads((SAMPLES / "sample-projects.json").read_text(encoding="utf-8"))["projects"]
        assert c.post("/api/projects", json=rows, headers=bearer(REVIEWER)).status_code == 201
        dup = recycled("SC-DUP", DUP_NAME, DUP_TEXT)
        assert c.post("/api/projects", json=dup, headers=bearer(SC)).status_code == 201
        later = {
            **sample("EX-2021-002"),
            "id": "XJ-2022",
            "name": "示例草原火险监测二期",
            "year": 2022,
            "lead_unit": {"name": "示例准噶尔装备有限公司", "type": "装备制造企业"},
        }
        assert c.post("/api/projects", json=later, headers=bearer(XJ)).status_code == 201
        yield c


@pytest.fixture(scope="module")
def app_pilot(client: TestClient) -> Pilot:
    pilot: Pilot = client.app.state.runtime.pilot  # type: ignore[attr-defined]
    return pilot


class NoEmbedding:
    """Stands in for the embedder where nothing may be embedded."""

    name: str
    dim: int

    def __init__(self, real: Any) -> None:
        self.name, self.dim, self.calls = real.name, real.dim, 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        raise AssertionError("embed_queries called")

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        raise AssertionError("embed_passages called")


# --- indexing -----------------------------------------------------------------------------------


def test_imported_projects_are_indexed_with_their_payload(app_pilot: Pilot) -> None:
    assert app_pilot.index.count(PROJECTS) == 12
    (point,) = app_pilot.index.get(PROJECTS, [iri.project("SC-DUP")])
    assert point.kind == "project"
    assert point.payload == {
        "project_id": "SC-DUP",
        "name": DUP_NAME,
        "direction": 8,
        "region": "四川省",
        "batch": 2,
        "year": 2021,
        "lead_unit": "示例蜀山消防科技有限公司",
        "owner": SC_NAME,
    }
    (xj,) = app_pilot.index.get(PROJECTS, [iri.project("XJ-2022")])
    assert xj.payload["year"] == 2022 and xj.payload["owner"] == XJ_NAME


def test_a_rejected_import_indexes_nothing(app_pilot: Pilot) -> None:
    bad = [ProjectIn.model_validate({**sample("EX-2021-003"), "id": f"BAD-{i}"}) for i in range(3)]
    with pytest.raises(ShapeViolation):  # more than two projects of one lead unit in one batch
        app_pilot.submit_projects(bad)
    assert app_pilot.index.count(PROJECTS) == 12
    assert app_pilot.index.get(PROJECTS, [iri.project("BAD-0")]) == []


# --- the duplicate flag, by stored project and by text -------------------------------------------


def test_the_recycled_project_is_found_first_and_flagged(app_pilot: Pilot, monkeypatch: pytest.MonkeyPatch) -> None:
    guard = NoEmbedding(app_pilot.embedder)
    monkeypatch.setattr(app_pilot, "_embedder", guard)  # the facade hands its parts this embedder
    hits = app_pilot.similar_to_project("SC-DUP", limit=5)
    assert guard.calls == 0
    assert hits[0].id == "EX-2021-001" and hits[0].duplicate and hits[0].score >= DUPLICATE_THRESHOLD
    assert "SC-DUP" not in [h.id for h in hits]  # never itself
    assert [h.duplicate for h in hits[1:]] == [False] * 4  # other fire projects are similar, not copies
    assert hits == sorted(hits, key=lambda h: -h.score)
    back = app_pilot.similar_to_project("EX-2021-001", limit=3)
    assert back[0].id == "SC-DUP" and back[0].duplicate and "EX-2021-001" not in [h.id for h in back]


def test_text_search_flags_a_copy_and_not_a_new_project_of_the_same_direction(app_pilot: Pilot) -> None:
    copy = app_pilot.similar_to_text(f"{DUP_NAME}\n{DUP_TEXT}", limit=3)
    assert {copy[0].id, copy[1].id} == {"EX-2021-001", "SC-DUP"} and copy[0].duplicate and copy[1].duplicate
    fresh = app_pilot.similar_to_text(
        "林区视频瞭望系统\n在国有林场制高点建设视频瞭望塔，配备云台热成像摄像机，烟火自动识别后推送至护林员手机。",
        limit=5,
    )
    assert fresh and all(h.direction == 8 for h in fresh[:3]) and not any(h.duplicate for h in fresh)


# --- filters --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        (SimilarFilters(direction=8), lambda h: h.direction == 8),
        (SimilarFilters(region="新疆生产建设兵团"), lambda h: h.region == "新疆生产建设兵团"),
        (SimilarFilters(batch=2), lambda h: h.batch == 2),
        (SimilarFilters(year=2022), lambda h: h.year == 2022),
        (SimilarFilters(direction=8, batch=1), lambda h: h.direction == 8 and h.batch == 1),
    ],
)
def test_filters_restrict_both_searches(app_pilot: Pilot, filters: SimilarFilters, check: Any) -> None:
    unfiltered = app_pilot.similar_to_project("SC-DUP", limit=20)
    by_id = app_pilot.similar_to_project("SC-DUP", filters, limit=20)
    by_text = app_pilot.similar_to_text(DUP_TEXT, filters, limit=20)
    for hits in (by_id, by_text):
        assert hits and all(check(h) for h in hits)
        assert {h.id for h in hits} < {h.id for h in unfiltered} | {"SC-DUP"}
    assert {h.id for h in by_id} == {h.id for h in unfiltered if check(h)}


def test_a_filter_can_hide_the_duplicate_and_nothing_matches_an_unknown_region(app_pilot: Pilot) -> None:
    assert "EX-2021-001" not in [h.id for h in app_pilot.similar_to_project("SC-DUP", SimilarFilters(batch=2))]
    assert app_pilot.similar_to_project("SC-DUP", SimilarFilters(region="火星")) == []


# --- re-import, unindexed projects ---------------------------------------------------------------


def test_reimport_replaces_the_point(app_pilot: Pilot) -> None:
    quake = "示例地震预警终端进校园\n在学校安装地震预警信息接收终端，联动校园广播自动播放疏散指令。"
    name, desc = quake.split("\n")
    before = app_pilot.index.count(PROJECTS)
    app_pilot.submit_projects([ProjectIn.model_validate(recycled("SC-DUP", name, desc, direction=10))], owner=SC_NAME)
    try:
        assert app_pilot.index.count(PROJECTS) == before
        (point,) = app_pilot.index.get(PROJECTS, [iri.project("SC-DUP")])
        assert point.payload["name"] == name and point.payload["direction"] == 10
        hits = app_pilot.similar_to_project("SC-DUP", limit=3)
        assert hits[0].id == "EX-2021-006" and not any(h.duplicate for h in hits)  # the other quake project
        assert app_pilot.similar_to_text(quake, limit=1)[0].id == "SC-DUP"
    finally:
        app_pilot.submit_projects([ProjectIn.model_validate(recycled("SC-DUP", DUP_NAME, DUP_TEXT))], owner=SC_NAME)
    assert app_pilot.similar_to_project("SC-DUP", limit=1)[0].id == "EX-2021-001"


def test_a_stored_but_unindexed_project_is_indexed_on_first_use(app_pilot: Pilot) -> None:
    p = ProjectIn.model_validate(
        {
            **sample("EX-2021-009"),
            "id": "OLD-009",
            "name": "示例老项目科普馆",
            "lead_unit": {"name": "示例老牌文旅公司", "type": "装备制造企业"},
        }
    )
    import_projects(app_pilot.store, app_pilot.corpus, [p], source="test")  # the store only, as before this feature
    assert app_pilot.index.get(PROJECTS, [iri.project("OLD-009")]) == []
    hits = app_pilot.similar_to_project("OLD-009", limit=1)
    assert hits[0].id == "EX-2021-009" and hits[0].duplicate
    assert len(app_pilot.index.get(PROJECTS, [iri.project("OLD-009")])) == 1


# --- API access rules ------------------------------------------------------------------------------


def test_anonymous_gets_401_on_both_routes(client: TestClient) -> None:
    assert client.get("/api/projects/SC-DUP/similar").status_code == 401
    r = client.post("/api/projects/similar", json={"text": DUP_TEXT})
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"


def test_reviewer_sees_every_owner(client: TestClient) -> None:
    r = client.get("/api/projects/SC-DUP/similar", params={"limit": 20}, headers=bearer(REVIEWER))
    assert r.status_code == 200, r.text
    hits = r.json()
    assert hits[0]["id"] == "EX-2021-001" and hits[0]["duplicate"] is True
    assert {"EX-2021-006", "XJ-2022", "EX-2021-009"} <= {h["id"] for h in hits}
    assert set(hits[0]) >= {"id", "name", "direction", "region", "batch", "year", "score", "duplicate"}
    r = client.post(
        "/api/projects/similar", json={"text": DUP_TEXT, "direction": 8, "batch": 2}, headers=bearer(REVIEWER)
    )
    assert r.status_code == 200 and [h["id"] for h in r.json()][:1] == ["SC-DUP"]
    assert all(h["direction"] == 8 and h["batch"] == 2 for h in r.json())


def test_an_applicant_sees_only_its_own_projects_among_the_hits(client: TestClient) -> None:
    own_sc = {"SC-DUP", "EX-2021-006"}
    r = client.get("/api/projects/SC-DUP/similar", params={"limit": 20}, headers=bearer(SC))
    assert r.status_code == 200 and {h["id"] for h in r.json()} == own_sc - {"SC-DUP"}
    r = client.post("/api/projects/similar", json={"text": DUP_TEXT, "limit": 20}, headers=bearer(SC))
    assert r.status_code == 200 and {h["id"] for h in r.json()} == own_sc
    # XJ owns the original: its own copy check finds it; SC's recycled copy stays invisible to XJ.
    r = client.post("/api/projects/similar", json={"text": DUP_TEXT, "limit": 20}, headers=bearer(XJ))
    ids = [h["id"] for h in r.json()]
    assert ids[0] == "EX-2021-001" and "SC-DUP" not in ids and r.json()[0]["duplicate"] is True


def test_an_applicant_cannot_start_from_another_applicants_project(client: TestClient) -> None:
    other = client.get("/api/projects/EX-2021-001/similar", headers=bearer(SC))
    missing = client.get("/api/projects/NOPE-1/similar", headers=bearer(SC))
    assert other.status_code == missing.status_code == 404
    assert other.json()["message_en"].replace("EX-2021-001", "X") == missing.json()["message_en"].replace("NOPE-1", "X")


@pytest.mark.parametrize(
    "body", [{"text": ""}, {"text": "   "}, {"text": "x", "limit": 0}, {"text": "x", "direction": 0}, {}]
)
def test_bad_similar_requests_are_422(client: TestClient, body: dict[str, Any]) -> None:
    assert client.post("/api/projects/similar", json=body, headers=bearer(REVIEWER)).status_code == 422


# --- CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data = tmp_path / "data"  # the app holds the index: the CLI gets a copy of its data
    shutil.copytree(settings.data_dir, data, ignore=ignore_locks)
    monkeypatch.setenv("PILOTKG_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("PILOTKG_DATA_DIR", str(data))
    monkeypatch.setenv("PILOTKG_MODEL_DIR", str(settings.model_dir))
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def test_cli_import_indexes_and_similar_finds(cli_env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    f = tmp_path / "more.jsonl"
    copied = "在尾矿库坝体安装GNSS位移、浸润线与库水位监测设施，融合北斗和云平台，对漫顶、溃坝风险实时预警。"
    row = recycled("CLI-1", "示例尾矿库坝体监测预警", copied, direction=1, region="内蒙古")
    f.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    for path in (SAMPLES / "sample-projects.csv", f):
        res = runner.invoke(cli_app, ["projects", "import", str(path), "--no-enrich"])
        assert res.exit_code == 0, res.output
    res = runner.invoke(cli_app, ["projects", "similar", "--id", "CLI-1", "--format", "json", "--limit", "3"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.stdout)
    assert hits[0]["id"] == "EX-2021-011" and hits[0]["duplicate"] is True  # the CSV sample it copies
    res = runner.invoke(cli_app, ["projects", "similar", "--text", DUP_TEXT, "--direction", "8", "--region", "四川"])
    assert res.exit_code == 0 and "SC-DUP" in res.stdout and "EX-2021-001" not in res.stdout
    assert runner.invoke(cli_app, ["projects", "similar"]).exit_code == 2
    assert runner.invoke(cli_app, ["projects", "similar", "--id", "X", "--text", "y"]).exit_code == 2
    assert runner.invoke(cli_app, ["projects", "similar", "--id", "NOPE-1"]).exit_code == 5


# --- calibration -----------------------------------------------------------------------------------


def test_the_threshold_still_separates_the_calibration_pairs(app_pilot: Pilot) -> None:
    corpus = load_corpus(REPO / "corpus")
    group = {d.number: d.group for d in corpus.directions}
    texts = [
        CalibrationText(p.id, p.name, p.description, p.direction, group[p.direction])
        for f in ("sample-projects.json", "sample-projects.csv")
        for p in read_projects(SAMPLES / f, corpus=corpus).projects
    ]
    cal = json.loads(CALIBRATION.read_text(encoding="utf-8"))
    texts += [
        CalibrationText(p["key"], p["name"], p["description"], p["direction"], group[p["direction"]])
        for p in cal["projects"]
    ]
    paraphrases = {k: (v["name"], v["description"]) for k, v in cal["paraphrases"].items()}
    report = calibrate_duplicates(app_pilot.embedder, app_pilot.tokenizer, calibration_pairs(texts, paraphrases))
    assert len(texts) == 46 and report.holdout_pairs > 6000
    assert report.highest_distinct < DUPLICATE_THRESHOLD < report.lowest_duplicate
    assert report.threshold == DUPLICATE_THRESHOLD  # the shipped value is this midpoint (pilotkg judge calibrate)
    # neither signal alone separates the pairs: the reason the flag combines them
    assert report.cosine_only[0] - report.cosine_only[1] < 0.005
    assert report.lexical_only[0] - report.lexical_only[1] < 0.05
    assert report.holdout_missed_duplicates == 0
    assert report.holdout_false_duplicates <= 0.005 * (report.holdout_pairs - report.holdout_duplicates)
