"""What the judgments are fitted on: a description read once (clauses, their sections, their vectors), and
the features of each capability requirement of a direction against it.

A clause counts as *evidence* only when it is about the project: it is concrete (it says something the
policy text does not — at least ``MIN_NOVEL_TOKENS`` words absent from the guide, or a stated value), it is
not negated (尚未接入, 不与……联网), it is not a budget line (指挥决策系统600万元) and it does not lie under a
background or limitations heading. Restating
the direction's name or a requirement's wording is not evidence of doing it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from pilotkg.matching.judge import CAPABILITY_FEATURES
from pilotkg.matching.thesaurus import Thesaurus
from pilotkg.policy import (
    Corpus,
    MappedText,
    Quantity,
    Requirement,
    Tokenizer,
    extract_quantities,
    headings,
    is_negated,
    list_items,
    prepare_query,
    split_clauses,
    split_sentences,
    states_money,
    title_end,
)
from pilotkg.vectors import Embedder

MIN_NOVEL_TOKENS = 2
# headings under which a statement is not about what the project does; "title": the write-up's title line
NOT_EVIDENCE_SECTIONS = ("background", "limitations", "title")
# Temperature of the softmax that shares each evidence clause among the direction's capability requirements
# ("claim"): e5 cosines are compressed into a narrow band, so a sharp one; chosen by grouped 5-fold CV over
# five fold seeds among 0.005, 0.01, 0.02 and 0.03 (0.005 and 0.01 score the same, 0.02 and 0.03 lower).
CLAIM_TEMPERATURE = 0.01
# the order a heading is classified in: the more specific kinds first (存在问题 before 问题)
SECTION_ORDER = ("limitations", "summary", "background", "plan", "promotion", "results", "construction")


def bigrams(text: str) -> set[str]:
    s = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", text.lower())
    return {s[i : i + 2] for i in range(len(s) - 1)}


@dataclass
class Unit:
    text: str
    start: int  # offsets into the normalised text
    end: int
    section: str  # the kind of the heading above it ("" when none)
    sentence: bool  # a whole sentence (else one of its clauses)
    negated: bool
    concrete: bool
    budget: bool = False  # states an amount of money: a budget line, what money buys

    @property
    def usable(self) -> bool:
        """Not negated, not a budget line and not under a background or limitations heading."""
        return not self.negated and not self.budget and self.section not in NOT_EVIDENCE_SECTIONS

    @property
    def evidence(self) -> bool:
        return self.usable and self.concrete


@dataclass
class Analysis:
    """A description read once: what every judgment of every direction needs (one encoder call)."""

    original: str
    mapped: MappedText
    units: list[Unit]
    vecs: np.ndarray  # one unit vector per unit
    unit_best: np.ndarray  # each unit's best cosine with any requirement of the guide
    quantities: list[Quantity]
    usable_bigrams: set[str]  # character bigrams of the usable units (not negated, background or title)

    @property
    def length(self) -> float:
        return math.log10(max(len(self.mapped.text), 1))

    @property
    def evidence_index(self) -> np.ndarray:
        return np.array([i for i, u in enumerate(self.units) if u.evidence], dtype=np.int64)

    def usable_text(self) -> str:
        return "\n".join(u.text for u in self.units if u.usable).lower()

    def section_at(self, pos: int) -> str:
        for u in self.units:
            if u.start <= pos < u.end:
                return u.section
        return ""


def section_kind(heading: str, sections: dict[str, tuple[str, ...]]) -> str:
    h = heading.lower()
    for kind in SECTION_ORDER:
        if any(w in h for w in sections.get(kind, ())):
            return kind
    return ""


class Lexicon:
    """How distinctive each word of the guide is: IDF over the guide's requirements (a word most requirements
    use, 安全 or 应急, weighs little; 堰塞湖 much), for the lexical evidence of a requirement in a text."""

    def __init__(self, corpus: Corpus, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        docs = [set(tokenizer.tokens(r.text)) for r in corpus.requirements]
        df = Counter(t for d in docs for t in d)
        self.n = len(docs)
        self.df = dict(df)
        self._items: dict[str, list[list[str]]] = {}
        self._subwords: dict[str, list[str]] = {}

    def idf(self, token: str) -> float:
        return math.log((self.n + 1) / (self.df.get(token, 0) + 1))

    def share(self, tokens: list[str], text: str) -> float:
        """IDF-weighted share of the tokens the lower-cased text names; a long domain term (堤坝移动巡查) the
        text does not name whole counts by the share of its words it names (堤坝, 巡查)."""
        weights = [self.idf(t) for t in tokens]
        total = sum(weights)
        if total <= 0:
            return 0.0
        found = 0.0
        for t, w in zip(tokens, weights, strict=True):
            if t in text:
                found += w
                continue
            words = self._subwords.get(t)
            if words is None:  # the guide's tokens: a few hundred, split once each
                words = self._subwords[t] = self.tokenizer.subwords(t)
            if words != [t]:
                found += w * sum(x in text for x in words) / len(words)
        return found / total

    def item_share(self, requirement: str, text: str) -> float:
        """The best-named item of a requirement that lists several (提升堰塞湖处置、堤坝移动巡查……等能力): a
        text that does one of them names that item's distinctive words."""
        if requirement not in self._items:
            tokens = (list(dict.fromkeys(self.tokenizer.tokens(i))) for i in list_items(requirement))
            self._items[requirement] = [t for t in tokens if t]
        return max((self.share(t, text) for t in self._items[requirement]), default=0.0)


