"""REST API against the real Pilot (hash embedder: fast, deterministic, no model files)."""

from __future__ import annotations

import asyncio
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from pilotkg.api.app import create_app
from pilotkg.errors import StoreError
from pilotkg.graph.rdf import build as build_graph
from pilotkg.matching.search import POLICY
from pilotkg.service import Pilot, build_index
from pilotkg.settings import Settings
from pilotkg.vectors.index import open_index
from tests.serving import serve_in_thread

REPO = Path(__file__).resolve().parents[2]
MAX_CHARS = 600  # deliberately not the default, to prove the limit comes from settings

FIRE = (
    "本项目面向林区火灾源头防控，综合运用卫星遥感、无人机、物联网和图像识别技术，"
    "对森林草原火险因子进行实时采集和分析研判。系统实现火情快速识别和准确定位，"
    "灾情通过5G网络实时传输到指挥中心，报警响应时间45分钟。"
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = Settings(
        embedder="hash",
        data_dir=tmp_path_factory.mktemp("api-data"),
        corpus_dir=REPO / "corpus",
        max_text_chars=MAX_CHARS,
    )
    build_graph(s)
    build_index(s)
    return s


@pytest.fixture
def private_settings(settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the built data: an app of its own must not contend with ``client`` for the
    store's lock."""
    shutil.copytree(settings.data_dir, tmp_path / "data")
    return settings.model_copy(update={"data_dir": tmp_path / "data"})


def wait_ready(client: TestClient, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "service not ready in time"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        wait_ready(c)
        yield c


def assert_bilingual(body: dict[str, object], code: str) -> None:
    assert body["error"] == code
    assert isinstance(body["message_zh"], str) and re.search(r"[\u4e00-\u9fff]", body["message_zh"])
    assert isinstance(body["message_en"], str) and re.search(r"[A-Za-z]{3}", body["message_en"])


# --- start-up -----------------------------------------------------------------------------------


def test_healthz_is_503_until_the_pilot_is_open_and_routes_say_so(private_settings: Settings) -> None:
    release = threading.Event()

    def slow_open(s: Settings) -> Pilot:
        assert release.wait(60)
        return Pilot.open(s)

    with TestClient(create_app(private_settings, pilot_factory=slow_open)) as c:
        r = c.get("/healthz")
        assert r.status_code == 503
        assert r.json()["status"] == "starting"
        r = c.post("/api/match", json={"text": FIRE})
        assert r.status_code == 503
        assert_bilingual(r.json(), "service_unavailable")
        assert c.get("/").status_code == 200  # the page itself does not wait for the model
        release.set()
        wait_ready(c)
        health = c.get("/healthz").json()
        assert health["status"] == "ok"
        assert {ch["name"] for ch in health["checks"]} >= {"store", "index-metadata", "index-points", "index-probe"}
        assert all(ch["ok"] for ch in health["checks"])
        assert c.post("/api/match", json={"text": FIRE}).status_code == 200


def test_a_failed_start_is_reported_not_hidden(private_settings: Settings) -> None:
    def broken(s: Settings) -> Pilot:
        raise StoreError("index missing: run pilotkg build", "索引缺失：请先运行 pilotkg build", where="data/qdrant")

    with TestClient(create_app(private_settings, pilot_factory=broken)) as c:
        deadline = time.monotonic() + 10
        while (body := c.get("/healthz").json())["status"] != "failed":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert "index missing" in body["message_en"] and "索引缺失" in body["message_zh"]
        r = c.get("/api/directions")
        assert r.status_code == 503
        assert "index missing" in r.json()["message_en"]


def test_a_locked_index_fails_start_up_instead_of_every_request(private_settings: Settings) -> None:
    holder = open_index(private_settings)  # another opener of the same on-disk shard
    try:
        assert holder.count(POLICY) > 0  # the shard is open (and locked) by this other handle
        with TestClient(create_app(private_settings)) as c:
            deadline = time.monotonic() + 60
            while (body := c.get("/healthz").json())["status"] == "starting":
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert body["status"] == "failed"
            assert "index" in body["message_en"] and "索引" in body["message_zh"]
    finally:
        holder.close()


def test_concurrent_first_requests_do_not_race_to_open_the_store(private_settings: Settings) -> None:
    async def burst(base: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base) as c:
            rs = await asyncio.gather(*[c.get("/sparql", params={"query": "ASK {}"}) for _ in range(8)])
            return [r.status_code for r in rs]

    settings = private_settings.model_copy(update={"sparql_per_caller": 8})  # one address sends all 8
    with serve_in_thread(create_app(settings)) as base:
        assert asyncio.run(burst(base)) == [200] * 8


# --- matching and checking ----------------------------------------------------------------------


def test_match_ranks_the_fire_direction_first_and_honours_top(client: TestClient) -> None:
    r = client.post("/api/match", json={"text": FIRE, "top": 4})
    assert r.status_code == 200
    body = r.json()
    assert [d["number"] for d in body["directions"]][:1] == [8]
    assert body["directions"][0]["name"] == "森林草原火灾监测预警系统"
    assert len(body["directions"]) == 4
    assert isinstance(body["out_of_scope"], bool)
    for ev in body["directions"][0]["evidence"]:
        assert FIRE[ev["start"] : ev["end"]] == ev["text"]


def test_check_flags_the_response_time_threshold_as_violated(client: TestClient) -> None:
    r = client.post("/api/check", json={"text": FIRE, "direction": 8})
    assert r.status_code == 200
    [report] = r.json()
    assert report["direction"] == 8
    rows = {row["id"]: row for row in report["requirements"]}
    threshold = rows["d08-r06"]
    assert threshold["status"] == "violated"
    assert "45" in (threshold["stated"] or "") and "30" in (threshold["required"] or "")
    addressed = [row for row in report["requirements"] if row["status"] == "addressed"]
    assert addressed, "a detailed fire-monitoring text addresses some requirements"
    for row in addressed:
        for ev in row["evidence"]:
            assert FIRE[ev["start"] : ev["end"]] == ev["text"]
    assert sum(report["counts"].values()) == len(report["requirements"])


def test_check_without_direction_checks_the_best_matches(client: TestClient) -> None:
    r = client.post("/api/check", json={"text": FIRE, "top": 2})
    assert r.status_code == 200
    reports = r.json()
    assert len(reports) == 2
    assert reports[0]["direction"] == 8


def test_check_of_an_unknown_direction_is_404_bilingual(client: TestClient) -> None:
    r = client.post("/api/check", json={"text": FIRE, "direction": 42})
    assert r.status_code == 404
    assert_bilingual(r.json(), "not_found")


@pytest.mark.parametrize(
    ("payload", "zh", "en"),
    [
        ({"text": ""}, "不能为空", "must not be empty"),
        ({"text": " \n\t　"}, "空白", "blank"),
        ({"text": "火" * (MAX_CHARS + 1)}, f"最多 {MAX_CHARS}", f"at most {MAX_CHARS}"),
        ({}, "缺少必填字段 text", "text is required"),
        ({"text": FIRE, "top": 0}, "不能小于 1", "at least 1"),
    ],
)
def test_bad_match_input_is_422_with_a_clear_bilingual_message(
    client: TestClient, payload: dict[str, object], zh: str, en: str
) -> None:
    r = client.post("/api/match", json=payload)
    assert r.status_code == 422
    body = r.json()
    assert_bilingual(body, "invalid_input")
    assert zh in body["message_zh"] and en in body["message_en"]
    # A rejected (possibly confidential) text is never echoed back.
    assert "火" * 50 not in r.text


@pytest.mark.parametrize("path", ["/api/match", "/api/check"])
def test_a_lone_surrogate_escape_is_422_not_a_crash(client: TestClient, path: str) -> None:
    # JSON's "\ud800" escape is a surrogate code point, which no encoder takes: refused when read
    body = '{"text": "森林火灾\\ud800监测预警，报警响应时间45分钟"}'.encode()
    r = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert_bilingual(r.json(), "invalid_input")
    assert "Unicode" in r.json()["message_zh"] and "valid Unicode" in r.json()["message_en"]


def test_text_at_the_limit_is_accepted(client: TestClient) -> None:
    text = (FIRE * 20)[:MAX_CHARS]
    assert client.post("/api/check", json={"text": text, "direction": 8}).status_code == 200


def test_malformed_json_is_422_bilingual(client: TestClient) -> None:
    r = client.post("/api/match", content=b'{"text": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert_bilingual(r.json(), "invalid_input")
    assert "JSON" in r.json()["message_zh"]


# --- search and browsing ------------------------------------------------------------------------


def test_search_filters_kinds_and_limits(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "尾矿库漫顶溃坝", "limit": 3, "kind": ["direction", "article"]})
    assert r.status_code == 200
    hits = r.json()
    assert 0 < len(hits) <= 3
    assert {h["kind"] for h in hits} <= {"direction", "article"}
    assert hits[0]["id"].startswith(("direction/", "article/"))
    only_req = client.get("/api/search", params={"q": "报警响应时间", "kind": "requirement"}).json()
    assert only_req and {h["kind"] for h in only_req} == {"requirement"}


@pytest.mark.parametrize(
    "params",
    [
        {"q": ""},
        {"q": "   "},
        {"q": "火灾", "limit": 0},
        {"q": "火灾", "limit": 51},
        {"q": "火灾", "kind": "x"},
    ],
)
def test_bad_search_parameters_are_422(client: TestClient, params: dict[str, object]) -> None:
    r = client.get("/api/search", params=params)
    assert r.status_code == 422
    assert_bilingual(r.json(), "invalid_input")


def test_directions_groups_and_articles(client: TestClient) -> None:
    directions = client.get("/api/directions").json()
    assert [d["number"] for d in directions] == list(range(1, 17))
    assert {d["group"] for d in directions} == {1, 2, 3, 4}
    groups = client.get("/api/groups").json()
    assert [g["number"] for g in groups] == [1, 2, 3, 4]
    d8 = client.get("/api/directions/8").json()
    assert d8["name"] == "森林草原火灾监测预警系统"
    assert any(r["kind"] == "threshold" for r in d8["requirements"])
    articles = client.get("/api/articles").json()
    assert [a["number"] for a in articles] == list(range(1, 20))
    a12 = client.get("/api/articles/12").json()
    assert a12["label"] == "第十二条"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/directions/17", 404),
        ("/api/articles/20", 404),
        ("/api/directions/0", 422),
        ("/api/directions/abc", 422),
    ],
)
def test_unknown_or_invalid_ids(client: TestClient, path: str, status: int) -> None:
    r = client.get(path)
    assert r.status_code == status
    assert r.json()["message_zh"] and r.json()["message_en"]


def test_example_queries_are_served_from_the_ontology_package(client: TestClient) -> None:
    queries = client.get("/api/queries").json()
    names = {q["name"] for q in queries}
    shipped = {p.name for p in (REPO / "ontology" / "queries").glob("*.rq")}
    assert names == shipped and shipped
    for q in queries:
        assert not q["title"].startswith("title:")
        assert re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", q["query"], re.IGNORECASE)


# --- page, docs, errors -------------------------------------------------------------------------


def test_portal_page_is_utf8_chinese_and_self_contained(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert '<html lang="zh-CN">' in r.text and "匹配" in r.text
    for asset in ("/static/app.js", "/static/style.css"):
        a = client.get(asset)
        assert a.status_code == 200 and "charset=utf-8" in a.headers["content-type"]
    # the project's own files; the vendored YASGUI / Swagger UI / ReDoc are checked offline in Chromium
    static = [p.read_text(encoding="utf-8") for p in (REPO / "api" / "static").iterdir() if p.is_file()]
    # No CDN, no web fonts: the machine that runs this is offline.
    assert not any(re.search(r"(src|href)=\"https?://|url\(\s*['\"]?https?://|@import", s) for s in static)


def test_openapi_is_bilingual_and_shows_the_configured_limit(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    for p in ("/api/match", "/api/check", "/api/search", "/sparql", "/api/projects", "/healthz"):
        assert p in paths
    post = paths["/api/match"]["post"]
    assert re.search(r"[\u4e00-\u9fff]", post["summary"]) and re.search(r"[a-z]{4}", post["summary"])
    schemas = doc["components"]["schemas"]
    assert schemas["MatchRequest"]["properties"]["text"]["maxLength"] == MAX_CHARS


def test_unknown_route_and_wrong_method_are_bilingual(client: TestClient) -> None:
    r = client.get("/api/nope")
    assert r.status_code == 404
    assert_bilingual(r.json(), "not_found")
    r = client.delete("/api/directions")
    assert r.status_code == 405
    assert_bilingual(r.json(), "method_not_allowed")


def test_unexpected_errors_do_not_leak_internals(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError("secret /srv/internal/path detail")

    # The running app's own Pilot, so no second Pilot opens the same store.
    monkeypatch.setattr(client.app.state.runtime.pilot, "search", boom)  # type: ignore[attr-defined]
    quiet = TestClient(client.app, raise_server_exceptions=False)  # same app, lifespan already running
    r = quiet.get("/api/search", params={"q": "火灾"})
    assert r.status_code == 500
    assert_bilingual(r.json(), "internal_error")
    assert "secret" not in r.text and "Traceback" not in r.text


# --- the applicant's workbench (issue 15) ---------------------------------------------------------------------


def test_search_never_returns_anchors_and_nonsense_gets_nothing(client: TestClient) -> None:
    # the out-of-scope anchors live in the same collection; no route may return them
    for q in ("城市隧道、桥梁、地铁等基础设施结构健康监测", "验收", "医院医疗服务与医疗机器人"):
        hits = client.get("/api/search", params={"q": q, "limit": 50}).json()
        assert all(h["kind"] in ("direction", "requirement", "article") for h in hits), q
    assert client.get("/api/search", params={"q": "披萨外卖"}).json() == []


def test_check_rows_lead_with_what_to_fix(client: TestClient) -> None:
    report = client.post("/api/check", json={"text": FIRE, "direction": 8}).json()[0]
    order = ["violated", "missing", "uncertain", "addressed"]
    statuses = [r["status"] for r in report["requirements"]]
    assert statuses == sorted(statuses, key=order.index) and statuses[0] == "violated"
    assert report["summary_zh"].startswith("1 处不满足，")
    row = next(r for r in report["requirements"] if r["id"] == "d08-e07")
    assert row["text"] == "火情监测" and row["display"] == "有效提高火情监测的科学性、时效性"
    assert row["clause"] == "三、（八）森林草原火灾监测预警系统·应用成效"
    assert all(r["hint_zh"] for r in report["requirements"] if r["status"] == "missing")


@pytest.mark.parametrize("fmt,media", [("md", "text/markdown"), ("csv", "text/csv")])
def test_checklist_export(client: TestClient, fmt: str, media: str) -> None:
    r = client.post("/api/check/export", json={"text": FIRE, "direction": 8, "format": fmt})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    assert f'filename="checklist-d08.{fmt}"' in r.headers["content-disposition"]
    body = r.content.decode("utf-8-sig")
    assert (
        "报警响应时间少于30分钟" in body and "45分钟" in body and "三、（八）森林草原火灾监测预警系统·示范要求" in body
    )
    if fmt == "csv":
        assert r.content.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
        assert body.splitlines()[1].startswith("不满足,")


def test_apply_info_comes_from_the_corpus(client: TestClient) -> None:
    info = client.get("/api/apply-info").json()
    first, second = info["notices"]
    assert first["checked"] and first["doc_number"] == "工信厅联安全函〔2021〕11号"
    assert [d["date"] for d in first["deadlines"]] == ["2021-03-31", "2021-09-30"]
    assert [d["date"] for d in second["deadlines"]] == ["2021-03-20", "2021-09-20"] and not second["checked"]
    assert {c["phone"] for c in first["contacts"]} == {"010-68205374", "010-62303157"}
    kinds = {r["kind"]: r for r in info["consortium_rules"]}
    assert kinds["max_partners"]["value"] == 8 and kinds["max_partners"]["clause"] == "三、（一）申报资格"
    assert info["characteristics"]["values"] == ["技术先进性", "应用实效性", "模式创新性", "示范带动性"]


def _consortium(n_partners: int, **extra: object) -> dict[str, object]:
    partners = [{"name": f"伙伴{i}", "type": "服务提供商"} for i in range(n_partners)]
    lead = {"name": "甲装备公司", "type": "装备制造企业"}
    return {"lead_unit": lead, "partners": partners, "region": "四川省", "batch": 1, **extra}


def test_consortium_precheck_uses_the_import_rules_and_stores_nothing(client: TestClient) -> None:
    before = client.post("/sparql", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}).text
    r = client.post("/api/projects/precheck", json=_consortium(9))
    assert r.status_code == 200
    report = r.json()
    assert not report["conforms"] and [v["rule"]["kind"] for v in report["violations"]] == ["max_partners"]
    v = report["violations"][0]
    assert v["found"] == "9" and "超过上限 8 家" in v["message_zh"] and "precheck" not in v["message_zh"]
    assert v["rule"]["clause"] == "三、（一）申报资格" and v["rule"]["source_text"] == "联合单位不超过 8 家"
    assert client.post("/api/projects/precheck", json=_consortium(8)).json()["conforms"]
    lonely = client.post("/api/projects/precheck", json=_consortium(0)).json()
    assert [v["rule"]["kind"] for v in lonely["violations"]] == ["no_single_enterprise"]
    two = client.post("/api/projects/precheck", json=_consortium(2, directions=[8, 9])).json()
    assert [v["rule"]["kind"] for v in two["violations"]] == ["directions_per_project"]
    late = client.post("/api/projects/precheck", json=_consortium(2, submitted="2021-04-02")).json()
    assert [v["rule"]["kind"] for v in late["violations"]] == ["deadline"]
    bad = client.post("/api/projects/precheck", json=_consortium(2, batch=3))
    assert bad.status_code == 422
    assert_bilingual(bad.json(), "invalid_input")
    after = client.post("/sparql", data={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}).text
    assert before == after  # nothing was stored


def test_precheck_of_an_unknown_region_is_a_located_422(client: TestClient) -> None:
    # found by schemathesis: the form's values go through the project model, whose refusal is the user's
    body = {"batch": 1, "lead_unit": {"name": "测试单位", "type": "用户单位"}, "region": "0"}
    resp = client.post("/api/projects/precheck", json=body)
    assert resp.status_code == 422, resp.text
    assert_bilingual(resp.json(), "invalid_input")
    assert resp.json()["where"].startswith("precheck")
