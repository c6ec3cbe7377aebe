"""The checklist an applicant keeps: order of attention, the summary line, hints, Markdown and CSV."""

from __future__ import annotations

import csv

from pilotkg.matching import CoverageReport, RequirementCheck, checklist_csv, checklist_markdown, hint_for


def _row(rid: str, status: str, **kw: object) -> RequirementCheck:
    base: dict[str, object] = {"id": rid, "text": rid, "kind": "capability", "section": "demand", "score": 0.9}
    return RequirementCheck.model_validate(base | {"status": status} | kw)


def _report() -> CoverageReport:
    rows = [
        _row("a", "addressed"),
        _row("m1", "missing", display="实现准确定位", text="准确定位"),
        _row("t", "violated", kind="threshold", text="报警响应时间少于30分钟", required="少于30分钟", stated="45分钟"),
        _row("u", "uncertain"),
        _row("m2", "missing", kind="means", means_listed=["卫星遥感", "无人机"]),
    ]
    return CoverageReport(direction=8, direction_name="森林草原火灾监测预警系统", requirements=rows, counts={})


def test_rows_lead_with_what_to_fix_and_keep_the_guide_order_within_a_status() -> None:
    ordered = _report().by_attention()
    assert [r.id for r in ordered.requirements] == ["t", "m1", "m2", "u", "a"]
    assert ordered.summary_zh == "1 处不满足，2 项未体现，1 项待确认，1 项已体现"
    no_uncertain = CoverageReport(direction=1, direction_name="x", requirements=[_row("a", "addressed")], counts={})
    assert no_uncertain.summary_zh == "0 处不满足，0 项未体现，1 项已体现"
    assert "summary_zh" in no_uncertain.model_dump()  # the API and the page get it


def test_hints_say_what_evidence_would_satisfy_a_row() -> None:
    rows = {r.id: r for r in _report().requirements}
    assert "实现准确定位" in hint_for(rows["m1"])  # the display text, not the fragment
    assert "卫星遥感、无人机" in hint_for(rows["m2"])
    assert "少于30分钟" in hint_for(rows["t"])
    assert hint_for(rows["a"]) == ""


def test_markdown_and_csv_carry_guide_words_evidence_and_order() -> None:
    report = _report()
    md = checklist_markdown(report, source="《指南》")
    assert md.index("不满足") < md.index("未体现") < md.index("待确认") < md.index("已体现")
    assert "要求：少于30分钟；描述中：45分钟" in md and "指南原文：“准确定位”" in md
    rows = list(csv.reader(checklist_csv(report).splitlines()))
    assert [r[4] for r in rows[1:]] == ["t", "m1", "m2", "u", "a"]
    assert rows[1][6:8] == ["少于30分钟", "45分钟"]
