"""Issue 11: no request can crash, stall, probe or corrupt the service — one regression test per item,
against the real app (hash embedder: fast and deterministic), several of them through a real uvicorn."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from pilotkg.api.app import create_app
from pilotkg.graph.rdf import build as build_graph
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.iri import PROJECTS_GRAPH
from pilotkg.matching.search import POLICY
from pilotkg.projects import PROJECTS
from pilotkg.service import EncoderGate, Pilot, build_index
from pilotkg.settings import Settings
from tests.api.test_access import (
    ALICE,
    ALICE_NAME,
    AS_ALICE,
    AS_BOB,
    AS_REVIEWER,
    BOB,
    BOB_NAME,
    REVIEWER,
    project,
)
from tests.graph.test_hardening import CRASHERS
from tests.serving import serve_in_thread

REPO = Path(__file__).resolve().parents[2]
SPARQL_JSON = {"Accept": "application/sparql-results+json"}
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . VALUES ?k { 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 } }"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = Settings(
        embedder="hash",
        data_dir=tmp_path_factory.mktemp("hardening-data"),
        corpus_dir=REPO / "corpus",
        reviewer_tokens=[REVIEWER],
        applicant_tokens={ALICE: ALICE_NAME, BOB: BOB_NAME},
        sparql_timeout_s=1.0,
        anonymous_max_rows=100,
        max_body_bytes=200_000,
    )
    build_graph(s)
    build_index(s)
    return s


@pytest.fixture
def private(built: Settings, tmp_path: Path) -> Settings:
    """A copy of the built data for a test that damages it or runs a server of its own."""
    shutil.copytree(built.data_dir, tmp_path / "data")
    return built.model_copy(update={"data_dir": tmp_path / "data"})


def wait_ready(c: TestClient, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (r := c.get("/healthz")).json()["status"] == "starting":
        assert time.monotonic() < deadline, "still starting"
        time.sleep(0.05)
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture(scope="module")
def client(built: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(built)) as c:
        assert wait_ready(c)["status"] == "ok"
        yield c


# --- item 1: one anonymous request killed the server ---------------------------------------------


def test_nested_queries_do_not_crash_a_real_server(private: Settings) -> None:
    with serve_in_thread(create_app(private)) as base:
        for name, text in CRASHERS.items():
            r = httpx.post(
                f"{base}/sparql", content=text, headers={"Content-Type": "application/sparql-query"}, timeout=60
            )
            assert r.status_code == 400, (name, r.status_code)
            assert "查询" in r.json()["message_zh"]
        r = httpx.get(f"{base}/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers=SPARQL_JSON, timeout=60)
        assert r.status_code == 200 and r.json()["boolean"] is True


# --- item 2: SERVICE could be smuggled past the text masking -------------------------------------


def test_service_bypass_is_refused_and_nothing_is_fetched(client: TestClient) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        text = (
            "PREFIX e: <http://e/> SELECT * WHERE { OPTIONAL { ?s ?p e:a\\#x } "
            f"SERVICE <http://127.0.0.1:{port}/x> {{ ?a ?b ?c }} }}"
        )
        r = client.post("/sparql", content=text, headers={"Content-Type": "application/sparql-query"})
        assert r.status_code == 400 and "SERVICE" in r.json()["message_en"]
        with pytest.raises(TimeoutError):  # nobody connected
            listener.accept()
    finally:
        listener.close()


# --- item 3: slow queries locked everyone out ------------------------------------------------------


def test_slow_anonymous_queries_are_killed_and_do_not_lock_out_reviewers(private: Settings) -> None:
    settings = private.model_copy(update={"sparql_per_caller": 8})
    with serve_in_thread(create_app(settings)) as base:
        results: list[int] = []

        def slow() -> None:
            r = httpx.get(f"{base}/sparql", params={"query": SLOW}, headers=SPARQL_JSON, timeout=60)
            results.append(r.status_code)

        threads = [threading.Thread(target=slow) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        # the worker kept for token holders answers a reviewer while the four run
        r = httpx.get(
            f"{base}/sparql",
            params={"query": "ASK { ?s ?p ?o }"},
            headers=SPARQL_JSON | AS_REVIEWER,
            timeout=60,
        )
        assert r.status_code == 200 and r.json()["boolean"] is True
        for t in threads:
            t.join()
        assert results and set(results) <= {503}  # each one stopped at the time limit (or refused: busy)
        # and afterwards an anonymous query runs at once: the killed workers were replaced
        r = httpx.get(f"{base}/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers=SPARQL_JSON, timeout=60)
        assert r.status_code == 200


def test_per_caller_concurrency_is_a_clear_429(private: Settings) -> None:
    settings = private.model_copy(update={"sparql_per_caller": 1})
    with serve_in_thread(create_app(settings)) as base:
        codes: list[int] = []

        def slow() -> None:
            codes.append(httpx.get(f"{base}/sparql", params={"query": SLOW}, timeout=60).status_code)

        threads = [threading.Thread(target=slow) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes.count(429) == 2 and codes.count(503) == 1
        body = httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, timeout=60)
        assert body.status_code == 200


def test_anonymous_results_are_bounded(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 200000"}, headers=SPARQL_JSON)
    assert r.status_code == 422 and r.json()["error"] == "result_too_large"
    assert "LIMIT" in r.json()["message_zh"]
    reviewer = client.get(
        "/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 500"}, headers=SPARQL_JSON | AS_REVIEWER
    )
    assert reviewer.status_code == 200 and len(reviewer.json()["results"]["bindings"]) == 500


# --- item 4: one submission broke the project list --------------------------------------------------


def test_a_date_far_from_the_batch_year_is_refused(client: TestClient) -> None:
    body = project("D-0533", ALICE_NAME, submitted="0533-05-29")
    r = client.post("/api/projects", json=body, headers=AS_ALICE)
    assert r.status_code == 422 and "提交日期" in r.json()["message_zh"]
    r = client.post("/api/projects", json=project("D-2031", ALICE_NAME, submitted="2031-05-29", year=2021))
    assert r.status_code in (401, 422)
    assert client.get("/api/projects", headers=AS_REVIEWER).status_code == 200


def test_a_stored_project_that_fails_todays_model_is_reported_not_a_500(private: Settings) -> None:
    with TestClient(create_app(private)) as c:
        assert wait_ready(c)["status"] == "ok"
        assert c.post("/api/projects", json=project("OLD-1", ALICE_NAME), headers=AS_ALICE).status_code == 201
        assert c.post("/api/projects", json=project("OK-1", BOB_NAME), headers=AS_BOB).status_code == 201
        pilot = c.app.state.runtime.pilot  # type: ignore[attr-defined]
        # what an older version stored: a year the model refuses today
        pilot.store.update(
            f"DELETE {{ GRAPH <{PROJECTS_GRAPH}> {{ ?p <https://w3id.org/pilotkg/def#year> ?y }} }} "
            f"INSERT {{ GRAPH <{PROJECTS_GRAPH}> {{ ?p <https://w3id.org/pilotkg/def#year> 533 }} }} "
            f"WHERE {{ GRAPH <{PROJECTS_GRAPH}> {{ ?p <http://purl.org/dc/terms/identifier> 'OLD-1' ; "
            "<https://w3id.org/pilotkg/def#year> ?y } }"
        )
        r = c.get("/api/projects", headers=AS_REVIEWER)
        assert r.status_code == 200 and [p["id"] for p in r.json()] == ["OK-1"]
        r = c.get("/api/projects/OLD-1", headers=AS_ALICE)
        assert r.status_code == 422 and "重新提交" in r.json()["message_zh"]
        # another applicant learns nothing: the same 404 as for an id nobody uses
        other, missing = c.get("/api/projects/OLD-1", headers=AS_BOB), c.get("/api/projects/NONE-1", headers=AS_BOB)
        assert other.status_code == missing.status_code == 404
        assert other.json()["message_en"].replace("OLD-1", "X") == missing.json()["message_en"].replace("NONE-1", "X")
        # the owner repairs it by submitting it again
        assert c.post("/api/projects", json=project("OLD-1", ALICE_NAME), headers=AS_ALICE).status_code == 200
        assert c.get("/api/projects/OLD-1", headers=AS_ALICE).json()["year"] == 2021


# --- item 5: kill -9 left the similar-project index incomplete ----------------------------------------

KILL_DURING_INDEX = """
import os, signal, sys
from pathlib import Path
from pilotkg.service import Pilot
from pilotkg.settings import Settings

