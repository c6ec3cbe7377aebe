"""Projects files: JSON / JSONL / CSV readers, line numbers, every bad row listed with line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotkg.errors import InputError
from pilotkg.policy.base import Corpus
from pilotkg.policy.corpus import load_corpus
from pilotkg.projects.base import Unit
from pilotkg.projects.submissions import ProjectInputError, read_projects

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
CLEAN = DATA / "projects_clean.json"
SAMPLES = REPO / "corpus" / "projects"


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(REPO / "corpus")


def test_json_reader_array_and_wrapper_with_line_numbers(corpus: Corpus) -> None:
    r = read_projects(CLEAN, corpus=corpus)
    assert [p.id for p in r.projects] == ["T-01", "T-02", "T-03", "T-04", "T-05", "T-06"]
    text = CLEAN.read_text(encoding="utf-8").splitlines()
    for pid, line in r.lines.items():  # each object opens on the reported line, just before its id
        assert text[line - 1].strip() == "{" and pid in text[line]
    wrapped = read_projects(DATA / "projects_rule_deadline.json")
    assert [p.id for p in wrapped.projects] == ["DL-01"]
    single = read_projects(SAMPLES / "sample-projects.json")
    assert len(single.projects) == 10


def test_jsonl_reader(corpus: Corpus) -> None:
    r = read_projects(DATA / "projects_rule_max_projects_per_lead.jsonl", corpus=corpus)
    assert r.lines == {"P-01": 1, "P-02": 2, "P-03": 3}


def test_csv_reader_partners_lead_columns_and_multiline_cells(tmp_path: Path, corpus: Corpus) -> None:
    f = tmp_path / "p.csv"
    f.write_text(
        "id,name,description,direction,lead_unit,lead_unit_type,lead_unit_region,partners,region,batch,"
        "submitted,recommended\n"
        'C-1,项目一,"第一行\n第二行",8,甲公司,装备制造企业,新疆,乙公司|软件企业;丙林场|user unit|云南,新疆,1,'
        "2021-03-01,是\n"
        "C-2,项目二,描述,3,丁公司|软件企业,,,戊公司|other,山西,2,2021/9/1,\n",
        encoding="utf-8",
    )
    r = read_projects(f, corpus=corpus)
    c1, c2 = r.projects
    assert r.lines == {"C-1": 2, "C-2": 4}
    assert c1.description == "第一行\n第二行" and c1.recommended is True
    assert c1.lead_unit == Unit(name="甲公司", type="装备制造企业", region="新疆")
    assert c1.partners == [
        Unit(name="乙公司", type="软件企业"),
        Unit(name="丙林场", type="用户单位", region="云南"),
    ]
    assert c2.lead_unit.name == "丁公司" and str(c2.submitted) == "2021-09-01" and c2.recommended is False
    sample = read_projects(SAMPLES / "sample-projects.csv", corpus=corpus).projects
    assert [len(p.partners) for p in sample] == [2, 2, 2, 2]


def test_csv_reader_rejects_unknown_columns(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("id,name,parnters\nX,y,z\n", encoding="utf-8")
    with pytest.raises(ProjectInputError) as exc:
        read_projects(f)
    (err,) = exc.value.report.errors
    assert err.line == 1 and "parnters" in err.message_en and "lead_unit" in err.message_en


def test_bad_rows_are_all_listed_with_line_and_field(corpus: Corpus) -> None:
    path = DATA / "projects_bad_rows.jsonl"
    with pytest.raises(ProjectInputError) as exc:
        read_projects(path, corpus=corpus)
    got = {(e.line, e.field) for e in exc.value.report.errors}
    assert got == {
        (2, "name"),
        (3, "submitted"),
        (4, "partners[0].type"),
        (5, None),  # not JSON
        (6, "direction"),
        (7, "id"),
        (8, "partners"),
        (9, "id"),  # repeats line 1
        (10, "batch"),  # no deadline for batch 3
    }
    assert isinstance(exc.value, InputError) and exc.value.exit_code == 2
    text = exc.value.report.render_text()
    assert f"{path}:4 partners[0].type" in text and "单位类型不在允许范围内" in text
    assert "与第 1 行重复" in text and "通知未规定第 3 批" in text


def test_unsupported_suffix_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unsupported"):
        read_projects(tmp_path / "p.xlsx")
    (tmp_path / "e.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ProjectInputError, match="no projects"):
        read_projects(tmp_path / "e.jsonl")
