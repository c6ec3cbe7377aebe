"""Project model: unit type aliases, name normalisation, defaults, several directions or lead units."""

from __future__ import annotations

import pytest

from pilotkg.projects.base import ProjectIn, Unit


def test_unit_accepts_english_aliases_and_normalises_names() -> None:
    assert Unit(name=" 测试  公司 ", type="software enterprise").type == "软件企业"
    assert Unit(name="x", type="Financial-Institution").type == "金融保险机构"
    assert Unit(name="x", type="user_unit").type == "用户单位"
    assert Unit(name="测试（新疆）公司", type="other").name == "测试(新疆)公司"
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