class Reader:
    """Reads descriptions into ``Analysis`` objects against one corpus."""

    def __init__(
        self,
        corpus: Corpus,
        embedder: Embedder,
        tokenizer: Tokenizer,
        thesaurus: Thesaurus,
        requirement_matrix: np.ndarray,
    ) -> None:
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.thesaurus = thesaurus
        self.all = requirement_matrix
        policy = [d.name for d in corpus.directions] + [r.text for r in corpus.requirements]
        policy += [s.text for d in corpus.directions for s in (d.effect, d.demand) if s is not None]
        self.policy_tokens = {t for p in policy for t in tokenizer.tokens(p)}
        self.lexicon = Lexicon(corpus, tokenizer)

    def concrete(self, text: str) -> bool:
        if extract_quantities(text):
            return True
        novel = {t for t in self.tokenizer.tokens(text) if t not in self.policy_tokens}
        return len(novel) >= MIN_NOVEL_TOKENS

    def read(self, text: str) -> Analysis:
        mapped = prepare_query(text)
        norm = mapped.text
        marks = [(h.start, section_kind(h.text, self.thesaurus.sections)) for h in headings(norm)]

        title = title_end(norm)  # the write-up's title restates the direction: not evidence

        def section(pos: int) -> str:
            if pos < title:
                return "title"
            kind = ""
            for start, k in marks:
                if start <= pos:
                    kind = k
            return kind

        units: list[Unit] = []
        for s in split_sentences(norm):
            sec = section(s.start)
            units.append(
                Unit(s.text, s.start, s.end, sec, True, is_negated(s.text), self.concrete(s.text), states_money(s.text))
            )
            parts = split_clauses(s.text)
            if len(parts) > 1:
                # a negation governs the clauses before it too (环境参数仍由原有系统负责，不接入本平台): the
                # topic comes first, what is (not) done with it after
                later = [is_negated(s.text[a:b]) for a, b in parts]
                for k in range(len(later) - 2, -1, -1):
                    later[k] = later[k] or later[k + 1]
                for (a, b), neg in zip(parts, later, strict=True):
                    if b - a >= 4:
                        c = s.text[a:b]
                        units.append(
                            Unit(c, s.start + a, s.start + b, sec, False, neg, self.concrete(c), states_money(c))
                        )
        vecs = (
            np.asarray(self.embedder.embed_queries([u.text for u in units]), dtype=np.float32)
            if units
            else np.zeros((0, self.all.shape[1]), dtype=np.float32)
        )
        unit_best = (vecs @ self.all.T).max(axis=1) if len(units) else np.zeros(0)
        # the lexical evidence of a requirement is read where the text speaks of the project: a term named only
        # in the background or in a negated clause (不接入本平台) is not evidence
        usable_bigrams: set[str] = set()
        for u in units:
            if u.usable:
                usable_bigrams |= bigrams(u.text)
        return Analysis(text, mapped, units, vecs, unit_best, extract_quantities(norm), usable_bigrams)


