"""The clause grammar that splits 示范要求 into atomic requirements."""

from __future__ import annotations

from pilotkg.policy.requirements import clause_pieces, section_pieces


def pieces(text: str) -> list[tuple[str, str]]:
    return [(text[p.start : p.end], p.kind) for p in clause_pieces(text)]


def test_list_of_functions_is_split() -> None:
    got = pieces("实现泛在学习、在线培训监测、培训数据查询分析等功能")
    assert [t for t, _ in got] == ["实现泛在学习", "在线培训监测", "培训数据查询分析等功能"]


def test_list_elaborating_one_head_is_kept() -> None:
    t = "编配举高喷射、灭火冷却、远程供水等作战单元车辆装备"
    assert pieces(t) == [(t, "capability")]
    t = "提升应急工程抢险、堰塞湖处置、闸门应急处置等能力"
    assert len(pieces(t)) == 1


def test_short_attributive_list_is_kept() -> None:
    t = "开发技术先进、性能稳定、机动性强的抢险设施设备"
    assert len(pieces(t)) == 1
    t = "实现站点自动化、无人化、智能化观测模式"
    assert len(pieces(t)) == 1


def test_long_item_list_is_split() -> None:
    got = pieces("实时监控生产环境、生产工艺过程、关键设备及设施运行状态")
    assert [t for t, _ in got] == ["实时监控生产环境", "生产工艺过程", "关键设备及设施运行状态"]


def test_two_lists_in_one_clause() -> None:
    got = [t for t, _ in pieces("能有效应对崖火、树冠火、地下火的机械灭火、化学灭火、航空灭火等先进装备")]
    assert got[0] == "能有效应对崖火、树冠火、地下火"
    assert got[1].startswith("机械灭火、化学灭火、航空灭火")


def test_means_and_threshold_kinds() -> None:
    got = clause_pieces("综合运用卫星遥感、无人机、物联网和5G等技术")
    assert got[0].kind == "means" and got[0].means == ("卫星遥感", "无人机", "物联网", "5G")
    text = "实现火情快速识别、准确定位和灾情实时传输，报警响应时间少于30分钟"
    kinds = [p.kind for p in section_pieces(text, "demand")]
    assert kinds[-1] == "threshold"


def test_effect_keeps_only_targets() -> None:
    text = "针对矿山生产环境复杂等问题，推广协同作业装备，减少矿山作业人员数量"
    got = [text[p.start : p.end] for p in section_pieces(text, "effect")]
    assert got == ["推广协同作业装备", "减少矿山作业人员数量"]


def test_context_clauses_are_not_requirements() -> None:
    assert clause_pieces("在保证安全的要求下") == []
    assert clause_pieces("围绕危险化学品生产企业安全生产的需求") == []


def test_display_text_carries_the_verb_and_head_the_clause_shares() -> None:
    # The source span stays the fragment; the display reads as a requirement on its own.
    text = "有效提高火险预警、火情监测的科学性、时效性。实现火情快速识别、准确定位和灾情实时传输。"
    pieces = section_pieces(text, "effect")
    shown = {text[p.start : p.end]: p.display for p in pieces}
    assert shown["有效提高火险预警"] == "有效提高火险预警的科学性、时效性"
    assert shown["火情监测"] == "有效提高火情监测的科学性、时效性"
    assert shown["科学性、时效性"] == "有效提高火险预警、火情监测的科学性、时效性"
    assert shown["准确定位"] == "实现准确定位"
    # a noun list shares its head noun; a list of verb phrases does not
    assert [p.display for p in section_pieces("提供火险预警、火情监测系统。", "effect")] == [
        "提供火险预警系统",
        "提供火情监测系统",
    ]
    verbs = section_pieces("增加灭火手段、提升灭火强度和灭火剂持续供给能力。", "effect")
    assert "增加灭火手段" in [p.display for p in verbs]
