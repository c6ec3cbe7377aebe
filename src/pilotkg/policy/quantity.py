"""Quantities in Chinese policy and applicant text: thresholds, stated values, and their comparison.

A threshold is always *read* from the corpus (``parse_threshold``); an applicant's values are read from
free text (``extract_quantities``); ``compare`` decides by intervals in base units, so the verdict follows
whatever the corpus says.

Matching runs on a *folded* copy of the text (full-width ASCII → ASCII, traditional → simplified, one
character at a time) so every offset is also an offset into the original string, and ``Quantity.text``
is always ``text[q.start:q.end]``. The span includes an adjacent comparator word (``少于30分钟``).

Whether a quantity is the thing a caller wants (``7×24小时值守`` is a duty schedule, not a response time)
is the caller's decision; each quantity carries ``context_before``/``context_after`` for it.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pilotkg.errors import InputError
from pilotkg.policy.text import cn_number, fold

Dimension = Literal["duration", "length", "ratio", "count", "frequency"]
Comparator = Literal["lt", "le", "gt", "ge", "eq", "approx", "range"]
Verdict = Literal["satisfied", "violated", "unknown"]

DIMENSIONS: tuple[str, ...] = ("duration", "length", "ratio", "count", "frequency")
APPROX_TOLERANCE = 0.1  # 约/左右: the stated value is read as ±10 %, wide enough for "about", no wider
CONTEXT_CHARS = 10

# unit → (dimension, base unit, factor to base, Chinese display)
UNITS: dict[str, tuple[str, str, float, str]] = {
    "millisecond": ("duration", "s", 0.001, "毫秒"),
    "second": ("duration", "s", 1, "秒"),
    "minute": ("duration", "s", 60, "分钟"),
    "hour": ("duration", "s", 3600, "小时"),
    "day": ("duration", "s", 86400, "天"),
    "workday": ("duration", "s", 86400, "个工作日"),  # a calendar span is not knowable; count it as a day
    "week": ("duration", "s", 7 * 86400, "周"),
    "month": ("duration", "s", 30 * 86400, "个月"),
    "year": ("duration", "s", 365 * 86400, "年"),
    "nm": ("length", "mm", 1e-6, "纳米"),
    "um": ("length", "mm", 0.001, "微米"),
    "mm": ("length", "mm", 1, "毫米"),
    "cm": ("length", "mm", 10, "厘米"),
    "dm": ("length", "mm", 100, "分米"),
    "m": ("length", "mm", 1000, "米"),
    "km": ("length", "mm", 1_000_000, "公里"),
    "percent": ("ratio", "%", 1, "%"),
    "pp": ("ratio", "pp", 1, "个百分点"),  # a difference of percentages, not comparable with one
    "permille": ("ratio", "%", 0.1, "‰"),
    "Hz": ("frequency", "Hz", 1, "赫兹"),
    "kHz": ("frequency", "Hz", 1000, "千赫兹"),
    "per_minute": ("frequency", "Hz", 1 / 60, "次/分钟"),
    "per_hour": ("frequency", "Hz", 1 / 3600, "次/小时"),
    "per_day": ("frequency", "Hz", 1 / 86400, "次/天"),
}
COUNT_WORDS = "个家项次台套名人辆架座处"  # classifiers: the unit *is* the classifier, never comparable across

# written form (folded) → (unit, multiplier on the written number). Bare 分 (score) and 月 (month of a
# date) are deliberately absent: 分钟 and 个月 are the unambiguous spellings.
ALIASES: dict[str, tuple[str, float]] = {
    **dict.fromkeys(["毫秒", "ms"], ("millisecond", 1)),
    **dict.fromkeys(["秒钟", "秒", "s", "sec", "secs", "second", "seconds"], ("second", 1)),
    **dict.fromkeys(["分钟", "min", "mins", "minute", "minutes"], ("minute", 1)),
    "刻钟": ("minute", 15),
    **dict.fromkeys(["小时", "钟头", "h", "hr", "hrs", "hour", "hours"], ("hour", 1)),
    **dict.fromkeys(["天", "日", "昼夜", "day", "days"], ("day", 1)),
    "工作日": ("workday", 1),
    **dict.fromkeys(["周", "星期", "week", "weeks"], ("week", 1)),
    **dict.fromkeys(["个月", "month", "months"], ("month", 1)),
    **dict.fromkeys(["年", "year", "years"], ("year", 1)),
    **dict.fromkeys(["纳米", "nm"], ("nm", 1)),
    **dict.fromkeys(["微米", "um", "μm", "µm"], ("um", 1)),
    **dict.fromkeys(["毫米", "公厘", "mm"], ("mm", 1)),
    **dict.fromkeys(["厘米", "公分", "cm"], ("cm", 1)),
    **dict.fromkeys(["分米", "dm"], ("dm", 1)),
    **dict.fromkeys(["米", "m"], ("m", 1)),
    **dict.fromkeys(["公里", "千米", "km"], ("km", 1)),
    "%": ("percent", 1),
    **dict.fromkeys(["个百分点", "百分点"], ("pp", 1)),
    "‰": ("permille", 1),
    **dict.fromkeys(["Hz", "赫兹", "次/秒"], ("Hz", 1)),
    **dict.fromkeys(["kHz", "千赫兹"], ("kHz", 1)),
    "次/分钟": ("per_minute", 1),
    "次/小时": ("per_hour", 1),
    **dict.fromkeys(["次/天", "次/日"], ("per_day", 1)),
}

# Order-of-magnitude terms: key → (unit, stated lower bound, upper bound), bounds in base units.
# As a requirement a level means "at least this fine": [0, upper). As a stated value it means
# "of this order": [lower, upper). 亚X ("sub-X") is [0, X) either way.
LEVELS: dict[str, tuple[str, float, float]] = {
    "毫秒": ("millisecond", 0.001, 1),
    "秒": ("second", 1, 60),
    "分钟": ("minute", 60, 3600),
    "小时": ("hour", 3600, 86400),
    "纳米": ("nm", 1e-6, 0.001),
    "微米": ("um", 0.001, 1),
    "毫米": ("mm", 1, 10),
    "厘米": ("cm", 10, 1000),  # the guide's usage: no decimetre rung between centimetre and metre
    "米": ("m", 1000, 10_000),
}
SUB_LEVELS: dict[str, tuple[str, float]] = {
    "秒": ("second", 1),
    "分钟": ("minute", 60),
    "小时": ("hour", 3600),
    "毫米": ("mm", 1),
    "厘米": ("cm", 10),
    "米": ("m", 1000),
}

# Comparator words: word → (as a threshold, as a stated value, dimensions it applies to or None = all).
# 最长/可达 differ: a requirement "最长30分钟" is an upper bound, an applicant's "最长可达20分钟" says the
# value does reach 20 minutes, so it is judged by that worst case.
PREFIXES: dict[str, tuple[Comparator, Comparator]] = {
    **dict.fromkeys(["少于", "小于", "低于", "短于", "不到", "不足", "未满", "<"], ("lt", "lt")),
    **dict.fromkeys(
        ["不超过", "不大于", "不高于", "不多于", "不长于", "至多", "最多", "小于等于", "小于或等于", "<=", "≤"],
        ("le", "le"),
    ),
    **dict.fromkeys(["大于", "超过", "多于", "高于", "长于", ">"], ("gt", "gt")),
    **dict.fromkeys(
        ["不少于", "不低于", "不小于", "不短于", "至少", "最少", "最低", "大于等于", "大于或等于", ">=", "≥"],
        ("ge", "ge"),
    ),
    **dict.fromkeys(["约", "大约", "约为", "大概", "近", "将近"], ("approx", "approx")),
    "最近": ("eq", "eq"),  # 最近3年: "the last three years", not "nearly"
    **dict.fromkeys(["最长", "最长可达", "最多可达", "最高可达", "最大可达", "可达"], ("le", "eq")),
}
SUFFIXES: dict[str, tuple[Comparator, frozenset[str] | None]] = {
    "以内": ("le", None),
    "之内": ("le", None),
    "内": ("le", frozenset({"duration"})),
    "以下": ("le", None),
    "及以下": ("le", None),
    "以上": ("ge", None),
    "及以上": ("ge", None),
    "左右": ("approx", None),
    "上下": ("approx", None),
}
IDIOMS = ("最后一公里", "一次性")  # set phrases that only look like quantities
_PREFIX_WORDS = sorted(PREFIXES, key=len, reverse=True)  # longest first: 不少于 before 少于
_SUFFIX_WORDS = sorted(SUFFIXES, key=len, reverse=True)


class Quantity(BaseModel):
    """A quantity as written, and the interval it denotes: ``low``/``high`` are in ``base_unit``
    (s, mm, %, Hz; a count's base unit is its classifier), ``None`` meaning unbounded."""

    model_config = ConfigDict(frozen=True)

    dimension: Dimension
    comparator: Comparator
    value: float
    unit: str
    base_unit: str
    low: float | None
    high: float | None
    low_inclusive: bool = True
    high_inclusive: bool = True
    level: bool = False
    text: str
    start: int
    end: int
    context_before: str = ""
    context_after: str = ""

    def describe_zh(self) -> str:
        unit_zh = UNITS[self.unit][3] if self.unit in UNITS else self.unit
        base_zh = {"s": "秒", "mm": "毫米", "%": "%", "Hz": "赫兹"}.get(self.base_unit, self.base_unit)
        if self.level:
            if not self.low:
                return f"{self.text} (<{_fmt(self.high)}{base_zh})"
            return f"{self.text} ({_fmt(self.low)}–{_fmt(self.high)}{base_zh})"
        if self.comparator == "range":
            return f"{_fmt((self.low or 0) / _factor(self.unit))}–{_fmt(self.value)}{unit_zh}"
        words = {"lt": "少于", "le": "不超过", "gt": "超过", "ge": "不少于", "eq": "", "approx": "约"}
        return f"{words[self.comparator]}{_fmt(self.value)}{unit_zh}"


def _fmt(x: float | None) -> str:
    return "∞" if x is None else f"{x:g}"


def _alternation(words: list[str]) -> str:
    # Longest first so 毫米 wins over 米 and 个月 over 个; ASCII units must end at a word boundary
    # so "5 sets" or "10 kV" never read as seconds or metres.
    parts = [
        re.escape(w) + (r"(?![A-Za-z0-9])" if w.isascii() and w[-1].isalpha() else "")
        for w in sorted(words, key=len, reverse=True)
    ]
    return "(?:" + "|".join(parts) + ")"


_NUM = r"(?:[0-9]+(?:\.[0-9]+)?|[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千万]*|半)"
_SP = r"[ \t]*"  # PDF text puts spaces between number and unit; a line break ends the quantity
_UNIT = _alternation([*ALIASES]) + r"(?![ \t]*/|[²³])"  # 米/秒 is a speed, m² an area
# ± marks a precision (±2mm): read as the magnitude, the group only keeps the sign inside the span.
# 百分之N has its unit in front, so no unit may follow; 两年半 has its half behind.
_QTY_RE = re.compile(
    rf"(?<![A-Za-z0-9.])(?:±{_SP})?"
    rf"(?:(?P<lo>{_NUM}){_SP}(?:(?P<lo_unit>{_UNIT}){_SP})?(?P<sep>[-~至到]){_SP})?"
    rf"(?P<pct>百分之)?(?P<num>{_NUM})"
    rf"(?(pct)|{_SP}(?P<more>[多余])?{_SP}"
    rf"(?:(?:个{_SP})?(?P<half>半)?{_SP}(?P<unit>{_UNIT})(?P<half_after>半)?|(?P<count>[{COUNT_WORDS}])))"
)
_LEVEL_TERMS = {f"{k}级": ("level", k) for k in LEVELS} | {
    t: ("sub", k) for k in SUB_LEVELS for t in (f"亚{k}级", f"亚{k}")
}
_LEVEL_RE = re.compile(
    r"(?<![0-9零〇一二两三四五六七八九十百千万平立方公分])"  # not 千米级, 分米级
    + _alternation([*_LEVEL_TERMS])
)
_CN_DATE_NUM = r"[0-9一二三四五六七八九十]{1,3}"
_DATE_RE = re.compile(
    rf"(?:[0-9]{{4}}|[〇零一二三四五六七八九]{{4}})\s*年(?:\s*{_CN_DATE_NUM}\s*月(?:\s*{_CN_DATE_NUM}\s*[日号])?)?"
    rf"|{_CN_DATE_NUM}\s*月\s*{_CN_DATE_NUM}\s*[日号]"
)


def _unit_of(written: str) -> tuple[str, float, str, str]:
    """Written unit → (unit, multiplier, dimension, base unit)."""
    if written in ALIASES:
        unit, mult = ALIASES[written]
        dimension, base, _, _ = UNITS[unit]
        return unit, mult, dimension, base
    return written, 1, "count", written


def _factor(unit: str) -> float:
    return UNITS[unit][2] if unit in UNITS else 1


def _comparator_near(
    folded: str, start: int, end: int, threshold: bool, dimension: str
) -> tuple[Comparator | None, int, int]:
    """The comparator word touching [start, end), if any, and the span widened to include it."""
    before = folded[max(0, start - 8) : start]
    stripped = before.rstrip(" \t")
    for word in _PREFIX_WORDS:
        if stripped.endswith(word):
            as_threshold, as_stated = PREFIXES[word]
            word_start = start - (len(before) - len(stripped)) - len(word)
            return (as_threshold if threshold else as_stated), word_start, end
    after = folded[end : end + 8]
    gap = len(after) - len(after.lstrip(" \t"))
    for word in _SUFFIX_WORDS:
        comparator, dims = SUFFIXES[word]
        if after[gap:].startswith(word) and (dims is None or dimension in dims):
            return comparator, start, end + gap + len(word)
    return None, start, end


def _interval(
    comparator: Comparator, value: float, low: float | None = None
) -> tuple[float | None, float | None, bool, bool]:
    match comparator:
        case "lt":
            return None, value, True, False
        case "le":
            return None, value, True, True
        case "gt":
            return value, None, False, True
        case "ge":
            return value, None, True, True
        case "approx":
            return value * (1 - APPROX_TOLERANCE), value * (1 + APPROX_TOLERANCE), True, True
        case "range":
            return low, value, True, True
    return value, value, True, True


def _make(text: str, start: int, end: int, **fields: object) -> Quantity:
    def clean(x: object) -> object:  # float noise (0.1 * 3) must not decide a boundary comparison
        return round(x, 9) if isinstance(x, float) else x

    return Quantity(
        text=text[start:end],
        start=start,
        end=end,
        context_before=text[max(0, start - CONTEXT_CHARS) : start],
        context_after=text[end : end + CONTEXT_CHARS],
        **{k: clean(v) for k, v in fields.items()},
    )


def _excluded(folded: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _DATE_RE.finditer(folded)]
    for idiom in IDIOMS:
        spans += [(m.start(), m.end()) for m in re.finditer(re.escape(idiom), folded)]
    return spans


def _from_match(m: re.Match[str], text: str, folded: str, threshold: bool) -> Quantity | None:
    unit, mult, dimension, base = _unit_of(m["unit"] or m["count"] or "%")
    value = cn_number(m["num"])
    if value is None:
        return None
    value = (value + (0.5 if m["half"] or m["half_after"] else 0)) * mult
    if unit == "year" and value >= 1000:
        return None  # 2021年度 and friends: a calendar year, not a duration
    if dimension == "count" and not value.is_integer():
        return None  # 一半人: nobody counts half a person
    comparator: Comparator = "eq"
    low: float | None = None
    if m["sep"]:
        lo_unit, lo_mult, lo_dim, lo_base = _unit_of(m["lo_unit"]) if m["lo_unit"] else (unit, 1, dimension, base)
        lo_value = cn_number(m["lo"])
        if lo_value is None or (lo_dim, lo_base) != (dimension, base):
            return None
        low = lo_value * lo_mult * _factor(lo_unit)
        if low > value * _factor(unit):
            return None  # "5-3分钟" is not a range anyone means
        comparator = "range"
    near, start, end = _comparator_near(folded, m.start(), m.end(), threshold, dimension)
    if comparator != "range":
        comparator = near or ("gt" if m["more"] else "eq")
    lo_b, hi_b, lo_inc, hi_inc = _interval(comparator, value * _factor(unit), low)
    return _make(
        text,
        start,
        end,
        dimension=dimension,
        comparator=comparator,
        value=value,
        unit=unit,
        base_unit=base,
        low=lo_b,
        high=hi_b,
        low_inclusive=lo_inc,
        high_inclusive=hi_inc,
    )


def _from_level(m: re.Match[str], text: str, threshold: bool) -> Quantity:
    kind, key = _LEVEL_TERMS[m.group()]
    if kind == "level":
        unit, stated_low, high = LEVELS[key]
        low = 0.0 if threshold else stated_low
    else:
        (unit, high), low = SUB_LEVELS[key], 0.0
    dimension, base, _, _ = UNITS[unit]
    return _make(
        text,
        m.start(),
        m.end(),
        dimension=dimension,
        comparator="range",
        value=1,
        unit=unit,
        base_unit=base,
        low=low,
        high=high,
        high_inclusive=False,
        level=True,
    )


def _scan(text: str, threshold: bool) -> list[Quantity]:
    folded = fold(text)
    excluded = _excluded(folded)
    found: list[Quantity] = []
    for m in _QTY_RE.finditer(folded):
        if any(s < m.end() and m.start() < e for s, e in excluded):
            continue  # a date or an idiom
        if folded[max(0, m.start() - 4) : m.start()].rstrip().endswith("第"):
            continue  # an ordinal: 第三条, 第 2 年
        q = _from_match(m, text, folded, threshold)
        if q is not None:
            found.append(q)
    found += [_from_level(m, text, threshold) for m in _LEVEL_RE.finditer(folded)]
    return sorted(found, key=lambda q: q.start)


def _check_dimension(dimension: str | None) -> None:
    if dimension is not None and dimension not in DIMENSIONS:
        raise InputError(
            f"unknown dimension {dimension!r}; expected one of {', '.join(DIMENSIONS)}",
            f"未知的量纲 {dimension!r}，应为 {'、'.join(DIMENSIONS)} 之一",
            where="dimension",
        )


def extract_quantities(text: str, dimension: str | None = None) -> list[Quantity]:
    """Every quantity an applicant's text states, in order, with offsets into ``text``."""
    _check_dimension(dimension)
    return [q for q in _scan(text, threshold=False) if dimension is None or q.dimension == dimension]


def parse_threshold(text: str, dimension: str | None = None) -> Quantity | None:
    """The threshold a requirement clause states: the first level term or compared quantity, else the
    first quantity at all (为期6个月 is a plain value)."""
    _check_dimension(dimension)
    found = [q for q in _scan(text, threshold=True) if dimension is None or q.dimension == dimension]
    return next((q for q in found if q.level or q.comparator != "eq"), found[0] if found else None)


def _lies_below(high: float | None, high_inc: bool, low: float | None, low_inc: bool) -> bool:
    """Does an interval ending at ``high`` end before one starting at ``low`` begins?"""
    if high is None or low is None:
        return False
    return high < low or (high == low and not (high_inc and low_inc))


# Durations, lengths, rates and counts cannot be negative: an open lower end means 0.
_NON_NEGATIVE = {"duration", "length", "frequency", "count"}


def _within(inner: Quantity, outer: Quantity) -> bool:
    if inner.low is None and inner.dimension in _NON_NEGATIVE:
        inner = inner.model_copy(update={"low": 0.0, "low_inclusive": True})
    low_ok = outer.low is None or (
        inner.low is not None
        and (inner.low > outer.low or (inner.low == outer.low and (outer.low_inclusive or not inner.low_inclusive)))
    )
    high_ok = outer.high is None or (
        inner.high is not None
        and (
            inner.high < outer.high or (inner.high == outer.high and (outer.high_inclusive or not inner.high_inclusive))
        )
    )
    return low_ok and high_ok


def compare(required: Quantity, stated: Quantity) -> Verdict:
    """satisfied: the stated interval lies inside the required one; violated: entirely outside;
    unknown: partial overlap, or not the same kind of quantity."""
    if (required.dimension, required.base_unit) != (stated.dimension, stated.base_unit):
        return "unknown"
    if _within(stated, required):
        return "satisfied"
    if _lies_below(stated.high, stated.high_inclusive, required.low, required.low_inclusive) or _lies_below(
        required.high, required.high_inclusive, stated.low, stated.low_inclusive
    ):
        return "violated"
    return "unknown"


# --- what a stated value is about (the grammar; the words of each role are SKOS data in the thesaurus) ---

_CLAUSE_END = re.compile(r"[，,。；;！!？?\n]")
# 从火情出现到上报指挥中心 / 火情从发生到被发现: an interval from an event to something, measured by the value
# 震后8—10分钟 / 起火后35分钟: the time since an event
_EVENT_INTERVAL = re.compile(
    r"从[^，,。；;]{1,24}?(?:到|至)|(?:震|火|发生|触发|报警|出现|发现|灾)后[^，,。；;]{0,6}$"
    r"|from\b[^,.;]{1,48}?\b(?:to|until)\b|\bafter\b[^,.;]{1,24}$",
    re.IGNORECASE,
)
# 由2小时缩短至15分钟: the first value is the state before, the second the project's
_BEFORE_CHANGE = re.compile(r"^\s*(?:缩短|降低|减少|压缩|下降|提升|提高|降)(?:到|至|为)")


def value_clause(text: str, q: Quantity) -> tuple[int, int]:
    """The clause a stated value lies in: from the previous to the next clause mark."""
    start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, q.start)), default=0)
    m = _CLAUSE_END.search(text, q.end)
    return start, (m.start() if m else len(text))


