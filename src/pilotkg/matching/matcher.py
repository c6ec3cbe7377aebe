"""Description → the directions ranked, with a calibrated confidence, evidence, and out-of-scope.

Scores per direction (from Qdrant, joined by the direction number in the payload):

* ``whole``: cosine of the whole description with the direction's text (name + 应用成效 + 示范要求);
* ``clauses``: for each sentence of the description, its best requirement of that direction,
  averaged over sentences — what makes long, multi-topic texts rank right (against the requirement
  vectors stored in Qdrant, read once);
* ``lexical``: BM25 (jieba tokens, IDF from Qdrant) of the description against the direction text.

Each score is standardised across the directions of the query and combined with weights chosen by
cross-validation (``pilotkg judge fit``; README). e5 similarities are compressed (right ≈ 0.88, wrong ≈ 0.85),
so no fixed cosine cut-off decides out-of-scope: a logistic model (``judge.SCOPE_FEATURES``) weighs the
best direction's fit against the nearest of the *other* safety and emergency domains of
``ontology/domains.ttl`` (derived from the public 突发事件 and 安全生产 classifications), at text and at
sentence level, and at the phrase the text opens with to name its subject (its *lead*, the title);
the nearest other domain is named in every result. The whole text's fit and the lead's direction cosines
are taken against prototypes learned from labelled descriptions (``judge.DirectionPrototypes``, in the artefact).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from pilotkg import iri
from pilotkg.matching.base import DirectionScore, Evidence, MatchResult, OtherDomain
from pilotkg.matching.judge import SCOPE_FEATURES, Judgments, MatchWeights, load_judgments
from pilotkg.matching.search import POLICY, query_sparse, requirement_vectors
from pilotkg.matching.thesaurus import Domain, load_thesaurus
from pilotkg.policy import Corpus, MappedText, Sentence, Tokenizer, lead, prepare_query, split_sentences
from pilotkg.vectors import Embedder, IndexPoint, SearchRequest, SparseVec, VectorIndex

Mode = Literal["hybrid", "dense", "lexical"]

_LEXICAL_ONLY = MatchWeights(whole=0.0, clauses=0.0, lexical=1.0)


_DIR = ("direction",)  # the only payload field scoring reads


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


@dataclass
class MatchScores:
    """Everything a match decision needs from one encoder pass (what the evaluation caches per case)."""

    mapped: MappedText
    sentences: list[Sentence]
    whole: np.ndarray  # per direction: cosine of the whole text with the direction's text
    clauses: np.ndarray  # per direction: mean over sentences of their best requirement of it
    lexical: np.ndarray  # per direction: BM25
    clause_best: np.ndarray  # sentences × directions
    domain_whole: np.ndarray  # per other domain: cosine with the whole text
    sentence_margin: np.ndarray  # per sentence: best requirement anywhere − nearest other domain
    lead: np.ndarray  # per direction: cosine of the lead (title) phrase with the direction's text
    lead_margin: float = 0.0  # the lead phrase: best direction's cosine − nearest other domain's
    # the whole text's and the lead's vectors, to score them against learned prototypes
    vec_whole: np.ndarray | None = None
    vec_lead: np.ndarray | None = None
    prototype_margin: float | None = None  # set by ``with_prototypes``

    def with_prototypes(self, directions: np.ndarray, domains: np.ndarray) -> MatchScores:
        """These scores against learned prototypes (``judge.DirectionPrototypes``: unit rows): the lead's direction
        cosines (for the fusion), and the whole text's fit for scope — best direction prototype's cosine −
        the nearest other domain prototype's."""
        if self.vec_whole is None:
            return self
        margin = float((directions @ self.vec_whole).max() - (domains @ self.vec_whole).max())
        lead = self.lead if self.vec_lead is None else directions @ self.vec_lead
        return replace(self, lead=lead, prototype_margin=margin)

    def fused(self, w: MatchWeights) -> np.ndarray:
        fused = w.whole * _z(self.whole) + w.clauses * _z(self.clauses) + w.lexical * _z(self.lexical)
        return fused + w.lead * _z(self.lead) if w.lead else fused

    def scope_features(self, w: MatchWeights) -> np.ndarray:
        """``judge.SCOPE_FEATURES`` of the text, for the direction the weights rank first."""
        j = int(np.argmax(self.fused(w)))
        sm = self.sentence_margin
        nearest = float(self.domain_whole.max()) if len(self.domain_whole) else 0.0
        fused = np.sort(self.fused(w))
        values = {
            # without prototypes (an artefact fitted without descriptions), the guide's own vectors
            "margin_prototypes": (
                float(self.whole.max()) - nearest if self.prototype_margin is None else self.prototype_margin
            ),
            "margin_clauses": float(sm.mean()) if len(sm) else 0.0,
            "fit_clauses": float(self.clauses[j]),
            "whole": float(self.whole.max()),
            "min_margin_sentence": float(sm.min()) if len(sm) else 0.0,
            "share_other_sentences": float((sm < 0).mean()) if len(sm) else 0.0,
            "lexical": float(self.lexical.max()),
            "gap": float(fused[-1] - fused[-2]) if len(fused) > 1 else 0.0,
            "other_top3": float(np.sort(self.domain_whole)[-3:].mean()) if len(self.domain_whole) else 0.0,
            "lead_margin": self.lead_margin,
        }
        return np.array([values[f] for f in SCOPE_FEATURES])


