"""Project model: unit type aliases, name normalisation, defaults, several directions or lead units."""

from __future__ import annotations

import pytest

from pilotkg.projects.base import ProjectIn, Unit


def test_unit_accepts_english_aliases_and_keeps_the_spelling_of_names() -> None:
    assert Unit(name=" 测试  公司 ", type="software enterprise").type == "软件企业"
    assert Unit(name="x", type="Financial-Institution").type == "金融保险机构"
    assert Unit(name="x", type="user_unit").type == "用户单位"
    # kept as spelled (read back so); the entity is decided on the normalised name or the credit code
    full = Unit(name=" 测试（新疆） 公司 ", type="other")
    assert full.name == "测试（新疆） 公司"
    assert full.same_entity(Unit(name="测试(新疆)公司", type="other"))
    assert not full.same_entity(Unit(name="测试(新疆)公司（筹）", type="other"))


def test_one_unit_twice_in_a_project_is_refused_whatever_its_spelling() -> None:
    base = {
        "id": "X-1",
        "name": "n",
        "description": "d",
        "direction": 8,
        "region": "云南",
        "batch": 1,
        "submitted": "2021-03-05",
    }
    code, other = "91530000MA6K0B8X2U", "91110000100000000R"
    lead = {"name": "甲（集团）公司", "type": "other", "credit_code": code}
    with pytest.raises(ValueError, match="more than once"):  # one code, another spelling
        ProjectIn.model_validate({**base, "lead_unit": lead, "partners": [{**lead, "name": "甲集团公司"}]})
    with pytest.raises(ValueError, match="more than once"):  # bracket width and a space, no code on one side
        ProjectIn.model_validate({**base, "lead_unit": lead, "partners": [{"name": "甲(集团) 公司", "type": "other"}]})
    # two codes are two entities, whatever their names
    p = ProjectIn.model_validate({**base, "lead_unit": lead, "partners": [{**lead, "credit_code": other}]})
    assert p.partners[0].credit_code == other
    with pytest.raises(ValueError, match=r"Input should be '装备制造企业'"):
        Unit(name="x", type="alien")


def test_project_defaults_and_several_directions_are_kept_for_the_rule_check() -> None:
    base = {
        "id": "X-1",
        "name": "n",
        "description": "d",
        "lead_unit": {"name": "a", "type": "other"},
        "region": "云南",
        "batch": 1,
        "submitted": "2021年3月5日",
    }
    p = ProjectIn.model_validate({**base, "direction": "8;9"})
    assert (p.direction, p.extra_directions, p.year, p.recommended) == (8, [9], 2021, False)
    assert str(p.submitted) == "2021-03-05"
    assert "extra_directions" not in p.model_dump()
    with pytest.raises(ValueError, match="more than once"):
        ProjectIn.model_validate({**base, "direction": 8, "partners": [{"name": "a", "type": "other"}]})
