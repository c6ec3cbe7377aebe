"""Access boundaries: anonymous / applicant / other applicant / reviewer × every project route and
SPARQL over the projects graph; bad tokens are refused, never downgraded to anonymous."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pilotkg.api import auth
from pilotkg.api.app import create_app
from pilotkg.errors import Unauthenticated
from pilotkg.graph.rdf import build as build_graph
from pilotkg.iri import POLICY_GRAPH, PROJECTS_GRAPH, iri, legal_entity
from pilotkg.policy import name_key
from pilotkg.service import build_index
from pilotkg.settings import Settings

REPO = Path(__file__).resolve().parents[2]
REVIEWER = "rv-7f3a9c2e41d8"
ALICE = "ap-alice-5b2d7e"  # 甲 company's token
BOB = "ap-bob-9c4f1a"  # 乙 company's token
ALICE_NAME = "甲安全科技有限公司"
BOB_NAME = "乙应急装备有限公司"

COUNT_PROJECTS = (
    "PREFIX pk: <https://w3id.org/pilotkg/def#>\n"
    "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { { ?p a pk:Project } UNION { GRAPH ?g { ?p a pk:Project } } }"
)
COUNT_IN_PROJECTS_GRAPH = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{PROJECTS_GRAPH}> {{ ?s ?p ?o }} }}"
PROJECTS_FROM_PROJECTS_GRAPH = (
    "PREFIX pk: <https://w3id.org/pilotkg/def#>\n"
    f"SELECT (COUNT(?p) AS ?n) FROM <{PROJECTS_GRAPH}> FROM NAMED <{PROJECTS_GRAPH}> "
    f"WHERE {{ {{ ?p a pk:Project }} UNION {{ GRAPH <{PROJECTS_GRAPH}> {{ ?p a pk:Project }} }} }}"
)
COUNT_DIRECTIONS = "PREFIX pk: <https://w3id.org/pilotkg/def#>\nSELECT (COUNT(?d) AS ?n) WHERE { ?d a pk:Direction }"


def project(pid: str, lead: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": f"{lead}林区火情智能监测预警示范",
        "description": "综合运用卫星遥感、无人机和物联网技术，实现火险因子实时采集和火情快速识别，报警响应时间20分钟。",
        "direction": 8,
        "lead_unit": {"name": lead, "type": "装备制造企业", "region": "四川省"},
        "partners": [{"name": f"{lead}合作软件公司", "type": "软件企业", "region": "四川省"}],
        "region": "四川省",
        "batch": 1,
        "submitted": "2021-03-15",
        **extra,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ANON: dict[str, str] = {}
AS_ALICE, AS_BOB, AS_REVIEWER = bearer(ALICE), bearer(BOB), bearer(REVIEWER)
BAD_TOKENS = [
    bearer("nope"),
    bearer(ALICE[:-1]),
    bearer(ALICE + "x"),
    {"Authorization": "Bearer "},
    {"Authorization": f"Basic {ALICE}"},
    {"Authorization": ALICE},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    s = Settings(
        embedder="hash",
        data_dir=tmp_path_factory.mktemp("access-data"),
        corpus_dir=REPO / "corpus",
        reviewer_tokens=[REVIEWER],
        applicant_tokens={ALICE: ALICE_NAME, BOB: BOB_NAME},
    )
    build_graph(s)
    build_index(s)
    with TestClient(create_app(s)) as c:
        deadline = time.monotonic() + 60
        while c.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # Alice owns A-001, Bob owns B-001, the reviewer loaded R-001 (no applicant owner).
        # Alice also claims Bob as owner in her body: the token decides, not the body.
        assert (
            c.post("/api/projects", json=project("A-001", ALICE_NAME, owner=BOB_NAME), headers=AS_ALICE).status_code
            == 201
        )
        assert c.post("/api/projects", json=[project("B-001", BOB_NAME)], headers=AS_BOB).status_code == 201
        assert c.post("/api/projects", json=project("R-001", "丁救援装备集团"), headers=AS_REVIEWER).status_code == 201
        yield c


def sparql_count(c: TestClient, query: str, headers: dict[str, str], **params: str) -> int:
    r = c.get(
        "/sparql",
        params={"query": query, **params},
        headers=headers | {"Accept": "application/sparql-results+json"},
    )
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


# --- submitting ---------------------------------------------------------------------------------


def test_anonymous_cannot_submit(client: TestClient) -> None:
    r = client.post("/api/projects", json=project("X-001", "戊公司"))
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["error"] == "unauthenticated" and "令牌" in r.json()["message_zh"]
    assert client.get("/api/projects/X-001", headers=AS_REVIEWER).status_code == 404


@pytest.mark.parametrize("headers", BAD_TOKENS)
def test_bad_tokens_are_401_on_every_route(client: TestClient, headers: dict[str, str]) -> None:
    assert client.post("/api/projects", json=project("X-002", "戊公司"), headers=headers).status_code == 401
    assert client.get("/api/projects", headers=headers).status_code == 401
    assert client.get("/api/projects/A-001", headers=headers).status_code == 401
    # A wrong token is never silently treated as anonymous, even where anonymous may read.
    assert client.get("/sparql", params={"query": COUNT_DIRECTIONS}, headers=headers).status_code == 401


def test_the_token_not_the_body_decides_the_owner(client: TestClient) -> None:
    assert client.get("/api/projects/A-001", headers=AS_REVIEWER).json()["owner"] == ALICE_NAME
    assert client.get("/api/projects/R-001", headers=AS_REVIEWER).json()["owner"] is None


def test_an_applicant_cannot_overwrite_another_applicants_project(client: TestClient) -> None:
    before = client.get("/api/projects/A-001", headers=AS_REVIEWER).json()
    r = client.post("/api/projects", json=project("A-001", BOB_NAME), headers=AS_BOB)
    assert r.status_code == 403
    assert r.json()["error"] == "access_denied"
    assert client.get("/api/projects/A-001", headers=AS_REVIEWER).json() == before


def test_an_applicant_can_update_its_own_project(client: TestClient) -> None:
    r = client.post("/api/projects", json=project("A-001", ALICE_NAME, region="四川省"), headers=AS_ALICE)
    assert r.status_code == 200  # nothing new: updated only
    assert r.json()["updated"] == ["A-001"] and r.json()["created"] == []


def test_invalid_projects_are_422_with_row_errors(client: TestClient) -> None:
    bad = project("A-002", ALICE_NAME, direction=0)
    del bad["lead_unit"]
    r = client.post("/api/projects", json=[project("A-003", ALICE_NAME), bad], headers=AS_ALICE)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "invalid_input"
    locs = {tuple(d["loc"]) for d in body["detail"]}
    assert ("body", 1, "direction") in locs and ("body", 1, "lead_unit") in locs
    # all or nothing: the valid first row was not stored either
    assert client.get("/api/projects/A-003", headers=AS_REVIEWER).status_code == 404


# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [(AS_ALICE, ["A-001"]), (AS_BOB, ["B-001"]), (AS_REVIEWER, ["A-001", "B-001", "R-001"])],
)
def test_listing_shows_what_the_caller_may_see(
    client: TestClient, headers: dict[str, str], expected: list[str]
) -> None:
    r = client.get("/api/projects", headers=headers)
    assert r.status_code == 200
    assert sorted(p["id"] for p in r.json()) == expected


def test_anonymous_cannot_list_or_read(client: TestClient) -> None:
    assert client.get("/api/projects").status_code == 401
    for pid in ("A-001", "does-not-exist"):
        r = client.get(f"/api/projects/{pid}")
        assert r.status_code == 401  # not 404: anonymous learns nothing about which ids exist


@pytest.mark.parametrize(
    ("headers", "pid", "status"),
    [
        (AS_ALICE, "A-001", 200),
        (AS_ALICE, "B-001", 404),
        (AS_ALICE, "R-001", 404),
        (AS_BOB, "B-001", 200),
        (AS_BOB, "A-001", 404),
        (AS_REVIEWER, "A-001", 200),
        (AS_REVIEWER, "B-001", 200),
        (AS_REVIEWER, "R-001", 200),
        (AS_REVIEWER, "nope", 404),
    ],
)
def test_reading_one_project(client: TestClient, headers: dict[str, str], pid: str, status: int) -> None:
    r = client.get(f"/api/projects/{pid}", headers=headers)
    assert r.status_code == status
    if status == 200:
        assert r.json()["id"] == pid
    else:
        assert r.json()["error"] == "not_found"


def test_another_applicants_project_looks_exactly_like_a_missing_one(client: TestClient) -> None:
    theirs = client.get("/api/projects/B-001", headers=AS_ALICE).json()
    missing = client.get("/api/projects/B-999", headers=AS_ALICE).json()
    assert {k: v.replace("B-001", "ID") if isinstance(v, str) else v for k, v in theirs.items()} == {
        k: v.replace("B-999", "ID") if isinstance(v, str) else v for k, v in missing.items()
    }


# --- SPARQL over the projects graph -------------------------------------------------------------


@pytest.mark.parametrize(("headers", "n"), [(ANON, 0), (AS_ALICE, 0), (AS_BOB, 0), (AS_REVIEWER, 3)])
def test_sparql_sees_projects_only_as_reviewer(client: TestClient, headers: dict[str, str], n: int) -> None:
    assert sparql_count(client, COUNT_PROJECTS, headers) == n
    assert (sparql_count(client, COUNT_IN_PROJECTS_GRAPH, headers) > 0) == (n > 0)
    # FROM / FROM NAMED in the query text cannot reach a graph the caller may not see.
    assert (sparql_count(client, PROJECTS_FROM_PROJECTS_GRAPH, headers) > 0) == (n > 0)
    assert sparql_count(client, COUNT_DIRECTIONS, headers) == 16  # policy data is public


@pytest.mark.parametrize("param", ["default-graph-uri", "named-graph-uri"])
@pytest.mark.parametrize(("headers", "status"), [(ANON, 401), (AS_ALICE, 403), (AS_REVIEWER, 200)])
def test_protocol_graph_parameters_cannot_widen_the_view(
    client: TestClient, param: str, headers: dict[str, str], status: int
) -> None:
    r = client.get("/sparql", params={"query": COUNT_PROJECTS, param: PROJECTS_GRAPH}, headers=headers)
    assert r.status_code == status
    if status != 200:
        assert r.json()["message_zh"] and r.json()["message_en"]


def test_protocol_graph_parameters_can_narrow_the_view(client: TestClient) -> None:
    # A reviewer asking for the policy graph alone does not get project triples.
    n = sparql_count(client, COUNT_PROJECTS, AS_REVIEWER, **{"default-graph-uri": POLICY_GRAPH})
    assert n == 0
    assert sparql_count(client, COUNT_DIRECTIONS, ANON, **{"default-graph-uri": POLICY_GRAPH}) == 16


# --- token handling -----------------------------------------------------------------------------


def test_each_reviewer_token_has_its_own_sparql_allowance() -> None:
    # The caller key once was role + applicant: every reviewer was "reviewer:None", so one reviewer's
    # batch of queries took the allowance of all the others (429 for them).
    s = Settings(reviewer_tokens=["r1", "r2"], applicant_tokens={"a1": "甲", "a2": "甲", "a3": "丙"})
    r1, r2 = auth.resolve(s, "Bearer r1"), auth.resolve(s, "Bearer r2")
    assert r1.is_reviewer and r2.is_reviewer and r1.caller != r2.caller
    assert "r1" not in r1.caller and "r2" not in r2.caller  # the key never carries the secret
    # one applicant's tokens share its allowance; another applicant has its own
    assert auth.resolve(s, "Bearer a1").caller == auth.resolve(s, "Bearer a2").caller
    assert auth.resolve(s, "Bearer a1").caller != auth.resolve(s, "Bearer a3").caller


def test_resolve_compares_every_token_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings(reviewer_tokens=["r1", "r2"], applicant_tokens={"a1": "甲", "a2": "乙", "a3": "丙"})
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert auth.resolve(s, "Bearer r1") == auth.Principal("reviewer", reviewer=0)
    assert len(calls) == 5  # no early exit on the first match
    calls.clear()
    assert auth.resolve(s, "bearer a2") == auth.Principal("applicant", "乙")
    assert len(calls) == 5
    assert auth.resolve(s, None) == auth.ANONYMOUS
    for header in ("Bearer r", "Bearer r1 ", "Bearer a22", "Token a1"):
        if header == "Bearer r1 ":
            assert auth.resolve(s, header).role == "reviewer"  # surrounding whitespace is not part of a token
            continue
        with pytest.raises(Unauthenticated):
            auth.resolve(s, header)


def test_header_name_and_scheme_casing_do_not_matter(client: TestClient) -> None:
    r = client.get("/api/projects", headers={"authorization": f"bearer {REVIEWER}"})
    assert r.status_code == 200


def test_a_rule_report_does_not_name_other_applicants_projects(client: TestClient) -> None:
    # Bob files two projects under the lead unit of Alice's stored A-001: three for one lead unit
    # breaks the notice's limit of two, and the report must not reveal Alice's project id.
    r = client.post("/api/projects", json=[project("B-101", ALICE_NAME), project("B-102", ALICE_NAME)], headers=AS_BOB)
    assert r.status_code == 422, r.text
    assert "A-001" not in r.text
    assert "B-101" in r.text or "B-102" in r.text
    as_reviewer = client.post(
        "/api/projects", json=[project("R-101", ALICE_NAME), project("R-102", ALICE_NAME)], headers=AS_REVIEWER
    )
    assert as_reviewer.status_code == 422 and "3" in as_reviewer.json()["report"]["violations"][0]["found"]


def test_a_replaced_project_leaves_no_unit_behind(client: TestClient) -> None:
    # Alice's A-002 first names a partner no other project names; resubmitted with another partner, that
    # partner's node (type, name key, label) is gone from the projects graph, and the lead's spelling too.
    lead = "甲安全科技（成都）有限公司"

    def triples_about(name: str) -> int:
        node = iri(legal_entity(None, name_key(name)))
        return sparql_count(
            client,
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{PROJECTS_GRAPH}> {{ <{node}> ?p ?o }} }}",
            AS_REVIEWER,
        )

    first = project("A-002", lead, partners=[{"name": "一次性合作单位", "type": "用户单位"}])
    assert client.post("/api/projects", json=first, headers=AS_ALICE).status_code == 201
    assert triples_about("一次性合作单位") == 3  # a:Organization, pk:nameKey, rdfs:label
    again = {**first, "lead_unit": {**first["lead_unit"], "name": "甲安全科技(成都) 有限公司"}}
    again["partners"] = [{"name": "另一合作单位", "type": "用户单位"}]
    r = client.post("/api/projects", json=again, headers=AS_ALICE)
    assert r.status_code == 200 and r.json()["updated"] == ["A-002"]
    assert triples_about("一次性合作单位") == 0
    assert triples_about(lead) == 3  # one node for both spellings, with the new spelling only
    read = client.get("/api/projects/A-002", headers=AS_ALICE).json()
    assert read["lead_unit"]["name"] == again["lead_unit"]["name"]
