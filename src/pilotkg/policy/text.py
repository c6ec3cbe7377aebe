"""All Chinese text handling: normalisation with an offset map, sentence splitting, tokenising.

Offsets always point into the *original* string, so every extracted statement and every piece
of evidence can be cut back out of its source with ``raw[start:end]``.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import jieba
import opencc

# A paragraph that ends in one of these is complete; anything else may be a PDF line wrap.
_TERMINAL = set("。:;!?！？；：")
# Starts of lines that open a new structural unit and must never be glued to the line before.
_MARKER = re.compile(
    r"^\s*(?:"
    r"[(（][一二三四五六七八九十]+[)）]"  # （一）
    r"|[一二三四五六七八九十]+[、.．]"  # 一、
    r"|\d{1,2}\s*[.．、](?!\d)"  # 1.  2、
    r"|第[一二三四五六七八九十百零〇\d]+条"  # 第一条
    r"|附件"
    r")"
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_OCR_DASH = re.compile(rf"[{_CJK}](?:一[{_CJK}]){{3,}}")
_SENT_END = re.compile(r"[。!?！？;；\n]+")
_WORD = re.compile(rf"[{_CJK}]+|[A-Za-z][A-Za-z0-9+\-.]*|\d+(?:\.\d+)?")
_MIN_WRAPPED_LINE = 26  # a PDF wrap happens at a full line (~30 CJK chars); shorter lines are real ends


@dataclass(frozen=True)
class MappedText:
    """A normalised string and, for each of its characters, the offset in the original."""

    text: str
    offsets: tuple[int, ...]
    source_len: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text back to the original string."""
        if end <= start:
            pos = self.offsets[start] if start < len(self.offsets) else self.source_len
            return pos, pos
        return self.offsets[start], self.offsets[end - 1] + 1


def _nfkc_char(ch: str) -> str:
    out = unicodedata.normalize("NFKC", ch)
    # NFKC turns the ideographic space into a space and keeps 、。“” as they are, which is what we want.
    return out


def _is_cjk(ch: str) -> bool:
    return bool(ch) and bool(re.match(rf"[{_CJK}]", ch))


def normalize_mapped(raw: str, *, join_wraps: bool = True) -> MappedText:
    """NFKC (full-width → half-width), PDF line-wrap repair, space clean-up; keeps an offset map.

    A line break is a wrap (removed) when the text before it is a long line that does not end a
    sentence and the text after it does not open a new numbered unit.
    """
    chars: list[str] = []
    offs: list[int] = []
    for i, ch in enumerate(raw):
        for c in _nfkc_char(ch):
            chars.append(c)
            offs.append(i)
    text = "".join(chars)

    keep = [True] * len(text)
    if join_wraps:
        for start, end in _line_breaks(text, wraps=True):
            for k in range(start, end):
                keep[k] = False
    for start, end in _layout_spaces(text):
        for k in range(start, end):
            keep[k] = False
    out_chars = [c for c, k in zip(text, keep, strict=True) if k]
    out_offs = [o for o, k in zip(offs, keep, strict=True) if k]
    norm = "".join(out_chars)
    # OCR renders the dashes of “天-空-地-井-海” as the numeral 一.
    fixed = list(norm)
    for m in _OCR_DASH.finditer(norm):
        for k in range(m.start() + 1, m.end(), 2):
            fixed[k] = "-"
    return MappedText("".join(fixed), tuple(out_offs), len(raw))