_MONEY = re.compile(
    r"[0-9零〇一二两三四五六七八九十百千.]+\s*(?:万元|亿元|元|万美元|美元)|(?:RMB|CNY|USD|¥|￥)\s*[0-9]"
)


def states_money(text: str) -> bool:
    """Does the text state an amount of money (总投资860万元, ¥2 million)? A budget line says what money buys,
    not what the project does."""
    return _MONEY.search(fold(text)) is not None


_SENTENCE_END = re.compile(r"[。！!？?\n]")


def value_sentence(text: str, q: Quantity) -> tuple[int, int]:
    """The sentence a stated value lies in: what the text reports about the same process (系统产出参数后须由
    值班员确认，确认后才发布；从触发到公众收到约45秒)."""
    start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, q.start)), default=0)
    m = _SENTENCE_END.search(text, q.end)
    return start, (m.start() if m else len(text))


def sentence_names(text: str, q: Quantity, words: tuple[str, ...]) -> bool:
    """Does the sentence of a stated value name one of ``words`` (lower-case) outside the value itself?"""
    start, end = value_sentence(text, q)
    lowered = text[start : q.start].lower() + "\n" + text[q.end : end].lower()
    return any(w in lowered for w in words)


def measures_event_interval(text: str, q: Quantity) -> bool:
    """Is the value the length of an interval from an event to a response (从……到……约40分钟)?"""
    start, _ = value_clause(text, q)
    return _EVENT_INTERVAL.search(text[start : q.start]) is not None


