"""Parse the policy text (notices, implementation guide, management measures) into typed models.

The parser knows the *family* of documents, not this one text: documents are found by their
attachment markers and titles, the guide's outline by its numbering styles (whatever comes
first is a group, the next style a direction), sections by their labels, rules by the phrases
that state them. A revised guide with other numbering, wording or thresholds parses unchanged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pilotkg.errors import CorpusParseError, InputError
from pilotkg.policy.base import (
    Agency,
    Article,
    ArticleItem,
    Contact,
    Corpus,
    Deadline,
    Direction,
    Group,
    PolicyDocument,
    Requirement,
    Rule,
    Span,
    Stage,
)
from pilotkg.policy.quantity import Quantity, extract_quantities, parse_threshold
from pilotkg.policy.requirements import section_pieces
from pilotkg.policy.text import CN_NUMERALS, MappedText, cn_int, normalize_mapped

# Outline numbering styles, matched on normalised text (full-width brackets are ASCII by then).
STYLES: dict[str, re.Pattern[str]] = {
    "cn_dun": re.compile(rf"^([{CN_NUMERALS}]+)、\s*"),
    "cn_paren": re.compile(rf"^\(([{CN_NUMERALS}]+)\)\s*"),
    "ar_paren": re.compile(r"^\((\d{1,2})\)\s*"),
    "ar_dot": re.compile(r"^(\d{1,2})\s*[.、](?!\d)\s*"),
    "part": re.compile(rf"^第([{CN_NUMERALS}\d]+)(?:部分|类|方面)\s*[:、.]?\s*"),
    "direction": re.compile(rf"^(?:重点)?方向\s*([{CN_NUMERALS}\d]+)\s*[:、.]?\s*"),
}
SECTION_LABELS = {
    "应用成效": "effect",
    "预期成效": "effect",
    "实施成效": "effect",
    "应用效果": "effect",
    "示范要求": "demand",
    "建设要求": "demand",
    "实施要求": "demand",
    "技术要求": "demand",
}
_SECTION = re.compile(
    r"^(?:(?:\d{1,2}|\(\d{1,2}\)|[一二三四五六七八九十]+)\s*[.、)]?\s*)?(" + "|".join(SECTION_LABELS) + r")\s*[:。.]\s*"
)
_ATTACHMENT = re.compile(r"^附件\s*(\d*)\s*$")
_DOC_NUMBER = re.compile(r"^\(?([^\s()]{2,12}〔\d{4}〕\s*\d+\s*号)\)?$")
_ARTICLE = re.compile(rf"^第([{CN_NUMERALS}]+)条\s*")
_DEADLINE = re.compile(rf"第([{CN_NUMERALS}\d]+)批[^。;]*?截止日期为\s*(\d{{4}})年(\d{{1,2}})月(\d{{1,2}})日")
_PHONE = r"\d{3,4}-\d{7,8}"
_CONTACT_PERSON = re.compile(rf"^([\u4e00-\u9fff]{{2,4}})\s*({_PHONE})\s*(\S+)$")
_CONTACT_SERVICE = re.compile(rf"^([^:]{{2,20}}):\s*(\S+?)\s*({_PHONE})$")


@dataclass(frozen=True)
class Line:
    no: int  # 1-based line number in the source file
    start: int  # offsets into the normalised text
    end: int
    text: str


class _Doc:
    """Offsets and line numbers of one corpus file, for spans and located errors."""

    def __init__(self, raw: str, source: str) -> None:
        self.raw = raw
        self.source = source
        self.m: MappedText = normalize_mapped(raw)
        self.t = self.m.text
        self.lines: list[Line] = []
        pos = 0
        for piece in self.t.split("\n"):
            stripped = piece.strip()
            if stripped:
                s = pos + (len(piece) - len(piece.lstrip()))
                raw_s, _ = self.m.span(s, s + 1)
                self.lines.append(Line(raw.count("\n", 0, raw_s) + 1, s, s + len(stripped), stripped))
            pos += len(piece) + 1

    def span(self, start: int, end: int) -> Span:
        rs, re_ = self.m.span(start, end)
        return Span(source=self.source, start=rs, end=re_, text=self.raw[rs:re_])

    def error(self, line: Line | None, en: str, zh: str) -> CorpusParseError:
        where = f"{self.source}:{line.no}" if line else self.source
        return CorpusParseError(en, zh, where=where)


def load_corpus(corpus_dir: Path, progress: Callable[[str], None] | None = None) -> Corpus:
    """Parse the one policy text file (*.txt) at the top of ``corpus_dir``."""
    if not corpus_dir.is_dir():
        raise InputError(f"corpus folder not found: {corpus_dir}", f"找不到语料目录：{corpus_dir}", str(corpus_dir))
    files = sorted(corpus_dir.glob("*.txt"))
    if len(files) != 1:
        raise InputError(
            f"expected exactly one policy text (*.txt) in {corpus_dir}, found {len(files)}",
            f"语料目录中应恰有一个政策文本（*.txt），实际有 {len(files)} 个",
            str(corpus_dir),
        )
    if progress:
        progress(f"parsing {files[0].name}")
    try:
        raw = files[0].read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusParseError("corpus file is not UTF-8", "语料文件不是 UTF-8 编码", str(files[0])) from exc
    return parse_text(raw, files[0].name)


def parse_text(raw: str, source: str = "corpus.txt") -> Corpus:
    doc = _Doc(raw, source)
    segments = _segments(doc)
    documents: list[PolicyDocument] = []
    groups: list[Group] = []
    directions: list[Direction] = []
    articles: list[Article] = []
    rules: dict[str, Rule] = {}
    stages = []
    validity = None
    for idx, seg in enumerate(segments):
        kind = _segment_kind(seg)
        pdoc = _document(doc, seg, idx, kind, parent=documents[0].id if documents and idx else None)
        documents.append(pdoc)
        if kind == "guide":
            g, d = _parse_guide(doc, seg)
            groups += g
            directions += d
        elif kind == "measures":
            articles = _parse_articles(doc, seg)
            stages = _parse_stages(doc, articles)
            validity = _validity(articles)
        for r in _parse_rules(doc, seg, pdoc.id):
            rules.setdefault(r.kind, r)
    if not directions:
        raise doc.error(None, "no implementation guide with directions found", "未找到包含重点方向的实施要素指南")
    return Corpus(
        source=source,
        sha256=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        documents=documents,
        groups=groups,
        directions=directions,
        articles=articles,
        rules=list(rules.values()),
        stages=stages,
        validity=validity,
    )


def _segments(doc: _Doc) -> list[list[Line]]:
    segs: list[list[Line]] = [[]]
    for ln in doc.lines:
        if _ATTACHMENT.match(ln.text):
            segs.append([])
        else:
            segs[-1].append(ln)
    return [s for s in segs if s]


def _segment_kind(seg: list[Line]) -> str:
    if sum(1 for ln in seg if _SECTION.match(ln.text)) >= 2:
        return "guide"
    if sum(1 for ln in seg if _ARTICLE.match(ln.text)) >= 3:
        return "measures"
    return "notice"


def _title_line(seg: list[Line]) -> tuple[int, Line]:
    for i, ln in enumerate(seg[:8]):
        if re.search(r"(通知|指南|办法|意见|方案|规定)", ln.text) and not _DOC_NUMBER.match(ln.text):
            return i, ln
    return 0, seg[0]


def _document(doc: _Doc, seg: list[Line], idx: int, kind: str, parent: str | None) -> PolicyDocument:
    ti, title = _title_line(seg)
    number_line = next((ln for ln in seg[:8] if _DOC_NUMBER.match(ln.text)), None)
    number_match = _DOC_NUMBER.match(number_line.text) if number_line else None
    doc_number = re.sub(r"\s+", "", number_match.group(1)) if number_match else None
    agencies: list[Agency] = []
    header = [ln for ln in seg[:ti] if ln is not number_line]
    if header:  # a letterhead: one issuing agency per line ("… 文件" closes the letterhead)
        for ln in header:
            name = re.sub(r"\s*文件$", "", ln.text)
            pos = ln.start + ln.text.find(name)
            agencies.append(Agency(name=name, span=doc.span(pos, pos + len(name))))
    elif "关于" in title.text:  # "A办公厅 B办公厅 …关于…的通知"
        pos = title.start
        for part in title.text.split("关于", 1)[0].split():
            start = doc.t.find(part, pos)
            agencies.append(Agency(name=part, span=doc.span(start, start + len(part))))
            pos = start + len(part)
    text = "\n".join(ln.text for ln in seg)
    year_m = re.search(r"(20\d{2})\s*年", title.text) or (re.search(r"〔(\d{4})〕", doc_number) if doc_number else None)
    deadlines = [
        Deadline(
            batch=cn_int(m.group(1)),
            date=date(int(m.group(2)), int(m.group(3)), int(m.group(4))),
            span=_find_span(doc, seg, m.group()),
        )
        for m in _DEADLINE.finditer(text)
    ]
    contacts: list[Contact] = []
    for ln in seg:
        if m := _CONTACT_PERSON.match(ln.text):
            contacts.append(
                Contact(
                    name=m.group(1),
                    phone=m.group(2),
                    organisation=m.group(3),
                    span=doc.span(ln.start, ln.end),
                )
            )
        elif (m := _CONTACT_SERVICE.match(ln.text)) and "咨询" in m.group(1):
            contacts.append(
                Contact(
                    name=m.group(1),
                    phone=m.group(3),
                    organisation=m.group(2),
                    span=doc.span(ln.start, ln.end),
                )
            )
    doc_id = {"guide": "guide", "measures": "measures"}.get(kind, f"notice-{idx + 1}")
    return PolicyDocument(
        id=doc_id,
        kind=kind,
        title=title.text,
        doc_number=doc_number,
        year=int(year_m.group(1)) if year_m else None,
        agencies=agencies,
        deadlines=deadlines,
        contacts=contacts,
        parent=parent,
        span=doc.span(seg[0].start, seg[-1].end),
    )


def _find_span(doc: _Doc, seg: list[Line], needle: str) -> Span:
    start = doc.t.find(needle, seg[0].start, seg[-1].end + 1)
    return doc.span(start, start + len(needle))


def _heading_style(text: str) -> tuple[str, re.Match[str]] | None:
    if _SECTION.match(text) or len(text) > 60:
        return None
    for name, pat in STYLES.items():
        if m := pat.match(text):
            rest = text[m.end() :].rstrip("。.")
            if rest and "。" not in rest and ":" not in rest:
                return name, m
    return None


def _parse_guide(doc: _Doc, seg: list[Line]) -> tuple[list[Group], list[Direction]]:
    levels: list[str] = []
    groups: list[Group] = []
    directions: list[Direction] = []
    current: Direction | None = None
    section: tuple[str, int, int, Line] | None = None  # (kind, start, end, first line)

    def close_section() -> None:
        nonlocal section
        if section and current is not None:
            kind, s, e, _first = section
            if kind == "effect":
                current.effect = doc.span(s, e)
            else:
                current.demand = doc.span(s, e)
            current.requirements += _requirements(doc, current.number, kind, s, e)
        section = None

    for ln in seg:
        if sm := _SECTION.match(ln.text):
            if current is None:
                raise doc.error(
                    ln,
                    f"section '{sm.group(1)}' before any direction heading",
                    f"在任何方向标题之前出现了“{sm.group(1)}”",
                )
            close_section()
            section = (SECTION_LABELS[sm.group(1)], ln.start + sm.end(), ln.end, ln)
            continue
        hs = _heading_style(ln.text)
        if hs and (hs[0] in levels or len(levels) < 2):
            close_section()
            style, m = hs
            if style not in levels:
                levels.append(style)
            name = ln.text[m.end() :].rstrip("。.").strip()
            label = doc.raw[slice(*doc.m.span(ln.start, ln.start + m.end()))].strip()
            name_span = doc.span(ln.start + m.end(), ln.start + m.end() + len(name))
            if levels.index(style) == 0:
                groups.append(Group(number=len(groups) + 1, label=label, name=name, span=name_span))
            else:
                if not groups:
                    raise doc.error(ln, "direction heading before any group heading", "方向标题出现在任何分组标题之前")
                if current is not None and current.demand is None:
                    raise doc.error(
                        ln,
                        f"direction '{current.name}' has no 示范要求 section",
                        f"方向“{current.name}”缺少“示范要求”",
                    )
                current = Direction(
                    number=len(directions) + 1,
                    label=label,
                    name=name,
                    group=groups[-1].number,
                    span=name_span,
                )
                directions.append(current)
            continue
        if section is not None:  # a section may run over several paragraphs
            kind, s, _, first = section
            section = (kind, s, ln.end, first)
    close_section()
    if current is not None and current.demand is None:
        raise doc.error(
            seg[-1],
            f"direction '{current.name}' has no 示范要求 section",
            f"方向“{current.name}”缺少“示范要求”",
        )
    if len(levels) < 2:
        raise doc.error(seg[0], "guide has no group → direction outline", "实施要素指南中没有“分组→方向”的层级结构")
    empty = [g for g in groups if not any(d.group == g.number for d in directions)]
    if empty:
        raise doc.error(None, f"group '{empty[0].name}' has no directions", f"分组“{empty[0].name}”下没有方向")
    return groups, directions


def _requirements(doc: _Doc, number: int, section: str, s: int, e: int) -> list[Requirement]:
    text = doc.t[s:e]
    out: list[Requirement] = []
    letter = "e" if section == "effect" else "r"
    for i, p in enumerate(section_pieces(text, section), start=1):
        span = doc.span(s + p.start, s + p.end)
        q = None
        if p.kind == "threshold":
            q = parse_threshold(text[p.start : p.end])
        out.append(
            Requirement(
                id=f"d{number:02d}-{letter}{i:02d}",
                direction=number,
                section=section,
                kind=p.kind,
                text=text[p.start : p.end],
                display=p.display or text[p.start : p.end],
                span=span,
                means=list(p.means),
                quantity=q,
            )
        )
    return out


def _parse_articles(doc: _Doc, seg: list[Line]) -> list[Article]:
    articles: list[Article] = []
    starts: list[int] = []  # normalised start of each article, to widen its span over later paragraphs
    for ln in seg:
        if m := _ARTICLE.match(ln.text):
            n = cn_int(m.group(1))
            if n != len(articles) + 1:
                raise doc.error(
                    ln,
                    f"expected article {len(articles) + 1}, found 第{m.group(1)}条",
                    f"应为第{len(articles) + 1}条，实际为第{m.group(1)}条",
                )
            starts.append(ln.start)
            articles.append(
                Article(
                    number=n,
                    label=f"第{m.group(1)}条",
                    text=ln.text[m.end() :],
                    span=doc.span(ln.start, ln.end),
                )
            )
        elif articles:
            a = articles[-1]
            a.text += "\n" + ln.text
            a.span = doc.span(starts[-1], ln.end)
            if im := STYLES["cn_paren"].match(ln.text):
                title = re.split(r"[。.]", ln.text[im.end() :], maxsplit=1)[0].strip()
                label = doc.raw[slice(*doc.m.span(ln.start, ln.start + im.end()))].strip()
                a.items.append(ArticleItem(label=label, title=title, span=doc.span(ln.start, ln.end)))
    if not articles:
        raise doc.error(seg[0], "measures contain no articles (第一条 …)", "管理办法中没有条款（第一条……）")
    return articles


def _parse_stages(doc: _Doc, articles: list[Article]) -> list[Stage]:
    art = next((a for a in articles if "阶段" in a.text and a.items), None)
    if art is None:
        return []
    stages: list[Stage] = []
    for i, item in enumerate(art.items, start=1):
        body = item.span.text
        out = re.search(r"(?:作为|认定为)([^,，。、]{2,12}?项目)", normalize_mapped(body).text)
        durations = [q for q in extract_quantities(normalize_mapped(body).text) if q.dimension == "duration"]
        stages.append(
            Stage(
                order=i,
                name=item.title,
                outcome=out.group(1) if out else None,
                duration=durations[0] if durations else None,
                article=art.number,
                span=item.span,
            )
        )
    return stages


def _validity(articles: list[Article]) -> Quantity | None:
    for a in articles:
        if m := re.search(r"有效期为?[^。]{0,6}", a.text):
            qs = [q for q in extract_quantities(m.group()) if q.dimension == "duration"]
            if qs:
                return qs[0]
    return None


# Rules the notice states: (kind, pattern). Numbers are read from the text, never assumed.
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("lead_units", re.compile(rf"牵头单位\s*([{CN_NUMERALS}\d]+)\s*家")),
    ("max_partners", re.compile(rf"联合单位(?:不超过|最多|不多于)\s*([{CN_NUMERALS}\d]+)\s*家")),
    ("no_single_enterprise", re.compile(r"单一企业申报[^。;]*?不予受理")),
    ("legal_entity", re.compile(r"参与申报的单位应为[^。]*?企业")),
    (
        "max_projects_per_lead",
        re.compile(rf"每个牵头单位[^。;,]*?(?:最多|不超过)(?:申报)?\s*([{CN_NUMERALS}\d]+)\s*个项目"),
    ),
    ("directions_per_project", re.compile(rf"每个项目[^。;]*?([{CN_NUMERALS}\d]+)\s*个[^。;]*?方向")),
    ("max_recommended_per_direction_region", re.compile(rf"每个方向(?:不超过|最多)\s*([{CN_NUMERALS}\d]+)\s*个")),
    ("characteristics", re.compile(r"具备((?:[\u4e00-\u9fff]{2,6}性、)+[\u4e00-\u9fff]{2,6}性)等特点")),
    ("business_models", re.compile(r"((?:“[^”]*\+[^”]*”)+)")),
]


def _parse_rules(doc: _Doc, seg: list[Line], doc_id: str) -> list[Rule]:
    out: list[Rule] = []
    top = top_title = ""
    for ln in seg:
        if m := STYLES["cn_dun"].match(ln.text):
            top = doc.raw[slice(*doc.m.span(ln.start, ln.start + m.end()))].strip()
            top_title = ln.text[m.end() :].strip()
        clause = top + top_title
        if sm := STYLES["cn_paren"].match(ln.text):
            sub = doc.raw[slice(*doc.m.span(ln.start, ln.start + sm.end()))].strip()
            sub_title = re.split(r"[。.]", ln.text[sm.end() :], maxsplit=1)[0].strip()
            clause = f"{top}{sub}{sub_title}"
        if am := _ARTICLE.match(ln.text):
            clause = f"第{am.group(1)}条"
        for kind, pat in _RULES:
            for m in pat.finditer(ln.text):
                value = None
                values: list[str] = []
                if kind == "characteristics":
                    values = m.group(1).split("、")
                elif kind == "business_models":
                    values = re.findall(r"“([^”]+)”", m.group(1))
                elif m.groups():
                    value = cn_int(m.group(1))
                out.append(
                    Rule(
                        id=f"rule-{kind}",
                        kind=kind,
                        value=value,
                        values=values,
                        clause=clause,
                        document=doc_id,
                        span=doc.span(ln.start + m.start(), ln.start + m.end()),
                    )
                )
    return out