def _line_breaks(text: str, *, wraps: bool) -> list[tuple[int, int]]:
    """The line breaks of ``text`` (with the blanks around them) that are PDF wraps (``wraps=True``) or
    real paragraph ends (``wraps=False``).

    A line break is a wrap when the text before it is a long line that does not end a sentence and the
    text after it does not open a new numbered unit. Full- and half-width punctuation count alike, so
    the original text and its NFKC form break in the same places."""
    out = []
    for m in re.finditer(r"[ \t\u3000]*\n(?:[ \t\u3000]*\n)*[ \t\u3000]*", text):
        before_start = text.rfind("\n", 0, m.start()) + 1
        line = text[before_start : m.start()].strip()
        after = text[m.end() : m.end() + 12]
        blank_between = m.group().count("\n") > 1
        # Across a blank line only prose (long, with inner punctuation) continues; titles do not.
        wrapped = (
            len(line) >= _MIN_WRAPPED_LINE and bool(re.search(r"[,，、]", line)) if blank_between else len(line) >= 18
        )
        is_wrap = bool(
            line
            and line[-1] not in _TERMINAL
            and wrapped
            and after
            and not _MARKER.match(after)
            and m.end() < len(text)
        )
        if is_wrap == wraps:
            out.append((m.start(), m.end()))
    return out


def _layout_spaces(text: str) -> list[tuple[int, int]]:
    """Spaces between a CJK character and a digit/Latin letter: PDF layout, not meaning."""
    out = []
    for m in re.finditer(r"[ \t]+", text):
        a = text[m.start() - 1] if m.start() > 0 else ""
        b = text[m.end()] if m.end() < len(text) else ""
        if (_is_cjk(a) and (b.isascii() and b.isalnum())) or (_is_cjk(b) and (a.isascii() and a.isalnum())):
            out.append((m.start(), m.end()))
    return out


def display_text(raw: str) -> str:
    """A source span as people should read it: the corpus's own characters and punctuation (，（）“”,
    not their NFKC forms), PDF line wraps joined, layout spaces between Chinese and digits removed, and
    each real paragraph on its own line (blank lines between paragraphs collapse to one break)."""
    cuts = [(s, e, "") for s, e in _line_breaks(raw, wraps=True)]
    cuts += [(s, e, "\n") for s, e in _line_breaks(raw, wraps=False)]
    cuts += [(s, e, "") for s, e in _layout_spaces(raw)]
    out: list[str] = []
    pos = 0
    for s, e, repl in sorted(cuts):
        if s < pos:  # a layout space inside a line break already cut
            continue
        out.append(raw[pos:s] + repl)
        pos = e
    out.append(raw[pos:])
    return "\n".join(line.strip() for line in "".join(out).strip().split("\n"))


