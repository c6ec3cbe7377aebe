"""Regions of submitted projects: the province-level divisions of ``ontology/regions.ttl`` (GB/T 2260
codes, full names, the short forms applicants write, English names) and 新疆生产建设兵团 as its own unit.

A region written any way the vocabulary knows (云南, 云南省, Yunnan, 530000) resolves to one
:class:`Region`; projects store its IRI, so every rule counts by region and not by spelling. Anything
else is refused where it was written (``file:line region``). Unified social credit codes (统一社会信用代码,
GB 32100-2015) are checked here too: 18 characters of the code's alphabet and its check character.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rdflib import Literal
from rdflib.namespace import SKOS

from pilotkg.graph import PK, regions_graph
from pilotkg.policy import nfkc


@dataclass(frozen=True)
class Region:
    code: str  # GB/T 2260 code (530000), or XJBT for the Bingtuan
    name: str  # full Chinese name (云南省)
    name_en: str
    iri: str
    forms: tuple[str, ...]  # every spelling that resolves to it

    @property
    def gbt2260(self) -> bool:
        return self.code.isdigit()


def _key(text: str) -> str:
    return "".join(nfkc(text).split()).casefold()


@cache
def regions() -> dict[str, Region]:
    """Every region by its IRI."""
    g = regions_graph()
    out: dict[str, Region] = {}
    for node in sorted(g.subjects(PK.regionCode, None), key=str):
        labels = [o for o in g.objects(node, SKOS.prefLabel) if isinstance(o, Literal)]
        alts = [str(o) for o in g.objects(node, SKOS.altLabel)]
        code = str(g.value(node, PK.regionCode))
        zh = next(str(o) for o in labels if o.language == "zh")
        en = next((str(o) for o in labels if o.language == "en"), zh)
        out[str(node)] = Region(code=code, name=zh, name_en=en, iri=str(node), forms=(zh, en, code, *sorted(alts)))
    return out


@cache
def _by_form() -> dict[str, Region]:
    index: dict[str, Region] = {}
    for r in regions().values():
        for form in r.forms:
            other = index.setdefault(_key(form), r)
            if other is not r:  # the vocabulary itself must not make a spelling ambiguous
                raise ValueError(f"regions.ttl: {form!r} names both {other.code} and {r.code}")
    return index


def find_region(text: str) -> Region | None:
    """The region ``text`` names (any known spelling, or an IRI of the vocabulary), else None."""
    if text in regions():
        return regions()[text]
    return _by_form().get(_key(text))


def region_named(name_or_iri: str) -> Region:
    """The region of a canonical name or IRI (as stored); KeyError when the vocabulary lacks it."""
    r = find_region(name_or_iri)
    if r is None:
        raise KeyError(name_or_iri)
    return r


def issuing_region(agency_names: list[str]) -> Region | None:
    """The region a document's issuing agencies belong to (兵团工业和信息化局 → the Bingtuan), or None
    for national agencies. An agency belongs to a region when its name starts with one of the region's
    Chinese names of two or more characters (the longest such name decides)."""
    best: tuple[int, Region] | None = None
    for name in agency_names:
        key = _key(name)
        for r in regions().values():
            for f in r.forms:
                # the longest name wins: 新疆生产建设兵团… is the Bingtuan, not 新疆
                if len(f) >= 2 and not f.isascii() and key.startswith(_key(f)) and (best is None or len(f) > best[0]):
                    best = (len(f), r)
    return best[1] if best else None


# --- 统一社会信用代码 (GB 32100-2015) ------------------------------------------------------------------

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> tuple[str, str] | None:
    """Why ``code`` is not a valid unified social credit code (en, zh), or None when it is."""
    if len(code) != 18:
        return f"has {len(code)} characters, not 18", f"长度为 {len(code)} 位，应为 18 位"
    if bad := sorted({c for c in code if c not in CREDIT_ALPHABET}):
        shown = "".join(bad)
        return f"contains characters a credit code never uses: {shown}", f"含有代码不使用的字符：{shown}"
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        return (
            f"check character is {code[17]}, the first 17 characters give {expected}",
            f"校验码为 {code[17]}，按前 17 位应为 {expected}",
        )
    return None
