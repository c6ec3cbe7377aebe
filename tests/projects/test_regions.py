"""Regions (ontology/regions.ttl) and unified social credit codes, as a projects file meets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pilotkg.projects import ProjectIn
from pilotkg.projects.regions import credit_check_char, credit_code_problem, find_region, issuing_region, regions
from pilotkg.projects.submissions import ProjectInputError, read_projects

VALID_CODE = "91350100M000100Y43"  # the sample code of GB 32100-2015 guides; its check character is 3


def row(**kw: object) -> dict[str, object]:
    return {
        "id": "R-1",
        "name": "地区测试",
        "description": "森林草原火情监测与预警。",
        "direction": 8,
        "lead_unit": {"name": "测试牵头公司", "type": "装备制造企业"},
        "partners": [{"name": "测试林场", "type": "用户单位"}],
        "region": "云南",
        "batch": 1,
        "submitted": "2021-03-10",
        **kw,
    }


def test_the_vocabulary_has_every_province_level_division_and_the_bingtuan() -> None:
    rs = list(regions().values())
    assert len(rs) == 35  # 34 province-level divisions + 兵团
    assert sum(r.gbt2260 for r in rs) == 34 and all(len(r.code) == 6 for r in rs if r.gbt2260)
    assert len({r.code for r in rs}) == 35 and all(r.iri.endswith("/region/" + r.code) for r in rs)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("云南", "530000"),
        ("云南省", "530000"),
        ("Yunnan", "530000"),
        ("YUNNAN", "530000"),
        ("530000", "530000"),
        ("　四川　", "510000"),  # full-width spaces
        ("内蒙古", "150000"),
        ("广西壮族自治区", "450000"),
        ("兵团", "XJBT"),
        ("新疆生产建设兵团", "XJBT"),
        ("新疆", "650000"),
    ],
)
def test_spellings_resolve_to_one_code(written: str, code: str) -> None:
    r = find_region(written)
    assert r is not None and r.code == code
    assert ProjectIn.model_validate(row(region=written)).region == r.name


def test_a_notice_belongs_to_the_region_of_its_agencies() -> None:
    bt = issuing_region(["兵团工业和信息化局", "兵团发展和改革委员会"])
    assert bt is not None and bt.code == "XJBT"
    assert issuing_region(["工业和信息化部办公厅", "应急管理部办公厅"]) is None


def test_an_unknown_region_is_a_located_input_error(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    rows = [
        row(id="R-1"),
        row(id="R-2", region="火星"),
        row(id="R-3", lead_unit={"name": "x", "type": "other", "region": "云南市"}),
    ]
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(ProjectInputError) as exc:
        read_projects(f)
    errors = exc.value.report.errors
    assert [(e.line, e.field) for e in errors] == [(2, "region"), (3, "lead_unit.region")]
    assert "火星" in errors[0].message_zh and "unknown region" in errors[0].message_en
    assert errors[0].where == f"{f}:2 region"


def test_credit_codes_are_checksum_validated() -> None:
    assert credit_check_char(VALID_CODE[:17]) == VALID_CODE[17]
    assert credit_code_problem(VALID_CODE) is None
    assert credit_code_problem(VALID_CODE[:17] + "4") is not None  # wrong check character
    assert credit_code_problem("91350100M000100Y4") is not None  # 17 characters
    assert credit_code_problem("91350100O000100Y43") is not None  # O is not in the alphabet
    lead = {"name": "测试牵头公司", "type": "装备制造企业", "credit_code": " 91350100m000100y43 "}
    assert ProjectIn.model_validate(row(lead_unit=lead)).lead_unit.credit_code == VALID_CODE
    with pytest.raises(ValueError, match="check character"):
        ProjectIn.model_validate(row(lead_unit={**lead, "credit_code": VALID_CODE[:17] + "4"}))
    assert ProjectIn.model_validate(row()).lead_unit.credit_code is None  # optional
