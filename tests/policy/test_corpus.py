"""Golden test on the real corpus, plus generated variants of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pilotkg.errors import CorpusParseError, InputError
from pilotkg.policy.corpus import load_corpus, parse_text

REPO = Path(__file__).resolve().parents[2]
RAW = (REPO / "corpus" / "2021-safety-emergency-pilot-notice.txt").read_text(encoding="utf-8")

NAMES = [
    "矿山安全生产智能监测预警系统",
    "矿山安全生产管理信息化系统",
    "矿用机械化、自动化协同作业装备",
    "矿山事故应急救援装备",
    "危险化学品安全生产智能监测预警系统",
    "危险化学品生产少人化、无人化工程",
    "重特大危险化学品事故现场处置装备",
    "森林草原火灾监测预警系统",
    "森林草原灭火装备",
    "地震灾害监测预警系统",
    "地质灾害监测预警系统",
    "洪涝灾害防范及处置装置",
    "安全与应急体验科普教育设施",
    "安全生产“互联网+”培训平台",
    "安全应急公共服务平台",
    "安全文化成果传播与产业化工程",
]


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    return load_corpus(REPO / "corpus")


def test_directions_and_groups(corpus) -> None:  # type: ignore[no-untyped-def]
    assert [d.name for d in corpus.directions] == NAMES
    assert [g.name for g in corpus.groups] == [
        "矿山安全应用试点示范项目",
        "危险化学品安全应用试点示范项目",
        "自然灾害防治应用试点示范项目",
        "安全应急教育服务应用试点示范项目",
    ]
    assert [sum(d.group == g.number for d in corpus.directions) for g in corpus.groups] == [4, 3, 5, 4]
    assert all(d.effect and d.demand and d.requirements for d in corpus.directions)


def test_every_span_is_exact(corpus) -> None:  # type: ignore[no-untyped-def]
    spans = [r.span for r in corpus.requirements] + [d.span for d in corpus.directions]
    spans += [a.span for a in corpus.articles] + [r.span for r in corpus.rules]
    spans += [d.effect for d in corpus.directions] + [d.demand for d in corpus.directions]
    for s in spans:
        assert s is not None and RAW[s.start : s.end] == s.text
    # a requirement that crosses a PDF page break keeps the raw break in its source text only
    wrapped = [r for r in corpus.requirements if "\n" in r.span.text]
    assert wrapped and all("\n" not in r.text for r in wrapped)


def test_thresholds(corpus) -> None:  # type: ignore[no-untyped-def]
    th = {r.direction: [] for r in corpus.requirements}
    for r in corpus.requirements:
        if r.kind == "threshold":
            th[r.direction].append(r)
    assert [r.text for r in th[8]] == ["报警响应时间少于30分钟"]
    q = th[8][0].quantity
    assert (q.comparator, q.value, q.unit, q.high) == ("lt", 30, "minute", 1800)
    assert th[10][0].quantity.level and th[10][0].quantity.high == 60  # 秒级
    units = sorted((r.quantity.unit, r.quantity.level) for r in th[11])
    assert units == [("minute", True), ("mm", True)]  # 亚分钟, 毫米级
    assert sum(len(v) for v in th.values()) == 4


def test_means_lists(corpus) -> None:  # type: ignore[no-untyped-def]
    d8 = [r for r in corpus.direction(8).requirements if r.kind == "means"]
    assert d8[0].means == ["卫星遥感", "无人机", "人工智能", "图像识别", "物联网", "5G"]
    d6 = [r.means for r in corpus.direction(6).requirements if r.kind == "means"]
    assert d6 == [["先进传感技术"], ["自动控制技术"], ["工业机器人"], ["数字孪生技术"]]


def test_documents_rules_articles(corpus) -> None:  # type: ignore[no-untyped-def]
    docs = {d.id: d for d in corpus.documents}
    assert docs["notice-1"].doc_number == "兵工信安全〔2021〕10号"
    assert docs["notice-2"].doc_number == "工信厅联安全函〔2021〕11号"
    assert [a.name for a in docs["notice-1"].agencies] == [
        "兵团工业和信息化局",
        "兵团发展和改革委员会",
        "兵团科学技术局",
        "兵团应急管理局",
    ]
    assert len(docs["notice-2"].agencies) == 4
    assert [str(d.date) for d in docs["notice-1"].deadlines] == ["2021-03-20", "2021-09-20"]
    assert [str(d.date) for d in docs["notice-2"].deadlines] == ["2021-03-31", "2021-09-30"]
    assert len(docs["notice-1"].contacts) == 4 and len(docs["notice-2"].contacts) == 2
    assert [a.number for a in corpus.articles] == list(range(1, 20))
    rules = {r.kind: r for r in corpus.rules}
    assert rules["max_partners"].value == 8 and rules["lead_units"].value == 1
    assert rules["max_projects_per_lead"].value == 2 and rules["directions_per_project"].value == 1
    assert rules["max_recommended_per_direction_region"].value == 5
    assert rules["max_partners"].clause == "三、（一）申报资格"
    assert rules["characteristics"].values == ["技术先进性", "应用实效性", "模式创新性", "示范带动性"]
    assert rules["business_models"].values == ["产品+服务+保险", "产品+服务+融资租赁"]
    assert [(s.name, s.outcome) for s in corpus.stages] == [
        ("项目遴选", "示范工程候选项目"),
        ("跟踪评价", "试点应用项目"),
        ("评价认定", "示范工程项目"),
    ]
    assert corpus.stages[1].duration.value == 6 and corpus.validity.value == 3


# --- generated variants: a revised guide must parse without code changes ---


def test_variant_threshold_changed() -> None:
    c = parse_text(RAW.replace("报警响应时间少于30分钟", "报警响应时间少于20分钟"))
    r = next(r for r in c.direction(8).requirements if r.kind == "threshold")
    assert r.quantity.value == 20 and r.quantity.high == 1200


def test_variant_direction_removed_and_renumbered() -> None:
    start = RAW.index("（九）森林草原灭火装备")
    end = RAW.index("（十）地震灾害监测预警系统")
    raw = RAW[:start] + RAW[end:]
    c = parse_text(raw)
    assert len(c.directions) == 15
    assert c.direction(9).name == "地震灾害监测预警系统"


def test_variant_arabic_numbering_and_rewrapped() -> None:
    cn = "一二三四五六七八九十"
    raw = RAW
    for i in range(16, 0, -1):  # （十六） → （16）
        label = (cn[i // 10 - 1] if i >= 20 else "") + ("十" if i >= 10 else "") + (cn[i % 10 - 1] if i % 10 else "")
        raw = raw.replace(f"（{label}）", f"（{i}）")
    # a PDF page break inside a word, in the middle of a long paragraph
    raw = raw.replace("关键设备及设施运行状态", "关键设\n\n备及设施运行状态", 1)
    c = parse_text(raw)
    assert [d.name for d in c.directions] == NAMES
    assert "关键设备及设施运行状态" in [r.text for r in c.direction(1).requirements]
    for r in c.requirements:
        assert raw[r.span.start : r.span.end] == r.span.text


def test_variant_partner_limit_changed() -> None:
    c = parse_text(RAW.replace("联合单位不超过 8 家", "联合单位不超过 6 家"))
    assert c.rule("max_partners").value == 6


def test_broken_guide_fails_with_located_error() -> None:
    broken = RAW.replace("2.示范要求：广泛应用矿山机械化", "2.备注：广泛应用矿山机械化", 1)
    with pytest.raises(CorpusParseError) as exc:
        parse_text(broken, "broken.txt")
    line = RAW[: RAW.index("（四）矿山事故应急救援装备")].count("\n") + 1
    assert exc.value.where == f"broken.txt:{line}"
    assert "示范要求" in str(exc.value)


def test_broken_measures_numbering(tmp_path: Path) -> None:
    with pytest.raises(CorpusParseError) as exc:
        parse_text(RAW.replace("第十三条", "第十五条"), "m.txt")
    assert re.match(r"m\.txt:\d+", exc.value.where or "")


def test_corpus_dir_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_corpus(tmp_path / "nope")
    with pytest.raises(InputError):
        load_corpus(tmp_path)  # no *.txt
