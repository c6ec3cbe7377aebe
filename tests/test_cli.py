"""The command line: output formats, batch modes, and exit codes on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pilotkg.cli import app
from pilotkg.settings import Settings, get_settings

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def data_copy(built_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The embedded Qdrant allows one opener per shard and the session's Pilot holds the built one,
    # so the CLI gets a copy of the built data dir.
    dst = tmp_path_factory.mktemp("cli") / "data"
    shutil.copytree(built_settings.data_dir, dst, ignore=shutil.ignore_patterns(".lock", "LOCK"))
    return dst


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, built_settings: Settings, data_copy: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PILOTKG_CORPUS_DIR", str(built_settings.corpus_dir))
    monkeypatch.setenv("PILOTKG_DATA_DIR", str(data_copy))
    monkeypatch.setenv("PILOTKG_MODEL_DIR", str(built_settings.model_dir))
    get_settings.cache_clear()
    yield built_settings
    get_settings.cache_clear()


def test_directions_json(env) -> None:  # type: ignore[no-untyped-def]
    res = runner.invoke(app, ["directions", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 16 and rows[7]["number"] == 8
    assert rows[7]["name"] == "森林草原火灾监测预警系统" and rows[7]["group"] == "自然灾害防治应用试点示范项目"


def test_query_formats_and_errors(env) -> None:  # type: ignore[no-untyped-def]
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?d a <http://www.w3.org/2004/02/skos/core#Concept> }"
    res = runner.invoke(app, ["query", q, "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0].strip() == "n"
    bad = runner.invoke(app, ["query", "SELEC ?x WHERE {"])
    assert bad.exit_code == 7 and "query_error" in bad.output
    upd = runner.invoke(app, ["query", "INSERT DATA { <urn:a> <urn:b> <urn:c> }"])
    assert upd.exit_code == 9


def test_missing_store_and_bad_corpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PILOTKG_DATA_DIR", str(tmp_path / "empty"))
    get_settings.cache_clear()
    res = runner.invoke(app, ["query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"])
    assert res.exit_code == 6 and "pilotkg build" in res.output
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.txt").write_text("这不是政策文件。\n", encoding="utf-8")
    monkeypatch.setenv("PILOTKG_CORPUS_DIR", str(tmp_path / "c"))
    get_settings.cache_clear()
    res = runner.invoke(app, ["directions"])
    assert res.exit_code == 3 and "x.txt" in res.output
    get_settings.cache_clear()


def test_match_and_check_batch(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        json.dumps({"id": "a", "text": "瞭望塔AI烟火识别，发现火点后约45分钟完成报警推送。"}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "b", "text": "煤矿井下应急通讯与救援指挥装备", "direction": 4}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["match", "--input", str(cases), "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"]
    assert lines[0]["directions"][0]["number"] == 8 and isinstance(lines[0]["out_of_scope"], bool)
    assert {"number", "name", "score"} <= set(lines[0]["directions"][0])
    res = runner.invoke(app, ["check", "--input", str(cases), "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    a, b = (json.loads(x) for x in res.stdout.splitlines())
    assert a["direction"] == 8 and b["direction"] == 4
    threshold = next(r for r in a["requirements"] if r["kind"] == "threshold")
    assert threshold["status"] == "violated" and threshold["text"] == "报警响应时间少于30分钟"
    raw = (REPO / "corpus" / "2021-safety-emergency-pilot-notice.txt").read_text(encoding="utf-8")
    assert all(r["text"] in raw for r in b["requirements"])


def test_check_table_and_bad_input(env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = runner.invoke(app, ["check", "森林火情无人机巡查，报警响应时间45分钟。", "--direction", "8"])
    assert res.exit_code == 0 and "⚠" in res.stdout
    assert runner.invoke(app, ["check", "文本", "--direction", "99"]).exit_code == 5
    assert runner.invoke(app, ["match"]).exit_code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\nnot json\n', encoding="utf-8")
    res = runner.invoke(app, ["match", "--input", str(bad), "--format", "jsonl"])
    assert res.exit_code == 2 and "bad.jsonl:1" in res.output


def test_projects_import_and_list(env) -> None:  # type: ignore[no-untyped-def]
    bad = runner.invoke(app, ["projects", "import", str(REPO / "tests" / "data" / "projects_rule_max_partners.json")])
    assert bad.exit_code == 4, bad.output
    assert "三、（一）申报资格" in bad.output and "8" in bad.output
    res = runner.invoke(app, ["projects", "import", str(REPO / "corpus" / "projects" / "sample-projects.json")])
    assert res.exit_code == 0, res.output
    listed = runner.invoke(app, ["projects", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    projects = json.loads(listed.stdout)
    assert len(projects) == 10
    assert all(p["matched_direction"] for p in projects) and all(p["coverage"] for p in projects)


def test_model_build_is_idempotent_and_refuses_a_foreign_folder(
    monkeypatch: pytest.MonkeyPatch, e5_model_dir: Path, tmp_path: Path
) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in e5_model_dir.iterdir()}
    monkeypatch.setenv("PILOTKG_MODEL_DIR", str(e5_model_dir))
    get_settings.cache_clear()
    res = runner.invoke(app, ["model", "build"])
    assert res.exit_code == 0 and "up to date" in res.output and "model ready" in res.output, res.output
    assert {p.name: p.stat().st_mtime_ns for p in e5_model_dir.iterdir()} == before  # nothing rewritten
    # A folder holding something else is never replaced by the build's atomic swap.
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    monkeypatch.setenv("PILOTKG_MODEL_DIR", str(foreign))
    get_settings.cache_clear()
    res = runner.invoke(app, ["model", "build"])
    get_settings.cache_clear()
    assert res.exit_code != 0 and str(foreign) in res.output, res.output
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_a_second_guide_builds_into_a_fresh_data_dir_without_a_second_model(
    built_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's example: PILOTKG_CORPUS_DIR=guide2022/ PILOTKG_DATA_DIR=data2022/ pilotkg build."""
    guide = tmp_path / "guide2022"
    guide.mkdir()
    raw = (REPO / "corpus" / "2021-safety-emergency-pilot-notice.txt").read_text(encoding="utf-8")
    (guide / "guide.txt").write_text(raw.replace("报警响应时间少于30分钟", "报警响应时间少于20分钟"), encoding="utf-8")
    model = built_settings.resolved_model_dir
    manifest_before = (model / "pilotkg-model.json").stat().st_mtime_ns
    monkeypatch.setenv("PILOTKG_CORPUS_DIR", str(guide))
    monkeypatch.setenv("PILOTKG_DATA_DIR", str(tmp_path / "data2022"))
    monkeypatch.setenv("PILOTKG_MODEL_DIR", str(model))  # the shared folder (per-user cache by default)
    get_settings.cache_clear()
    try:
        res = runner.invoke(app, ["build"])
        assert res.exit_code == 0, res.output
        q = "SELECT ?v WHERE { ?q <https://w3id.org/pilotkg/def#value> ?v } ORDER BY ?v"
        values = runner.invoke(app, ["query", q, "--format", "csv"])
    finally:
        get_settings.cache_clear()
    assert values.exit_code == 0, values.output
    assert "20" in values.stdout.split() and "30" not in values.stdout.split()
    assert not (tmp_path / "data2022" / "models").exists()  # no second 470 MB model
    assert (model / "pilotkg-model.json").stat().st_mtime_ns == manifest_before