settings = Settings.model_validate_json(sys.argv[1])

def progress(stage, done, total):
    if stage == "index" and done >= 16:  # the store transaction is committed, indexing half done
        os.kill(os.getpid(), signal.SIGKILL)

Pilot.open(settings).import_file(Path(sys.argv[2]), enrich=False, progress=progress)
"""


def test_sigkill_during_an_import_then_restart_leaves_store_and_index_consistent(
    private: Settings, tmp_path: Path
) -> None:
    rows = [project(f"K-{i:03d}", f"第{i}号应急装备有限公司") for i in range(40)]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", KILL_DURING_INDEX, private.model_dump_json(), str(path)],
        cwd=REPO,
        capture_output=True,
        timeout=600,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    before = Pilot.open(private, read_only=True)
    try:
        assert len(before.list_projects()) == 40
        missing = before.doctor(repair=False)
        assert not missing.ok and any(c.name == "projects-index" and not c.ok for c in missing.checks)
    finally:
        before.close()
    with TestClient(create_app(private)) as c:  # the restart
        health = wait_ready(c)
        assert health["status"] == "ok", health
    after = Pilot.open(private, read_only=True)
    try:
        report = after.doctor(repair=False)
        assert report.ok, report.to_dict()
        assert after.index.count(PROJECTS) == 40
    finally:
        after.close()


# --- item 6: damaged index files gave silently wrong answers ---------------------------------------


def _segments(settings: Settings) -> list[str]:
    return glob.glob(str(settings.index_dir / POLICY / "shard" / "segments" / "*"))


@pytest.mark.parametrize("damage", ["dense vectors deleted", "status.dat truncated"])
def test_a_damaged_index_refuses_to_serve(private: Settings, damage: str) -> None:
    segment = _segments(private)[0]
    if damage == "dense vectors deleted":
        shutil.rmtree(Path(segment) / "vector_storage-dense")
    else:
        status = glob.glob(f"{segment}/vector_storage-dense/vectors/status.dat")[0]
        with open(status, "r+b") as fh:
            fh.truncate(2)
    with TestClient(create_app(private)) as c:
        body = wait_ready(c)  # "failed", not "starting" forever
        assert body["status"] == "failed"
        assert "pilotkg build" in body["message_en"] and "重建" in body["message_zh"]
        assert str(private.data_dir) not in json.dumps(body) and str(private.data_dir.parent) not in json.dumps(body)
        assert c.post("/api/match", json={"text": "森林火灾监测预警"}).status_code == 503


def test_doctor_cli_reports_and_exits_non_zero_on_damage(private: Settings) -> None:
    env = os.environ | {
        "PILOTKG_DATA_DIR": str(private.data_dir),
        "PILOTKG_CORPUS_DIR": str(private.corpus_dir),
        "PILOTKG_EMBEDDER": "hash",
    }
    ok = subprocess.run(
        [sys.executable, "-c", "from pilotkg.cli import app; app()", "doctor", "--json"],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr.decode()[-2000:]
    assert json.loads(ok.stdout)["ok"] is True
    shutil.rmtree(Path(_segments(private)[0]) / "vector_storage-dense")
    bad = subprocess.run(
        [sys.executable, "-c", "from pilotkg.cli import app; app()", "doctor"],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert bad.returncode != 0 and "✗" in bad.stdout.decode()


# --- item 7: the smaller ones -------------------------------------------------------------------------


def test_an_applicant_cannot_probe_other_applicants_ids(client: TestClient) -> None:
    assert client.post("/api/projects", json=project("PROBE-1", BOB_NAME), headers=AS_BOB).status_code in (200, 201)
    # a batch that breaks a rule (a consortium of one) gets the same answer with a taken id and a free one
    taken = client.post("/api/projects", json=project("PROBE-1", ALICE_NAME, partners=[]), headers=AS_ALICE)
    free = client.post("/api/projects", json=project("PROBE-FREE", ALICE_NAME, partners=[]), headers=AS_ALICE)
    assert taken.status_code == free.status_code == 422
    # the whole answer is the same, but for the id the applicant sent itself
    same = json.dumps(taken.json(), ensure_ascii=False).replace("PROBE-1", "ID")
    assert same == json.dumps(free.json(), ensure_ascii=False).replace("PROBE-FREE", "ID")


def test_nested_insert_data_is_400_not_500(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "SELECT * WHERE { INSERT DATA { <http://e/a> <http://e/p> 1 } }"})
    assert r.status_code == 400
    r = client.post(
        "/sparql",
        content="INSERT DATA { INSERT DATA { <http://e/a> <http://e/p> 1 } }",
        headers={"Content-Type": "application/sparql-query"},
    )
    assert r.status_code == 403


def test_request_bodies_are_limited_on_every_route(client: TestClient) -> None:
    big = json.dumps({"text": "林" * 300_000})
    for path in ("/api/match", "/api/check", "/api/projects", "/api/projects/similar"):
        r = client.post(path, content=big, headers={"Content-Type": "application/json"} | AS_REVIEWER)
        assert r.status_code == 413, path
        assert r.json()["error"] == "body_too_large" and "请求体" in r.json()["message_zh"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield b'{"text": "'
        for _ in range(300):
            yield "林".encode() * 1000
        yield b'"}'

    r = client.post("/api/match", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_body_parse_errors_are_chinese_in_message_zh(client: TestClient) -> None:
    cases = [
        ("/api/match", b"{not json"),
        ("/api/match", b'{"text": 5, "top": "x"}'),
        ("/api/match", b'["a"]'),
        ("/api/projects", b'{"id": 1, "submitted": "yesterday", "recommended": "perhaps"}'),
    ]
    for path, body in cases:
        r = client.post(path, content=body, headers={"Content-Type": "application/json"} | AS_REVIEWER)
        assert r.status_code == 422, (path, body)
        zh = r.json()["message_zh"]
        assert not any(word in zh for word in ("Input should", "Field required", "valid", "JSON decode")), zh


@pytest.mark.parametrize("text", ["\u200b\u200b\u200b", "\x00\x00", "\u200b \ufeff\u2060"])
def test_text_without_content_is_refused(client: TestClient, text: str) -> None:
    assert client.post("/api/match", json={"text": text}).status_code == 422
    r = client.post("/api/projects", json=project("ZW-1", ALICE_NAME, description=text), headers=AS_ALICE)
    assert r.status_code == 422


@pytest.mark.parametrize("pid", ["a\x01b", "..", "a..b", "a/b", "x\u200by", "a\nb"])
def test_unsafe_project_ids_are_refused(client: TestClient, pid: str) -> None:
    assert client.post("/api/projects", json=project(pid, ALICE_NAME), headers=AS_ALICE).status_code == 422


def test_healthz_names_its_checks_and_no_paths_or_pids(client: TestClient, built: Settings) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert {c["name"] for c in body["checks"]} >= {"store", "index-metadata", "index-points", "index-probe"}
    text = json.dumps(body)
    assert str(built.data_dir) not in text and "pid" not in text.lower()


def test_a_held_index_is_reported_without_paths_or_pids(private: Settings) -> None:
    from pilotkg.vectors.index import open_index

    holder = open_index(private)
    try:
        assert holder.count(POLICY) > 0
        with TestClient(create_app(private)) as c:
            body = wait_ready(c)
        assert body["status"] == "failed"
        assert str(private.data_dir) not in json.dumps(body) and str(os.getpid()) not in json.dumps(body)
    finally:
        holder.close()


def test_second_serve_on_a_held_data_dir_exits_non_zero(private: Settings) -> None:
    held = EmbeddedStore(private.store_dir)
    try:
        env = os.environ | {"PILOTKG_DATA_DIR": str(private.data_dir), "PILOTKG_EMBEDDER": "hash"}
        proc = subprocess.run(
            [sys.executable, "-c", "from pilotkg.cli import app; app()", "serve", "--port", "1"],
            env=env,
            capture_output=True,
            timeout=120,
        )
    finally:
        held.close()
    assert proc.returncode != 0
    assert "serve" in proc.stderr.decode() or "使用" in proc.stderr.decode()


def test_405_has_allow_and_every_answer_has_security_headers(client: TestClient) -> None:
    r = client.delete("/api/match")
    assert r.status_code == 405 and "POST" in r.headers["allow"]
    assert "不支持" in r.json()["message_zh"]
    for resp in (r, client.get("/"), client.get("/api/directions"), client.get("/healthz")):
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        assert resp.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in client.get("/").headers["content-security-policy"]


def test_openapi_documents_the_bearer_scheme_and_the_error_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path in ("/api/projects", "/api/projects/{project_id}"):
        for op in spec["paths"][path].values():
            assert {"401", "403", "404"} <= set(op["responses"]), path
            assert {"bearer": []} in op["security"]


def test_the_encoder_gate_lets_interactive_requests_in_between_batch_turns() -> None:
    gate = EncoderGate(max_waiting=4)
    order: list[str] = []
    batch_turn = threading.Event()
    interactive_waiting = threading.Event()

    def batch() -> None:
        for i in range(3):
            with gate.batch():
                order.append(f"batch{i}")
                if i == 0:
                    batch_turn.set()
                    assert interactive_waiting.wait(10)
                    time.sleep(0.1)  # the interactive request is queued behind this turn

    def interactive() -> None:
        assert batch_turn.wait(10)
        interactive_waiting.set()
        with gate.interactive():
            order.append("match")

    threads = [threading.Thread(target=batch), threading.Thread(target=interactive)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order == ["batch0", "match", "batch1", "batch2"]