def has_content(text: str) -> bool:
    """True if ``text`` has at least one letter or digit: whitespace, zero-width characters, NUL and
    other controls or punctuation alone are not a text to match or store."""
    return any(unicodedata.category(c)[0] in "LN" for c in text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with every surrogate code point (a JSON "\\ud800" escape decodes to one) replaced by U+FFFD:
    it is no character, and neither OpenCC nor the tokenizers can encode it."""
    return _SURROGATE.sub("\ufffd", text)


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width letters, digits and brackets to their ASCII forms (for names and codes)."""
    return unicodedata.normalize("NFKC", text)


def name_key(name: str) -> str:
    """The key two spellings of one organisation's name share: NFKC (全角（）→ half-width, full-width
    letters and digits → ASCII) with every space and zero-width/format character taken out, so
    某某（集团） 有限公司, 某某(集团)有限公司 and 某某(集团)\u200b有限公司 are one key."""
    return "".join(c for c in nfkc(name) if not c.isspace() and unicodedata.category(c) != "Cf")


def normalize(text: str) -> str:
    return normalize_mapped(text).text


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified, character for character so offsets stay valid (a surrogate code
    point, which OpenCC cannot encode, becomes U+FFFD: one for one)."""
    text = without_surrogates(text)
    conv: str = _t2s().convert(text)
    if len(conv) == len(text):
        return conv
    return "".join(c if len(c := _t2s().convert(ch)) == 1 else ch for ch in text)


def prepare_query(text: str) -> MappedText:
    """Normalise a user's description: simplified characters, NFKC, no wrap joining."""
    simp = to_simplified(text)
    return normalize_mapped(simp, join_wraps=False)


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offsets into the original string
    end: int


def split_sentences(raw: str, *, max_chars: int = 160) -> list[Sentence]:
    """Split at sentence ends; over-long sentences are cut again at commas."""
    out: list[Sentence] = []
    pos = 0
    for m in _SENT_END.finditer(raw + "\n"):
        end = min(m.end(), len(raw))
        _add_piece(raw, pos, end, max_chars, out)
        pos = end
    return out


def _add_piece(raw: str, start: int, end: int, max_chars: int, out: list[Sentence]) -> None:
    seg = raw[start:end]
    lead = len(seg) - len(seg.lstrip())
    trail = len(seg) - len(seg.rstrip())
    s, e = start + lead, end - trail
    if e <= s:
        return
    if e - s > max_chars:
        cut = max((raw.rfind(c, s, s + max_chars) for c in ",，、"), default=-1)
        if cut > s:
            _add_piece(raw, s, cut + 1, max_chars, out)
            _add_piece(raw, cut + 1, e, max_chars, out)
            return
    out.append(Sentence(raw[s:e], s, e))


def split_clauses(text: str) -> list[tuple[int, int]]:
    """Spans of the clauses of a sentence: parts between ;/；/, at top level (not inside brackets or quotes)."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "(（“《[":
            depth += 1
        elif ch in ")）”》]":
            depth = max(0, depth - 1)
        elif ch in ";；,，。" and depth == 0:
            spans.append((start, i))
            start = i + 1
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


_LIST_SEP = re.compile(r"[、,，和及与]")


def list_items(text: str) -> list[str]:
    """The items of a requirement that lists several (堰塞湖处置、堤坝移动巡查……等能力 → each one): its parts
    between 、 , 和 及 与; parts of one character are dropped."""
    return [p for p in (q.strip() for q in _LIST_SEP.split(text)) if len(p) >= 2]


_HEADING_MARK = re.compile(
    r"^\s*(?:#+\s*|[(（]?[一二三四五六七八九十]+[)）、.．]|\d{1,2}\s*[.．、)）](?!\d)|第[一二三四五六七八九十]+[章部分节])"
)
_BRACKET_HEADING = re.compile(r"^\s*[【\[]([^】\]]{1,16})[】\]]")
# Negation that takes a statement back (尚未接入, 不与……联网, 暂未考虑; not 未来 "future" or 未满 "under").
_NEGATION = re.compile(
    r"尚未|暂未|并未|未能|未曾|没有|缺乏|缺少|暂不|不具备|不与|不含|不包括|不涉及|无法|未(?![来满知])"
    # 不 before a verb of doing: 与消防站之间不建立联动, 不接入省级平台
    r"|不(?:建立|接入|联网|联动|提供|支持|开展|覆盖|对接|包含|配置|部署|采用|纳入)"
    # deferred to a later phase or to someone else: not done by this project (列入二期建设, 另行论证)
    r"|另行(?:实施|申报|论证|建设|研究|立项)|再行研究"
    r"|(?:列入|留待|留到|放到|计划在|拟在|将在|待)(?:二期|三期|下一阶段|下阶段|下一步|后续|远期)"
    r"|(?:下一阶段|下阶段|后续)(?:拟|将|再|计划)"
)
_NEGATION_EN = re.compile(r"\b(?:not|no|without|lacks?|yet to)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Heading:
    text: str  # the heading's words, markers stripped
    start: int  # where the part it opens starts (offset into the string)


def headings(text: str, *, max_chars: int = 24) -> list[Heading]:
    """The section headings of a write-up: short lines that do not end a sentence (一、项目背景; （二）建设内容：;
    ## Results), or a 【bracketed】 label opening a line. Offsets point at the heading's line."""
    out: list[Heading] = []
    pos = 0
    for line in text.split("\n"):
        stripped = line.strip()
        m = _BRACKET_HEADING.match(line)
        if m:
            out.append(Heading(m.group(1).strip(), pos))
        elif (
            0 < len(stripped) <= max_chars
            and stripped[-1] not in "。.;；!！?？,，"
            and (_HEADING_MARK.match(line) or stripped[-1] in ":：")
        ):
            words = _HEADING_MARK.sub("", stripped).strip(" :：")
            if words:
                out.append(Heading(words, pos))
        pos += len(line) + 1
    return out


_LIST_ITEM = re.compile(r"[•·\-*\d(（一二三四五六七八九十]")


def title_end(text: str, *, max_chars: int = 40) -> int:
    """Where the title line of a multi-line write-up ends (0 when there is none): a first line this short,
    not ending a sentence and not a list item, above more text (项目名称：某县森林火灾智能监测预警系统)."""
    first_raw = text.split("\n", 1)[0]
    first = first_raw.strip()
    if (
        "\n" in text.strip()
        and 0 < len(first) <= max_chars
        and first[-1] not in "。.!！?？;；"
        and not _LIST_ITEM.match(first)
    ):
        return len(first_raw)
    return 0


_LABELLED_LINE = re.compile(r"^[^:：。,，]{2,6}[:：](.+)$")
_LEAD_END = re.compile(r"[:：。;；!！?？]")


def lead(text: str, *, max_chars: int = 40) -> str:
    """The phrase a description opens with to name its subject: the first line, without a short label
    (项目名称：…), up to its first colon or sentence end (某县森林火灾智能监测预警系统：… → the name)."""
    line = text.strip().split("\n", 1)[0].strip()
    m = _LABELLED_LINE.match(line)
    if m and len(m.group(1).strip()) >= 4:
        line = m.group(1).strip()
    end = _LEAD_END.search(line)
    if end and end.start() >= 4:
        line = line[: end.start()]
    return line[:max_chars]


def is_negated(clause: str) -> bool:
    """Does the clause say the thing is *not* done (尚未接入, 不与……联网, has no …)?"""
    return bool(_NEGATION.search(clause) or _NEGATION_EN.search(clause))


STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "以及",
        "等",
        "在",
        "对",
        "为",
        "是",
        "或",
        "并",
        "将",
        "其",
        "中",
        "上",
        "下",
        "各",
        "个",
        "一",
        "有",
        "要",
        "可",
        "能",
        "由",
        "从",
        "向",
        "于",
        "把",
        "被",
        "让",
        "实现",
        "提升",
        "提高",
        "通过",
        "进行",
        "开展",
        "运用",
        "应用",
        "采用",
        "利用",
        "基于",
        "围绕",
        "针对",
        "满足",
        "具有",
        "相关",
        "方面",
        "能力",
        "水平",
        "技术",
        "系统",
        "我们",
        "本",
        "该",
        "此",
        "项目",
        "公司",
        "企业",
        "平台",
    ]
)