class Matcher:
    def __init__(
        self,
        corpus: Corpus,
        embedder: Embedder,
        index: VectorIndex,
        tokenizer: Tokenizer,
        *,
        vectors: dict[str, np.ndarray] | None = None,
        judgments: Judgments | None = None,
    ) -> None:
        """``vectors``: the stored requirement vectors by requirement id, when the caller already read
        them (default: read from the index). ``judgments``: the fitted weights (default: the shipped ones)."""
        self.corpus = corpus
        self.embedder = embedder
        self.index = index
        self.tokenizer = tokenizer
        self._judgments = judgments
        self.numbers = [d.number for d in corpus.directions]
        self._pos = {n: i for i, n in enumerate(self.numbers)}
        self._groups = {g.number: g.name for g in corpus.groups}
        # Every sentence is scored against every requirement (the best one per direction counts), an
        # exhaustive product rather than a nearest-neighbour query: the stored requirement vectors are
        # read from the index once, and one matrix product replaces returning all of them per sentence.
        stored = vectors if vectors is not None else requirement_vectors(index, corpus)
        reqs = [r for r in corpus.requirements if r.id in stored]
        self._req_matrix = (
            np.stack([stored[r.id] for r in reqs]).astype(np.float32) if reqs else np.zeros((0, embedder.dim))
        )
        self._req_direction = np.array([self._pos[r.direction] for r in reqs], dtype=np.int64)
        self.domains: list[Domain] = load_thesaurus().domains
        self._domain_matrix = self._domain_vectors()

    @property
    def judgments(self) -> Judgments:
        if self._judgments is None:
            self._judgments = load_judgments()
        return self._judgments

    @staticmethod
    def anchor_points(embedder: Embedder) -> list[IndexPoint]:
        """The other safety domains as index points (their ids are the domains' graph ids)."""
        domains = load_thesaurus().domains
        vecs = embedder.embed_passages([d.passage for d in domains])
        return [
            IndexPoint(id=d.id, kind="anchor", dense=v, sparse=SparseVec([], []), payload={"text": d.passage})
            for d, v in zip(domains, vecs, strict=True)
        ]

    def _domain_vectors(self) -> np.ndarray:
        """Read from the index (built by ``pilotkg build``); domains it lacks are embedded here."""
        ids = [d.id for d in self.domains]
        got = self._stored(ids)
        missing = [d for d in self.domains if d.id not in got]
        if missing:
            for d, v in zip(missing, self.embedder.embed_passages([d.passage for d in missing]), strict=True):
                got[d.id] = np.asarray(v, dtype=np.float32)
        return np.stack([np.asarray(got[i], dtype=np.float32) for i in ids])

    def base_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """What the learned prototypes start from (``pilotkg judge fit``): the directions' stored passage
        vectors (``self.numbers`` order) and the other domains' (``self.domains`` order), unit rows."""
        ids = [iri.direction(n) for n in self.numbers]
        got = self._stored(ids)
        return np.stack([np.asarray(got[i], dtype=np.float32) for i in ids]), self._domain_matrix

    def _stored(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The dense vectors the index holds for these policy points (absent ones left out)."""
        return {p.id: p.dense for p in self.index.get(POLICY, ids, with_vectors=True) if p.dense is not None}

    def scores(self, text: str) -> MatchScores:
        mapped = prepare_query(text)
        sentences = split_sentences(mapped.text)
        n = len(self.numbers)
        spans_of = getattr(self.embedder, "embed_query_spans", None)
        if spans_of is not None and len(sentences) > 1:
            whole_v, sent_v = spans_of(mapped.text, [(s.start, s.end) for s in sentences])
        else:
            vecs = self.embedder.embed_queries([mapped.text, *[s.text for s in sentences]])
            whole_v, sent_v = vecs[0], vecs[1:]
        sparse = query_sparse(self.tokenizer, mapped.text)
        # The subject a text names first (its title) is encoded on its own: a long text's whole vector
        # blends its subject with the safety vocabulary every description shares.
        lead_v = np.asarray(self.embedder.embed_queries([lead(mapped.text) or mapped.text])[0], dtype=np.float32)
        # One engine call: the whole text, the lexical query (empty when no term is known) and the lead.
        results = self.index.search_batch(
            POLICY,
            [
                SearchRequest(dense=whole_v, mode="dense", limit=n, filters={"kind": "direction"}, fields=_DIR),
                SearchRequest(sparse=sparse, mode="sparse", limit=n, filters={"kind": "direction"}, fields=_DIR),
                SearchRequest(dense=lead_v, mode="dense", limit=n, filters={"kind": "direction"}, fields=_DIR),
            ],
        )
        whole, lexical, lead_dir = np.zeros(n), np.zeros(n), np.zeros(n)
        for h in results[2]:
            lead_dir[self._pos[int(h.payload["direction"])]] = h.score
        for h in results[0]:
            whole[self._pos[int(h.payload["direction"])]] = h.score
        for h in results[1]:
            lexical[self._pos[int(h.payload["direction"])]] = h.score
        sent_m = np.asarray(sent_v, dtype=np.float32).reshape(len(sentences), -1)
        # Best requirement of each direction per sentence (cosine of unit vectors; floor 0 as before).
        clause_best = np.zeros((len(sentences), n))
        margin = np.zeros(len(sentences))
        if len(sentences) and len(self._req_matrix):
            sims = sent_m @ self._req_matrix.T
            for si in range(len(sentences)):
                np.maximum.at(clause_best[si], self._req_direction, sims[si])
            margin = sims.max(axis=1) - (sent_m @ self._domain_matrix.T).max(axis=1)
        clauses = clause_best.mean(axis=0) if len(sentences) else whole.copy()
        domain_whole = self._domain_matrix @ np.asarray(whole_v, dtype=np.float32)
        lead_margin = float(lead_dir.max() - (self._domain_matrix @ lead_v).max()) if len(self._domain_matrix) else 0.0
        return MatchScores(
            mapped,
            sentences,
            whole,
            clauses,
            lexical,
            clause_best,
            domain_whole,
            margin,
            lead_dir,
            lead_margin,
            vec_whole=np.asarray(whole_v, dtype=np.float32),
            vec_lead=lead_v,
        )

    def match(self, text: str, top: int = 3, mode: Mode = "hybrid") -> MatchResult:
        return self.decide(self.scores(text), top=top, mode=mode)

    def decide(
        self, ms: MatchScores, top: int = 3, mode: Mode = "hybrid", judgments: Judgments | None = None
    ) -> MatchResult:
        j = judgments or self.judgments
        dp = j.direction_prototypes
        if dp is not None and j.prototypes_fit(self.embedder.name):
            ms = ms.with_prototypes(*dp.matrices())
        w = {"hybrid": j.match, "dense": j.match.model_copy(update={"lexical": 0.0}), "lexical": _LEXICAL_ONLY}[mode]
        fused = ms.fused(w)
        probs = np.exp((fused - fused.max()) / j.match.temperature)
        probs /= probs.sum()
        if mode == "lexical":
            p_in = 1.0 if ms.lexical.max() > 0 else 0.0
        else:
            p_in = float(j.scope.prob(ms.scope_features(j.match))[0])
        order = np.argsort(-fused, kind="stable")
        directions = []
        for k in order[: max(top, 1)]:
            d = self.corpus.directions[k]
            directions.append(
                DirectionScore(
                    number=d.number,
                    name=d.name,
                    group=self._groups.get(d.group, ""),
                    score=round(float(probs[k] * p_in), 4),
                    similarity=round(float(fused[k]), 4),
                    evidence=self._evidence(ms.mapped, ms.sentences, ms.clause_best[:, k]),
                )
            )
        nearest = int(np.argmax(ms.domain_whole))
        dom = self.domains[nearest]
        return MatchResult(
            out_of_scope=p_in < j.scope_cut,
            in_scope_probability=round(p_in, 4),
            confidence=directions[0].score,
            directions=directions,
            nearest_domain=OtherDomain(
                id=dom.id,
                label_zh=dom.label_zh,
                label_en=dom.label_en,
                similarity=round(float(ms.domain_whole[nearest]), 4),
            ),
        )

    @staticmethod
    def _evidence(mapped: MappedText, sentences: list[Sentence], scores: np.ndarray, k: int = 2) -> list[Evidence]:
        out = []
        for i in np.argsort(-scores)[:k]:
            s = sentences[int(i)]
            start, end = mapped.span(s.start, s.end)
            out.append(Evidence(text=s.text, start=start, end=end, score=round(float(scores[int(i)]), 4)))
        return out