def claims(sims: np.ndarray) -> np.ndarray:
    """Each clause (row) shared among the requirements (columns) by a sharp softmax; per requirement the
    most any clause leans to it. A requirement some clause is clearly about (rather than about a sibling)
    is claimed; one only ever second-best to its siblings is not."""
    lean = np.exp((sims - sims.max(axis=1, keepdims=True)) / CLAIM_TEMPERATURE)
    out: np.ndarray = (lean / lean.sum(axis=1, keepdims=True)).max(axis=0)
    return out


def prototype_features(an: Analysis, arg: np.ndarray, prototypes: np.ndarray, probes: np.ndarray) -> np.ndarray:
    """The two columns learned from labelled cases (``proto_claim``, ``probe``) of a direction's
    requirements: the claim softmax over their prototypes (requirement × dim; a requirement's own vector
    when it has none), and each best evidence clause (``arg``, chosen by the requirement's own wording)
    projected on its requirement's difference vector (zeros when it has none)."""
    ev = an.evidence_index
    if len(ev) == 0:
        return np.zeros((len(prototypes), 2))
    proto_claim = claims(an.vecs[ev] @ prototypes.T)
    probe = np.einsum("ij,ij->i", an.vecs[arg].astype(np.float64), probes)
    return np.stack([proto_claim, probe], axis=1)


def capability_features(
    an: Analysis,
    reqs: list[Requirement],
    req_matrix: np.ndarray,
    lexicon: Lexicon,
    prototypes: np.ndarray | None = None,
    probes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows (``judge.CAPABILITY_FEATURES``) of a direction's requirements, and for each the index
    of its best evidence unit (−1 when the text has no evidence clause). ``prototypes`` / ``probes``: the
    learned vectors of the requirements (``prototype_features``); none: their own vectors and no probe."""
    ev = an.evidence_index
    n = len(reqs)
    if len(ev) == 0:
        return np.zeros((n, len(CAPABILITY_FEATURES))), np.full(n, -1, dtype=np.int64)
    sims = an.vecs[ev] @ req_matrix.T  # evidence units × requirements
    best = sims.max(axis=0)
    arg = ev[sims.argmax(axis=0)]
    focus = (sims - an.unit_best[ev][:, None]).max(axis=0)
    usable = an.usable_text()
    share = len(ev) / max(len(an.units), 1)
    # for each requirement: how many of the direction's requirements its best clause is closer to
    at_best = sims[sims.argmax(axis=0)]  # row j: the best clause of requirement j against all of them
    outranked = (at_best > best[:, None]).sum(axis=1)
    nearest_share = np.bincount(sims.argmax(axis=1), minlength=n) / len(ev)
    claim = claims(sims)
    learned = prototype_features(
        an,
        arg,
        req_matrix if prototypes is None else prototypes,
        np.zeros(req_matrix.shape) if probes is None else probes,
    )
    rows = []
    for j, r in enumerate(reqs):
        rb = bigrams(r.text)
        lexical = len(rb & an.usable_bigrams) / max(len(rb), 1)
        values = {
            "focus": focus[j],
            "lexical": lexical,
            "effect": float(r.section == "effect"),
            "length": an.length,
            "evidence_share": share,
            "outranked": float(outranked[j]),
            "nearest_share": float(nearest_share[j]),
            "evidence_count": math.log1p(len(ev)),
            "claim": float(claim[j]),
            "item": lexicon.item_share(r.text, usable),
            "proto_claim": learned[j, 0],
            "probe": learned[j, 1],
        }
        rows.append([float(values[f]) for f in CAPABILITY_FEATURES])
    return np.array(rows, dtype=np.float64), arg
