"""The facade: parts open on first use, and the CLI and the API (both through it) answer alike."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pilotkg.api.app import create_app
from pilotkg.cli import app as cli
from pilotkg.projects import read_projects
from pilotkg.service import Pilot
from pilotkg.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[1]
DEADLINE = REPO / "tests" / "data" / "projects_rule_deadline.json"


@pytest.fixture
def own_data(built_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the built data dir: the embedded index allows one opener at a time."""
    dst = tmp_path / "data"
    shutil.copytree(built_settings.data_dir, dst, ignore=shutil.ignore_patterns(".lock", "LOCK"))
    return built_settings.model_copy(update={"data_dir": dst, "reviewer_tokens": ["rev"]})


def test_parts_open_only_when_used(own_data: Settings) -> None:
    pilot = Pilot.open(own_data, read_only=True)
    try:
        assert [d.number for d in pilot.directions()][:3] == [1, 2, 3]
        # listing directions parsed the corpus and nothing else: no model, no index, no store
        assert pilot._embedder is None and pilot._index is None and pilot._store is None
        rows = pilot.sparql("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", include_projects=False).rows
        assert int(rows[0]["n"].value) > 1000
        assert pilot._embedder is None and pilot._index is None  # a query opened the store only
    finally:
        pilot.close()


def test_cli_and_api_report_a_broken_rule_identically(own_data: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PILOTKG_CORPUS_DIR", str(own_data.corpus_dir))
    monkeypatch.setenv("PILOTKG_DATA_DIR", str(own_data.data_dir))
    monkeypatch.setenv("PILOTKG_MODEL_DIR", str(own_data.model_dir))
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(cli, ["projects", "import", str(DEADLINE), "--no-enrich", "--no-index"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 4, res.output

    body = [p.model_dump(mode="json") for p in read_projects(DEADLINE).projects]
    with TestClient(create_app(own_data)) as client:
        deadline = time.monotonic() + 300  # start-up opens the model, the query workers and runs the checks
        while client.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/healthz").text
            time.sleep(0.1)
        resp = client.post("/api/projects", json=body, headers={"Authorization": "Bearer rev"})
    assert resp.status_code == 422, resp.text
    (violation,) = resp.json()["report"]["violations"]
    rule = violation["rule"]
    # one wording of the rule wherever the project came from: clause, words, 原则上 flag
    assert rule["clause"].startswith("三、（四）")
    cited = f"{rule['clause']}「{rule['source_text']}」"
    assert cited in res.output.replace("\n", "")
    assert ("（原则上 / in principle）" in res.output) == rule["in_principle"]
