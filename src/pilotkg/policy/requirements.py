"""Split a direction's 应用成效 / 示范要求 text into atomic, typed requirements.

A small grammar of Chinese policy clauses rather than per-direction rules:
clauses are cut at top-level ，；。; inside a clause, 、-lists are found and either kept whole
(a list that elaborates one head: "举高喷射、灭火冷却…等作战单元车辆装备", "智能化、可视化水平")
or split into one requirement per item (lists of functions / tasks / means, or lists of long
self-standing phrases). Every piece keeps its exact offsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pilotkg.policy.quantity import parse_threshold
from pilotkg.policy.text import split_clauses

# A list ending in "等<head>" is split per item when the head names separate things to do.
SPLIT_HEADS = ("功能", "工作", "手段", "措施", "任务", "环节功能")
# Head nouns that do not count when measuring how long a list item is.
_HEAD_SUFFIX = re.compile(r"(水平|能力|模式|体系|技术|装备|系统)$")
_MIN_SPLIT_ITEM = 4
_USE_VERB = re.compile(r"^(综合运用|综合应用|广泛应用|运用|采用|基于|利用|应用|依托)")
_MEANS_HEAD = re.compile(r"(技术|手段)$")
# Clauses that only set the scene (针对…问题, 在…方面, 围绕…需求) are not requirements.
_CONTEXT = re.compile(r"^(针对|面向|按照|依托|围绕|在[^,，]{0,16}(方面|下|中)$|为[^,，]{0,10}提供)")
_LEAD_CONNECTOR = re.compile(r"^(以及|并且|的|和|与|及|并|且)")
_TAIL_SPLIT = re.compile(r"[和与]")


@dataclass(frozen=True)
class Piece:
    start: int  # offsets into the section text
    end: int
    kind: str  # capability | means | threshold
    means: tuple[str, ...] = ()
    # How the requirement reads on its own: the piece with the verb and head it shares with its
    # clause ("有效提高火情监测的科学性、时效性"). The span stays the exact source words.
    display: str = ""


@dataclass
class _Group:
    start: int
    end: int
    items: list[tuple[int, int]]  # item spans (clause coordinates)
    tail: int | None  # where 等/的 + head begins in the last item, if any


def _top_level(text: str, chars: str) -> list[int]:
    depth = 0
    out: list[int] = []
    for i, ch in enumerate(text):
        if ch in "(（“《[":
            depth += 1
        elif ch in ")）”》]":
            depth = max(0, depth - 1)
        elif ch in chars and depth == 0:
            out.append(i)
    return out


def _groups(clause: str) -> list[_Group]:
    """Find the 、-lists of a clause; a connector (的/以及, or 和/与 after 等) inside an inner item
    ends one list and starts the next."""
    duns = _top_level(clause, "、")
    if not duns:
        return [_Group(0, len(clause), [(0, len(clause))], None)]
    bounds = [0, *[d + 1 for d in duns]]
    ends = [*duns, len(clause)]
    raw_items = list(zip(bounds, ends, strict=True))
    groups: list[_Group] = []
    cur: list[tuple[int, int]] = []
    gstart = 0
    for idx, (s, e) in enumerate(raw_items):
        inner = 0 < idx < len(raw_items) - 1
        item = clause[s:e]
        cut = None
        if inner:
            deng = item.find("等")
            for m in re.finditer(r"以及|的|和|与", item):
                if m.group() in ("以及", "的") or (deng >= 0 and m.start() > deng):
                    cut = m.start()
        if cut is not None and cur:
            cur.append((s, s + cut))
            groups.append(_Group(gstart, s + cut, cur, None))
            gstart = s + cut
            cur = [(s + cut, e)]
        else:
            cur.append((s, e))
    groups.append(_Group(gstart, len(clause), cur, None))
    for g in groups:
        ls, le = g.items[-1]
        last = clause[ls:le]
        pos = last.find("等")
        if pos < 0 and len(g.items) > 1:
            pos = last.find("的")
        g.tail = ls + pos if pos > 0 else None
    return groups


def _core_len(text: str) -> int:
    return len(_HEAD_SUFFIX.sub("", text.strip()))


_LEAD_VERB = re.compile(r"^(实现|提供|提升|提高|构建|形成|开发|建立|推进|加强|促进|有效|具备|具有)")


def _cores(clause: str, g: _Group) -> list[str]:
    """The list items without the leading verb, the 等/的 tail, and split at a final 和/与."""
    cores = [_USE_VERB.sub("", _LEAD_VERB.sub("", clause[g.items[0][0] : g.items[0][1]].strip()))]
    cores += [clause[s:e] for s, e in g.items[1:-1]]
    last_s, last_e = g.items[-1]
    cores += re.split(r"[和与]", clause[last_s : g.tail if g.tail is not None else last_e])
    return [c for c in cores if c.strip()]


def _should_split(clause: str, g: _Group) -> bool:
    if len(g.items) < 2:
        return False
    last_e = g.items[-1][1]
    tail = clause[g.tail : last_e] if g.tail is not None else ""
    if tail.startswith("等"):
        return tail[1:].startswith(SPLIT_HEADS)
    # An attributive list ("技术先进、性能稳定、机动性强的…设备") describes one thing unless its
    # items are long, self-standing phrases.
    need = _MIN_SPLIT_ITEM + 2 if tail.startswith("的") else _MIN_SPLIT_ITEM
    return min(_core_len(c) for c in _cores(clause, g)) >= need


def _means_items(clause: str, g: _Group) -> tuple[str, ...]:
    items = [clause[s:e] for s, e in g.items]
    items[0] = _USE_VERB.sub("", items[0].strip())
    last_end = (g.tail - g.items[-1][0]) if g.tail is not None else len(items[-1])
    last = items[-1][:last_end]
    items[-1:] = [p for p in re.split(r"[和与及]", last.split("等")[0]) if p]
    return tuple(i.strip() for i in items if i.strip())


def _trim(clause: str, s: int, e: int) -> tuple[int, int]:
    while s < e and clause[s] in " \t":
        s += 1
    m = _LEAD_CONNECTOR.match(clause[s:e])
    if m and e - s - len(m.group()) >= 2:
        s += len(m.group())
    while e > s and clause[e - 1] in " \t.。":
        e -= 1
    return s, e


def _split_tail(clause: str, g: _Group, s: int, e: int) -> list[tuple[int, int]]:
    """An unsplit list whose head goes on with "和<another object>" yields two requirements."""
    if g.tail is None:
        return [(s, e)]
    for m in _TAIL_SPLIT.finditer(clause, g.tail, e):
        if e - m.end() >= 5 and m.start() - g.tail >= 3:
            return [(s, m.start()), (m.start(), e)]
    return [(s, e)]


def clause_pieces(clause: str) -> list[Piece]:
    """Atomic pieces of one clause, in clause coordinates."""
    stripped = clause.strip()
    if len(stripped) < 2 or _CONTEXT.match(stripped):
        return []
    out: list[Piece] = []
    groups: list[_Group] = []
    for g in _groups(clause):
        prev = groups[-1] if groups else None
        # "…排水等各环节的机械化、自动化操作": a list closed by 等<head> that stays whole keeps
        # the 的-phrase that follows; only a split list lets it stand alone.
        if (
            prev is not None
            and clause[g.start] == "的"
            and prev.tail is not None
            and clause[prev.tail] == "等"
            and not _should_split(clause, prev)
        ):
            prev.end = g.end
            continue
        groups.append(g)
    for g in groups:
        first = clause[g.items[0][0] : g.items[0][1]].strip()
        head_end = g.items[-1][1]
        is_means = bool(_USE_VERB.match(first)) and bool(_MEANS_HEAD.search(clause[g.start : head_end]))
        spans: list[tuple[int, int]]
        if _should_split(clause, g):
            spans = [(s, e) for s, e in g.items[:-1]]
            ls, le = g.items[-1]
            core_end = g.tail if (g.tail is not None and "、" in clause[g.tail : le]) else le
            last = [(ls, core_end)]
            # "智能预警和联动应急处置": the last item of a split list can hold two items.
            m = re.search(r"[和与]", clause[ls:core_end])
            if m and m.start() >= 2 and core_end - (ls + m.end()) >= 2:
                last = [(ls, ls + m.start()), (ls + m.start(), core_end)]
            spans.extend(last)
            if core_end < le:
                spans.append((core_end, le))
            kinds_means = [(_means_items(clause, _Group(s, e, [(s, e)], None)) if is_means else ()) for s, e in spans]
        else:
            spans = _split_tail(clause, g, g.start, g.end)
            kinds_means = [_means_items(clause, g) if is_means else () for _ in spans]
        for (s, e), means in zip(spans, kinds_means, strict=True):
            s, e = _trim(clause, s, e)
            text = clause[s:e]
            if e - s < 2 or _CONTEXT.match(text):
                continue
            if parse_threshold(text) is not None:
                out.append(Piece(s, e, "threshold"))
            elif means:
                out.append(Piece(s, e, "means", means))
            else:
                out.append(Piece(s, e, "capability"))
    return out


def section_pieces(text: str, section: str) -> list[Piece]:
    """All requirement pieces of a section text (offsets into ``text``)."""
    out: list[Piece] = []
    for cs, ce in split_clauses(text):
        clause = text[cs:ce]
        if section == "effect" and not _is_target(clause):
            continue
        pieces = clause_pieces(clause)
        for p, shown in zip(pieces, display_texts(clause, pieces), strict=True):
            out.append(Piece(cs + p.start, cs + p.end, p.kind, p.means, shown))
    return out


# A verb (with its adverb) that the items of a list share: "实现A、B和C" → 实现B, 实现C.
_SHARED_VERB = re.compile(
    r"^(?:有效|实时|综合|广泛|进一步|全面|大幅)?"
    r"(?:提高|提升|实现|提供|构建|形成|开发|建立|推进|加强|促进|具备|具有|监控|监测|推广|减少|研究|运用|应用|采用|增强|打造|开展|增加|做到)"
)
# A head noun that the items of a list share: "提供A、B系统" → A系统.
_SHARED_HEAD = re.compile(r"(系统|装备|设备|平台|技术|能力|水平)$")


def display_texts(clause: str, pieces: list[Piece]) -> list[str]:
    """Each piece of one clause as a requirement that reads on its own: an item without a verb takes
    the verb of the nearest earlier item, a 的-head ("…的科学性、时效性") or a shared head noun ("…系统") goes to
    the earlier ones. A piece that stands alone in its clause reads as written."""
    texts = [clause[p.start : p.end] for p in pieces]
    if len(pieces) < 2:
        return texts
    verb = ""
    # A later piece right after 的 is the head the earlier items share.
    head = next((i for i, p in enumerate(pieces) if i > 0 and clause[p.start - 1 : p.start] == "的"), None)
    # only a list of noun phrases shares its last head noun ("增加灭火手段、提升…能力" does not)
    verb_led = any(_SHARED_VERB.match(t) or _LEAD_VERB.match(t) for t in texts[1:])
    noun_m = None if verb_led else _SHARED_HEAD.search(texts[-1])
    out: list[str] = []
    for i, (p, t) in enumerate(zip(pieces, texts, strict=True)):
        if head is not None and i == head:
            out.append(clause[pieces[0].start : p.end])  # the head with all the items it qualifies
            continue
        shown = t
        own = _SHARED_VERB.match(t)
        if own:  # the nearest verb before an item is the one it shares
            verb = own.group()
        elif verb:
            shown = verb + shown
        if head is not None and i < head:
            shown = f"{shown}的{texts[head]}"
        elif (
            noun_m is not None
            and i < len(pieces) - 1
            and clause[p.end : p.end + 1] == "、"
            and not _SHARED_HEAD.search(t)
        ):
            shown += noun_m.group()
        out.append(shown)
    return out


_TARGET = re.compile(r"^\s*(实现|提升|提高|减少|推广|通过|提供|建立|形成|增加|做到|增强|打造|推动|助力|服务|有效|加大)")


def _is_target(clause: str) -> bool:
    """In 应用成效 only the concrete targets count as requirements, not the problem statement."""
    return bool(_TARGET.match(clause)) or parse_threshold(clause) is not None
