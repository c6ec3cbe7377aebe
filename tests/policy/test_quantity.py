"""Quantities: thresholds read from the guide, values stated by applicants, and the verdicts between them."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pilotkg.errors import InputError
from pilotkg.policy.quantity import Quantity, compare, extract_quantities, parse_threshold
from pilotkg.policy.text import cn_number, fold

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "2021-safety-emergency-pilot-notice.txt"


def threshold(text: str) -> Quantity:
    q = parse_threshold(text)
    assert q is not None, text
    return q


def stated(text: str) -> Quantity:
    found = extract_quantities(text)
    assert len(found) == 1, (text, found)
    return found[0]


# --- numerals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("30", 30),
        ("３０", 30),
        ("1.5", 1.5),
        ("十", 10),
        ("十二", 12),
        ("二十五", 25),
        ("一百二十", 120),
        ("一百零五", 105),
        ("两", 2),
        ("两千", 2000),
        ("三万五千", 35000),
        ("二〇二一", 2021),
        ("零", 0),
        ("半", 0.5),
        ("一个半", 1.5),
        ("两个半", 2.5),
    ],
)
def test_cn_number(written: str, number: float) -> None:
    assert cn_number(written) == number


@pytest.mark.parametrize("written", ["", "abc", "第一", "五G"])
def test_cn_number_rejects_non_numerals(written: str) -> None:
    assert cn_number(written) is None


def test_fold_keeps_length_and_offsets() -> None:
    text = "響應時間３０分鐘，精度±２釐米"
    assert len(fold(text)) == len(text)
    assert fold(text) == "响应时间30分钟,精度±2厘米"  # the full-width comma folds too


# --- thresholds from the guide -----------------------------------------------------------------------


def test_threshold_less_than_30_minutes() -> None:
    q = threshold("实现火情快速识别、准确定位和灾情实时传输，报警响应时间少于30分钟。")
    assert (q.dimension, q.comparator, q.value, q.unit, q.base_unit) == ("duration", "lt", 30, "minute", "s")
    assert (q.low, q.high, q.high_inclusive) == (None, 1800, False)
    assert q.text == "少于30分钟"
    assert q.describe_zh() == "少于30分钟"


@pytest.mark.parametrize(
    ("clause", "unit", "high", "dimension"),
    [
        ("实现全自动秒级地震预警", "second", 60, "duration"),
        ("变形监测精度达到毫米级水平", "mm", 10, "length"),
        ("预警响应时间达到亚分钟水平", "minute", 60, "duration"),
    ],
)
def test_threshold_levels(clause: str, unit: str, high: float, dimension: str) -> None:
    q = threshold(clause)
    assert q.level and q.value == 1 and q.unit == unit and q.dimension == dimension
    assert (q.low, q.high, q.low_inclusive, q.high_inclusive) == (0, high, True, False)


def test_threshold_level_description() -> None:
    assert threshold("实现全自动秒级地震预警").describe_zh() == "秒级 (<60秒)"


@pytest.mark.parametrize(
    ("clause", "comparator", "value", "unit"),
    [
        ("公示时长不少于 15 个工作日", "ge", 15, "workday"),
        ("开展为期6个月的动态跟踪评价", "eq", 6, "month"),
        ("试点应用 1 年后，组织专家委员会", "eq", 1, "year"),
        ("示范工程有效期为 3 年。", "eq", 3, "year"),
        ("联合单位不超过 8 家", "le", 8, "家"),
    ],
)
def test_threshold_from_measures(clause: str, comparator: str, value: float, unit: str) -> None:
    q = threshold(clause)
    assert (q.comparator, q.value, q.unit) == (comparator, value, unit)


def test_threshold_follows_the_corpus_text() -> None:
    # The verdict is whatever the text says: change the text, the verdict changes with it.
    ten = stated("响应时间为15分钟")
    assert compare(threshold("报警响应时间少于30分钟"), ten) == "satisfied"
    assert compare(threshold("报警响应时间少于10分钟"), ten) == "violated"


def test_threshold_prefers_the_compared_quantity() -> None:
    q = threshold("2021 年起，16 个方向中报警响应时间少于30分钟")
    assert q.comparator == "lt" and q.unit == "minute"


def test_threshold_in_the_corpus() -> None:
    text = CORPUS.read_text(encoding="utf-8")
    at = text.index("报警响应时间")
    q = threshold(text[at : at + 20])
    assert (q.comparator, q.value, q.unit) == ("lt", 30, "minute")


def test_threshold_none_without_quantity() -> None:
    assert parse_threshold("运用工业互联网、大数据、云计算、5G、人工智能等新一代信息技术") is None


def test_threshold_worst_case_words_are_upper_bounds() -> None:
    # An applicant's 最长可达 states a value reached; a requirement's 最长 caps it.
    assert threshold("响应时间最长30分钟").comparator == "le"
    assert stated("响应时间最长可达 20 分钟").comparator == "eq"


# --- stated values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "comparator", "low", "high"),
    [
        ("45 分钟", "eq", 2700, 2700),
        ("约75秒", "approx", 67.5, 82.5),
        ("75秒左右", "approx", 67.5, 82.5),
        ("大约5分钟", "approx", 270, 330),
        ("1–2 cm", "range", 10, 20),
        ("1~2厘米", "range", 10, 20),
        ("1cm-2cm", "range", 10, 20),
        ("3至5分钟", "range", 180, 300),
        ("±2mm", "eq", 2, 2),
        ("0.6mm", "eq", 0.6, 0.6),
        ("不超过5分钟", "le", None, 300),
        ("5分钟以内", "le", None, 300),
        ("5分钟内", "le", None, 300),
        ("少于5分钟", "lt", None, 300),
        ("小于5分钟", "lt", None, 300),
        ("低于5分钟", "lt", None, 300),
        ("不到5分钟", "lt", None, 300),
        ("不低于99%", "ge", 99, None),
        ("至少3小时", "ge", 10800, None),
        ("2小时以上", "ge", 7200, None),
        ("最长可达 20 分钟", "eq", 1200, 1200),
        ("十多个小时", "gt", 36000, None),
    ],
)
def test_stated_values(text: str, comparator: str, low: float | None, high: float | None) -> None:
    q = stated(text)
    assert (q.comparator, q.low, q.high) == (comparator, low, high)
    assert q.text == text


@pytest.mark.parametrize(
    ("text", "comparator", "value", "unit"),
    [
        ("百分之九十五", "eq", 95, "percent"),
        ("覆盖率不低于百分之九十", "ge", 90, "percent"),
        ("不低于95％", "ge", 95, "percent"),
        ("提高5个百分点", "eq", 5, "pp"),
        ("两年半", "eq", 2.5, "year"),
        ("1 年半", "eq", 1.5, "year"),
        ("最近3年", "eq", 3, "year"),
        ("30多分钟", "gt", 30, "minute"),
        ("7日内", "le", 7, "day"),
        ("响应时间<30分钟", "lt", 30, "minute"),
        ("≤5mm", "le", 5, "mm"),
    ],
)
def test_more_forms(text: str, comparator: str, value: float, unit: str) -> None:
    q = extract_quantities(text)[0]
    assert (q.comparator, q.value, q.unit) == (comparator, value, unit)


def test_percentage_points_are_not_percentages() -> None:
    assert compare(threshold("覆盖率不低于90%"), stated("提高5个百分点")) == "unknown"


def test_number_and_unit_do_not_span_lines() -> None:
    assert [q.text for q in extract_quantities("联系电话 68205374\n秒级响应")] == ["秒级"]


def test_precision_within_a_phrase() -> None:
    q = stated("监测误差±5毫米")
    assert (q.text, q.value, q.unit, q.low, q.high) == ("±5毫米", 5, "mm", 5, 5)


@pytest.mark.parametrize(
    ("text", "value", "unit", "seconds_or_mm"),
    [
        ("３０分钟", 30, "minute", 1800),
        ("十二分钟", 12, "minute", 720),
        ("二十五秒", 25, "second", 25),
        ("一百二十秒", 120, "second", 120),
        ("两小时", 2, "hour", 7200),
        ("半小时", 0.5, "hour", 1800),
        ("半个小时", 0.5, "hour", 1800),
        ("一个半小时", 1.5, "hour", 5400),
        ("一刻钟", 15, "minute", 900),
        ("3 小时", 3, "hour", 10800),
        ("8 秒", 8, "second", 8),
        ("1.5小时", 1.5, "hour", 5400),
        ("１．５小時", 1.5, "hour", 5400),
        ("6 个月", 6, "month", 6 * 30 * 86400),
        ("10 min", 10, "minute", 600),
        ("5 mins", 5, "minute", 300),
        ("3 minutes", 3, "minute", 180),
        ("20 s", 20, "second", 20),
        ("4 sec", 4, "second", 4),
        ("2 seconds", 2, "second", 2),
        ("2 h", 2, "hour", 7200),
        ("3 hours", 3, "hour", 10800),
        ("20 ms", 20, "millisecond", 0.02),
        ("5 km", 5, "km", 5_000_000),
        ("3 m", 3, "m", 3000),
        ("2 mm", 2, "mm", 2),
        ("4cm", 4, "cm", 40),
    ],
)
def test_numerals_and_units(text: str, value: float, unit: str, seconds_or_mm: float) -> None:
    q = stated(text)
    assert (q.value, q.unit, q.low, q.high) == (value, unit, seconds_or_mm, seconds_or_mm)


@pytest.mark.parametrize(
    ("text", "unit", "base"),
    [
        ("30分鐘", "minute", 1800),
        ("2小時", "hour", 7200),
        ("10秒鐘", "second", 10),
        ("5釐米", "cm", 50),
        ("3公釐", "mm", 3),
        ("2公分", "cm", 20),
        ("兩小時", "hour", 7200),
        ("約75秒", "second", None),
    ],
)
def test_traditional_characters(text: str, unit: str, base: float | None) -> None:
    q = stated(text)
    assert q.unit == unit and q.text == text
    if base is not None:
        assert q.low == q.high == base


def test_traditional_levels_and_comparators() -> None:
    assert threshold("預警響應時間達到亞分鐘水平").high == 60
    assert threshold("實現全自動秒級地震預警").level
    assert threshold("報警響應時間少於30分鐘").comparator == "lt"
    assert stated("不超過5分鐘").comparator == "le"


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("分钟级", 60, 3600),
        ("厘米级", 10, 1000),
        ("秒级", 1, 60),
        ("毫米级", 1, 10),
        ("亚分钟", 0, 60),
        ("亚毫米级", 0, 1),
        ("亚米级", 0, 1000),
        ("毫秒级", 0.001, 1),
        ("小时级", 3600, 86400),
    ],
)
def test_stated_levels(text: str, low: float, high: float) -> None:
    q = stated(text)
    assert q.level and (q.low, q.high, q.high_inclusive) == (low, high, False)


def test_stated_level_inside_a_longer_term() -> None:
    found = extract_quantities("精度达到亚米级，千米级范围，纳米级材料")
    assert [q.text for q in found] == ["亚米级", "纳米级"]


# --- false positives ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "聚焦 5G、人工智能",
        "2021年",
        "2021 年安全应急装备",
        "（2021 年）",
        "二〇二一年",
        "3D 打印",
        "第一条",
        "第三条 本办法",
        "第 2 年",
        "1.应用成效",
        "DJI M300 无人机",
        "10 kV 线路",
        "010-68205374",
        "0991-2896823 兵团工信局",
        "第一批申报截止日期为 2021 年 3 月 31 日",
        "3月20日",
        "2021-2025年",
        "风速 2 m/s",
        "面积 100m²",
        "“最后一公里”人员装备快速投送平台",
        "十分重要",
        "一次性投入",
        "30分考核",
    ],
)
def test_not_quantities(text: str) -> None:
    assert [q for q in extract_quantities(text) if q.dimension in ("duration", "length")] == []


def test_duty_schedules_carry_context() -> None:
    # 7×24小时值守 is a duty schedule, not a response time; the caller decides, from the context.
    text = "平台实行7×24小时值守，报警响应时间5分钟"
    durations = extract_quantities(text, "duration")
    assert [q.text for q in durations] == ["24小时", "5分钟"]
    assert durations[0].context_before.endswith("7×") and durations[0].context_after.startswith("值守")
    assert durations[1].context_before.endswith("响应时间")


def test_dimension_filter_and_bad_dimension() -> None:
    text = "响应时间3分钟，精度2mm，覆盖率95%，部署16个站点"
    assert [q.dimension for q in extract_quantities(text)] == ["duration", "length", "ratio", "count"]
    assert [q.text for q in extract_quantities(text, "length")] == ["2mm"]
    with pytest.raises(InputError):
        extract_quantities(text, "weight")


def test_counts_keep_their_classifier() -> None:
    assert [(q.value, q.unit) for q in extract_quantities("每个牵头单位可最多申报 2 个项目")] == [(2, "个")]
    assert compare(threshold("联合单位不超过 8 家"), stated("联合单位 5 个")) == "unknown"


# --- offsets -----------------------------------------------------------------------------------------


def test_offsets_exact() -> None:
    text = "本系统报警响应时间少于 30 分钟，定位误差±2mm，预警时间约75秒。"
    found = extract_quantities(text)
    assert [q.text for q in found] == ["少于 30 分钟", "±2mm", "约75秒"]
    for q in found:
        assert text[q.start : q.end] == q.text


_FRAGMENTS = [
    "报警响应时间",
    "少于",
    "不超过",
    "约",
    "最长可达",
    "３０",
    "30",
    " ",
    "1.5",
    "十二",
    "两",
    "半",
    "个",
    "分钟",
    "分鐘",
    "秒",
    "小时",
    "mm",
    " cm",
    "厘米",
    "毫米级",
    "亚分钟",
    "秒级",
    "以内",
    "左右",
    "±",
    "～",
    "-",
    "至",
    "2021年",
    "3月31日",
    "第",
    "5G",
    "M300",
    "，",
    "。",
    "\n",
    "7×24",
    "%",
    "家",
    "工作日",
    "年",
]


def test_offsets_property() -> None:
    # A deterministic stand-in for a property test: many random mixtures of the hard parts.
    rng = random.Random(20210331)
    texts = [CORPUS.read_text(encoding="utf-8")]
    texts += ["".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 25))) for _ in range(2000)]
    for text in texts:
        for q in extract_quantities(text):
            assert text[q.start : q.end] == q.text
            assert q.low is None or q.high is None or q.low <= q.high


# --- verdicts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requirement", "claim", "verdict"),
    [
        ("报警响应时间少于30分钟", "45 分钟", "violated"),
        ("报警响应时间少于30分钟", "10分钟", "satisfied"),
        ("报警响应时间少于30分钟", "30分钟", "violated"),
        ("报警响应时间少于30分钟", "约30分钟", "unknown"),
        ("报警响应时间少于30分钟", "不超过5分钟", "satisfied"),
        ("报警响应时间少于30分钟", "不超过1小时", "unknown"),
        ("报警响应时间少于30分钟", "至少1小时", "violated"),
        ("报警响应时间少于30分钟", "20至25分钟", "satisfied"),
        ("报警响应时间少于30分钟", "20至40分钟", "unknown"),
        ("报警响应时间少于30分钟", "最长可达 20 分钟", "satisfied"),
        ("报警响应时间少于10分钟", "最长可达 20 分钟", "violated"),
        ("报警响应时间少于30分钟", "半小时", "violated"),
        ("报警响应时间少于30分钟", "一刻钟", "satisfied"),
        ("实现全自动秒级地震预警", "分钟级", "violated"),
        ("实现全自动秒级地震预警", "3 秒", "satisfied"),
        ("实现全自动秒级地震预警", "秒级", "satisfied"),
        ("实现全自动秒级地震预警", "约75秒", "violated"),
        ("实现全自动秒级地震预警", "50至70秒", "unknown"),
        ("变形监测精度达到毫米级水平", "厘米级", "violated"),
        ("变形监测精度达到毫米级水平", "±2mm", "satisfied"),
        ("变形监测精度达到毫米级水平", "0.6mm", "satisfied"),
        ("变形监测精度达到毫米级水平", "1–2 cm", "violated"),
        ("变形监测精度达到毫米级水平", "1 cm", "violated"),
        ("变形监测精度达到毫米级水平", "5~15毫米", "unknown"),
        ("预警响应时间达到亚分钟水平", "3 分钟", "violated"),
        ("预警响应时间达到亚分钟水平", "30秒", "satisfied"),
        ("预警响应时间达到亚分钟水平", "秒级", "satisfied"),
        ("预警响应时间达到亚分钟水平", "1分钟", "violated"),
        ("公示时长不少于 15 个工作日", "20个工作日", "satisfied"),
        ("公示时长不少于 15 个工作日", "10天", "violated"),
        ("报警响应时间少于30分钟", "精度2mm", "unknown"),
    ],
)
def test_compare(requirement: str, claim: str, verdict: str) -> None:
    assert compare(threshold(requirement), stated(claim)) == verdict


def test_compare_levels_against_levels() -> None:
    minute_level = threshold("分钟级响应")
    assert compare(minute_level, stated("秒级")) == "satisfied"
    assert compare(minute_level, stated("小时级")) == "violated"
    assert compare(threshold("亚毫米级"), stated("毫米级")) == "violated"


def test_quantity_is_frozen() -> None:
    q = stated("45 分钟")
    with pytest.raises(ValueError):
        q.value = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "zh"),
    [
        ("约75秒", "约75秒"),
        ("1–2 cm", "1–2厘米"),
        ("不超过 5 分钟", "不超过5分钟"),
        ("至少3小时", "不少于3小时"),
        ("分钟级", "分钟级 (60–3600秒)"),
        ("亚分钟", "亚分钟 (<60秒)"),
        ("45 分钟", "45分钟"),
    ],
)
def test_describe_zh(text: str, zh: str) -> None:
    assert stated(text).describe_zh() == zh


def test_what_a_stated_value_measures() -> None:
    from pilotkg.policy import extract_quantities, is_prior_value, measures_event_interval, nearest_word

    roles = {"latency": ("报警", "上报", "发现"), "period": ("试用", "服务", "周期"), "precision": ("精度",)}

    def first(text: str):  # type: ignore[no-untyped-def]
        return next(q for q in extract_quantities(text) if q.dimension in ("duration", "length"))

    for text, role in [
        ("已在两座水库试用一年", "period"),
        ("已服务客户十年", "period"),
        ("建设周期18个月", "period"),
        ("报警时间少于5分钟", "latency"),
        ("位移监测精度±2mm", "precision"),
        ("边坡高达420米", None),
    ]:
        assert nearest_word(text, first(text), roles) == role, text
    for text in (
        "从火情出现到指挥中心平均约40分钟",
        "震后8—10分钟内完成",
        "fire alarms after ignition take 40 minutes",
    ):
        assert measures_event_interval(text, first(text)), text
    assert not measures_event_interval("平台连续运行两年", first("平台连续运行两年"))
    text = "响应时间由2小时缩短至15分钟"
    before, after = [q for q in extract_quantities(text)]
    assert is_prior_value(text, before) and not is_prior_value(text, after)


def test_sentence_names_reads_the_whole_sentence_of_a_value() -> None:
    from pilotkg.policy import extract_quantities, sentence_names

    gate = ("人工审核",)
    # the gate stands in another clause of the same sentence (after a ；): it is about the same chain
    text = "预警信息经人工审核后发布；从触发到发布平均30秒。系统另有自检功能。"
    q = extract_quantities(text)[0]
    assert sentence_names(text, q, gate)
    # a gate in another sentence is about something else
    text = "数据质量由人工审核。从触发到发布平均30秒。"
    assert not sentence_names(text, extract_quantities(text)[0], gate)
    assert not sentence_names(text, extract_quantities(text)[0], ())


def test_states_money() -> None:
    from pilotkg.policy import states_money

    for text in ("其中无人机及载荷450万元", "总投资1.6亿元", "设备费￥120万", "a budget of RMB 3 million"):
        assert states_money(text), text
    for text in ("布设雨量站40处", "每年演练两次", "报警时间少于5分钟", "多元数据融合"):
        assert not states_money(text), text