def is_prior_value(text: str, q: Quantity) -> bool:
    """Is the value the state before a change the text reports (由2小时缩短至15分钟 → 2小时)?"""
    before = text[max(0, q.start - 2) : q.start]
    return ("由" in before or "从" in before) and _BEFORE_CHANGE.match(text[q.end : q.end + 6]) is not None


def nearest_word(text: str, q: Quantity, words: dict[str, tuple[str, ...]]) -> str | None:
    """The key of the word (of ``words``: key → its words) nearest to the value inside its clause, if any.
    ± before a value marks a precision whatever the words say."""
    start, end = value_clause(text, q)
    if q.text.lstrip().startswith("±") and "precision" in words:
        return "precision"
    lowered = text[start:end].lower()
    best: tuple[int, int, str] | None = None
    for key, ws in words.items():
        for w in ws:
            for m in re.finditer(re.escape(w.lower()), lowered):
                a, b = start + m.start(), start + m.end()
                if a < q.end and b > q.start:
                    continue  # inside the value itself
                gap = q.start - b if b <= q.start else a - q.end
                # a word before the value binds it more than one after (报警时间30秒 vs 30秒内完成)
                rank = (gap, 0 if b <= q.start else 1, key)
                if best is None or rank < (best[0], best[1], best[2]):
                    best = (gap, 0 if b <= q.start else 1, key)
    return best[2] if best else None