class Tokenizer:
    """A private jieba tokenizer with a domain dictionary; never touches jieba's global state."""

    def __init__(self, domain_terms: Iterable[str] = ()) -> None:
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self.domain_terms = sorted({t for t in domain_terms if 2 <= len(t) <= 12})
        for term in self.domain_terms:
            self._jieba.add_word(term, freq=20000)

    def tokens(self, text: str) -> list[str]:
        """Content tokens for lexical search: simplified, lower-cased, stopwords and punctuation out."""
        simp = to_simplified(normalize_mapped(text, join_wraps=False).text).lower()
        out: list[str] = []
        for piece in _WORD.findall(simp):
            if piece[0].isascii():
                if piece not in STOPWORDS:
                    out.append(piece)
                continue
            for tok in self._jieba.lcut(piece, HMM=False):
                if tok not in STOPWORDS and (len(tok) > 1 or tok in "矿险火灾震洪"):
                    out.append(tok)
        return out

    def subwords(self, token: str) -> list[str]:
        """The words inside a long Chinese token (a domain term such as 堤坝移动巡查 → 堤坝, 移动, 巡查), by
        jieba's search mode; a short or Latin token is its own only word."""
        if len(token) < 4 or token.isascii():
            return [token]
        words = [w for w in self._jieba.lcut_for_search(token, HMM=False) if len(w) > 1 and w != token]
        return words or [token]


