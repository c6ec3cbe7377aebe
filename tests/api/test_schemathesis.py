"""A bounded schemathesis run over the OpenAPI, anonymous and with each role's token: 0 server errors.

schemathesis (a test extra, installed by the set-up) generates requests from /openapi.json against a
real uvicorn server; only the ``not_a_server_error`` check runs (the API's 4xx answers are its contract,
tested elsewhere). Bounded: a few examples per operation, a fixed seed, a time budget per role.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pilotkg.api.app import create_app
from pilotkg.graph.rdf import build as build_graph
from pilotkg.service import build_index
from pilotkg.settings import Settings
from tests.api.test_access import ALICE, ALICE_NAME, BOB, BOB_NAME, REVIEWER, project
from tests.serving import serve_in_thread

REPO = Path(__file__).resolve().parents[2]
ROLES = {"anonymous": None, "applicant": ALICE, "reviewer": REVIEWER}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    s = Settings(
        embedder="hash",
        data_dir=tmp_path_factory.mktemp("fuzz-data"),
        corpus_dir=REPO / "corpus",
        reviewer_tokens=[REVIEWER],
        applicant_tokens={ALICE: ALICE_NAME, BOB: BOB_NAME},
        sparql_timeout_s=2.0,
        sparql_per_caller=16,
    )
    build_graph(s)
    build_index(s)
    app = create_app(s)
    with serve_in_thread(app) as url:
        # a stored project, so the project routes find one
        r = httpx.post(
            f"{url}/api/projects",
            json=project("FUZZ-1", ALICE_NAME),
            headers={"Authorization": f"Bearer {ALICE}"},
            timeout=120,
        )
        assert r.status_code == 201, r.text
        yield url


@pytest.mark.parametrize("role", sorted(ROLES))
def test_schemathesis_finds_no_server_error(base: str, role: str, tmp_path: Path) -> None:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert exe, "schemathesis is a test extra: run scripts/setup.sh"
    token = ROLES[role]
    cmd = [
        exe,
        "run",
        f"{base}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "6",
        "--seed",
        "11",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        "30",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    if token is not None:
        cmd += ["--header", f"Authorization: Bearer {token}"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    print(f"{role}: {time.monotonic() - t0:.0f} s\n{out[-3000:]}")
    assert "Server error" not in out, out[-6000:]
    assert proc.returncode == 0, out[-6000:]