def domain_terms_from(texts: Sequence[str]) -> set[str]:
    """Terms worth keeping whole: items of 、-lists, bracketed and quoted terms in the policy text."""
    terms: set[str] = set()
    for t in texts:
        nt = normalize(t)
        for m in re.finditer(r"[(（“]([^()（）“”]{2,10})[)）”]", nt):
            terms.add(m.group(1))
        for m in re.finditer(rf"[{_CJK}A-Za-z0-9]+(?:、[{_CJK}A-Za-z0-9]+)+", nt):
            for item in m.group().split("、"):
                if 2 <= len(item) <= 6:
                    terms.add(item)
    return {t for t in terms if not t.isdigit()}


# --- BM25 term-frequency part of sparse vectors (Qdrant applies the IDF) ---

BM25_K1 = 1.2
BM25_B = 0.75


def token_id(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) & 0x7FFFFFFF


def bm25_doc_vector(tokens: Sequence[str], avg_len: float) -> tuple[list[int], list[float]]:
    counts = Counter(tokens)
    dl = max(len(tokens), 1)
    norm = BM25_K1 * (1 - BM25_B + BM25_B * dl / max(avg_len, 1.0))
    merged: dict[int, float] = {}
    for tok, tf in counts.items():
        tid = token_id(tok)
        merged[tid] = merged.get(tid, 0.0) + tf * (BM25_K1 + 1) / (tf + norm)
    ids = sorted(merged)
    return ids, [merged[i] for i in ids]


def bm25_query_vector(tokens: Sequence[str]) -> tuple[list[int], list[float]]:
    ids = sorted({token_id(t) for t in tokens})
    return ids, [1.0] * len(ids)


# --- numerals and character folding (quantities, outline numbering, clause references) -------------

_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
CN_NUMERALS = "零〇一二两三四五六七八九十百"  # a regex character class of outline numbers (一、 （八） 第十条)


@cache
def _fold_char(c: str) -> str:
    if "\uff01" <= c <= "\uff5e":
        return chr(ord(c) - 0xFEE0)
    if c in "\u3000\u00a0":
        return " "
    if c in "〜–—‐−":
        return "-" if c != "〜" else "~"
    simplified: str = _t2s().convert(c)
    return simplified if len(simplified) == 1 else c  # keep offsets: one char in, one char out


def fold(text: str) -> str:
    """Full-width → ASCII and traditional → simplified, character by character (same length)."""
    return "".join(_fold_char(c) for c in text)


def cn_number(s: str) -> float | None:
    """Parse an Arabic or Chinese numeral: 30, ３０, 1.5, 十二, 一百零五, 两千, 二〇二一, 半, 一个半."""
    s = fold(s).strip()
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", s):
        return float(s)
    if s == "半":
        return 0.5
    if len(s) > 1 and s.endswith("半"):
        whole = cn_number(s[:-1].removesuffix("个"))
        return None if whole is None else whole + 0.5
    if not s or any(c not in _CN_DIGITS and c not in _CN_UNITS and c not in _CN_BIG for c in s):
        return None
    if all(c in _CN_DIGITS for c in s):  # positional digits, as in a year: 二〇二一
        return float("".join(str(_CN_DIGITS[c]) for c in s))
    total = section = digit = 0
    for c in s:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        elif c in _CN_UNITS:
            section += (digit or 1) * _CN_UNITS[c]  # 十二: a leading 十 means 一十
            digit = 0
        else:
            total += (section + digit) * _CN_BIG[c]
            section = digit = 0
    return float(total + section + digit)


def cn_int(s: str) -> int:
    """A Chinese or Arabic integer numeral of an outline (一 … 九十九, 一百…) → int; ValueError otherwise."""
    value = cn_number(s)
    if value is None or value != int(value):
        raise ValueError(s)
    return int(value)
