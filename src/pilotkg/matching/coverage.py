"""Which of a direction's requirements a description addresses, misses or fails — with a calibrated confidence.

* capabilities: a logistic model over the features of ``matching.features`` (fitted and cross-validated by
  ``pilotkg judge fit`` / ``pilotkg eval --cv``, shipped in ``judgments.json``); only clauses about the
  project count as evidence, and near the cut-off the answer is ``uncertain``;
* means: which listed technologies the text uses, the concept or a narrower one of the packaged thesaurus;
* thresholds: stated values of the threshold's dimension that measure what it measures (the role of the
  value, read from its clause: an event-to-alarm latency, a precision — never a trial, service or
  construction period, a sampling interval or a budget), compared with the threshold read from the corpus;
  a threshold qualified as fully automatic is violated by a value whose sentence names a manual gate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pilotkg.matching.base import CoverageReport, Evidence, RequirementCheck, Status
from pilotkg.matching.features import Analysis, Reader, capability_features, prototype_features
from pilotkg.matching.judge import CAPABILITY_FEATURES, Judgments, Prototype, load_judgments
from pilotkg.matching.search import passage_text
from pilotkg.matching.thesaurus import Thesaurus, load_thesaurus
from pilotkg.policy import (
    Corpus,
    Quantity,
    Requirement,
    Tokenizer,
    compare,
    is_prior_value,
    measures_event_interval,
    nearest_word,
    sentence_names,
)
from pilotkg.vectors import Embedder

# A text with no clause about the project misses every capability; this is the confidence shown then
# (not fitted: one significant digit, below the fitted model's typical confidence for a clear missing).
NO_EVIDENCE_CONFIDENCE = 0.9
# Evidence for a row is the best clause unless another clause, not yet shown for a row, is this close.
DISTINCT_EVIDENCE_SLACK = 0.01


@dataclass
class ThresholdVerdict:
    status: Status
    stated: Quantity | None


class CoverageChecker:
    def __init__(
        self,
        corpus: Corpus,
        embedder: Embedder,
        tokenizer: Tokenizer,
        vectors: dict[str, np.ndarray] | None = None,
        judgments: Judgments | None = None,
        thesaurus: Thesaurus | None = None,
    ) -> None:
        """``vectors`` (requirement id → passage vector) saves re-embedding what the index holds."""
        self.corpus = corpus
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.thesaurus = thesaurus or load_thesaurus()
        self._judgments = judgments
        reqs = corpus.requirements
        if vectors is None or any(r.id not in vectors for r in reqs):
            names = {d.number: d.name for d in corpus.directions}
            vecs = embedder.embed_passages([passage_text(names[r.direction], r.text) for r in reqs])
            vectors = {r.id: v for r, v in zip(reqs, vecs, strict=True)}
        self._vec = {r.id: np.asarray(vectors[r.id], dtype=np.float32) for r in reqs}
        self._all = np.stack([self._vec[r.id] for r in reqs])
        self.reader = Reader(corpus, embedder, tokenizer, self.thesaurus, self._all)
        self._roles = {r.id: self._role_of(r) for r in reqs if r.kind == "threshold"}
        automatic = self.thesaurus.modes.get("automatic", ())
        # thresholds qualified as fully automatic (实现全自动秒级地震预警): a manual gate fails them
        self._automatic = {r.id for r in reqs if r.kind == "threshold" and any(w in r.text.lower() for w in automatic)}

    @property
    def judgments(self) -> Judgments:
        if self._judgments is None:
            self._judgments = load_judgments()
        return self._judgments

    def check(self, text: str, direction: int) -> CoverageReport:
        return self.report(self.reader.read(text), direction)

    # --- the pieces the evaluation also uses (features are computed once per case) ---

    def capabilities(self, direction: int) -> list[Requirement]:
        return [r for r in self.corpus.direction(direction).requirements if r.kind not in ("means", "threshold")]

    def features(
        self, an: Analysis, direction: int, prototypes: Mapping[str, Prototype] | None = None
    ) -> tuple[list[Requirement], np.ndarray, np.ndarray]:
        """The capability requirements of the direction, their feature rows and best evidence units;
        ``prototypes``: the learned ones (default: the judgments')."""
        reqs = self.capabilities(direction)
        if not reqs:
            return reqs, np.zeros((0, len(CAPABILITY_FEATURES))), np.zeros(0, dtype=np.int64)
        matrix = np.stack([self._vec[r.id] for r in reqs])
        learned, probes = self.prototype_matrices(
            reqs, self.prototypes_of(self.judgments) if prototypes is None else prototypes
        )
        x, arg = capability_features(an, reqs, matrix, self.reader.lexicon, learned, probes)
        return reqs, x, arg

    def prototypes_of(self, j: Judgments) -> Mapping[str, Prototype]:
        """The judgments' prototypes when they live in this checker's encoder (``Judgments.prototypes_fit``)."""
        return j.prototypes if j.prototypes_fit(self.embedder.name) else {}

    def learned_features(
        self, an: Analysis, reqs: list[Requirement], arg: np.ndarray, prototypes: Mapping[str, Prototype]
    ) -> np.ndarray:
        """The ``proto_claim`` and ``probe`` columns alone (``features`` computes them with the rest)."""
        return prototype_features(an, arg, *self.prototype_matrices(reqs, prototypes))

    def requirement_vector(self, rid: str) -> np.ndarray:
        return self._vec[rid]

    def prototype_matrices(
        self, reqs: list[Requirement], prototypes: Mapping[str, Prototype]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the requirements' prototypes (their own vector when they have none) and difference vectors
        (zeros when none)."""
        dim = self._all.shape[1]
        zero = np.zeros(dim)
        learned = np.stack(
            [np.asarray(prototypes[r.id].vector) if r.id in prototypes else self._vec[r.id] for r in reqs]
        )
        probes = np.stack(
            [
                np.asarray(prototypes[r.id].probe) if r.id in prototypes and prototypes[r.id].probe else zero
                for r in reqs
            ]
        )
        return learned, probes

    def means_used(self, an: Analysis, r: Requirement) -> list[str]:
        usable = an.usable_text()
        return [m for m in r.means if any(self.thesaurus.used(c, usable) for c in self.thesaurus.concepts_of(m))]

    def threshold(self, an: Analysis, r: Requirement) -> ThresholdVerdict:
        """The worst stated value that measures what the threshold measures decides."""
        q_req = r.quantity
        if q_req is None:
            return ThresholdVerdict("uncertain", None)
        text = an.mapped.text
        role = self._roles.get(r.id)
        linked = []
        for q in an.quantities:
            if q.dimension != q_req.dimension or is_prior_value(text, q):
                continue
            if an.section_at(q.start) in ("background", "limitations"):
                continue  # the state before the project, or what it does not do
            q_role = nearest_word(text, q, self.thesaurus.roles)
            if q_role is None and measures_event_interval(text, q):
                q_role = "latency"  # 从火情出现到…… / 震后8—10分钟: an event-to-response interval without the words
            if role is not None and q_role == role:
                linked.append(q)
        if not linked:
            return ThresholdVerdict("missing", None)
        manual = self.thesaurus.modes.get("manual", ()) if r.id in self._automatic else ()
        verdicts = [("violated" if sentence_names(text, q, manual) else compare(q_req, q), q) for q in linked]
        order = {"violated": 0, "unknown": 1, "satisfied": 2}
        verdict, q = min(verdicts, key=lambda vq: order[vq[0]])
        statuses: dict[str, Status] = {"violated": "violated", "unknown": "uncertain", "satisfied": "addressed"}
        return ThresholdVerdict(statuses[verdict], q)

    def _role_of(self, r: Requirement) -> str | None:
        """What a threshold measures, from the role words its own text uses (报警响应时间 → latency)."""
        if r.quantity is None:
            return None
        return nearest_word(r.text, r.quantity, self.thesaurus.roles)

    # --- the report ---

    def report(self, an: Analysis, direction: int, judgments: Judgments | None = None) -> CoverageReport:
        d = self.corpus.direction(direction)
        j = judgments or self.judgments
        reqs, x, arg = self.features(an, direction, self.prototypes_of(j))
        probs = j.capability.prob(x) if len(reqs) else np.zeros(0)
        has_evidence = len(an.evidence_index) > 0
        shown = self._distinct_evidence(an, reqs, arg, probs) if has_evidence else {}
        checks: dict[str, RequirementCheck] = {}
        for r, p in zip(reqs, probs, strict=True):
            base = {"id": r.id, "text": r.span.text, "kind": r.kind, "section": r.section}
            if not has_evidence:
                checks[r.id] = RequirementCheck(**base, status="missing", score=0.0, confidence=NO_EVIDENCE_CONFIDENCE)
                continue
            status, conf = j.capability_status(float(p))
            ev = self._evidence(an, shown.get(r.id, -1)) if status != "missing" else []
            checks[r.id] = RequirementCheck(
                **base,
                status=status,
                score=round(float(p), 4),
                confidence=round(conf, 4),
                evidence=ev,
            )
        for r in d.requirements:
            base = {"id": r.id, "text": r.span.text, "kind": r.kind, "section": r.section}
            if r.kind == "means":
                used = self.means_used(an, r)
                st: Status = "addressed" if used else "missing"
                unit = self._means_unit(an, used)
                checks[r.id] = RequirementCheck(
                    **base,
                    status=st,
                    score=round(len(used) / max(len(r.means), 1), 4),
                    confidence=j.means_confidence.get(st, 1.0),
                    means_used=used,
                    means_listed=list(r.means),
                    evidence=self._evidence(an, unit) if used else [],
                )
            elif r.kind == "threshold":
                v = self.threshold(an, r)
                ev = []
                if v.stated is not None:
                    s, e = an.mapped.span(v.stated.start, v.stated.end)
                    ev = [Evidence(text=an.original[s:e], start=s, end=e, score=1.0)]
                checks[r.id] = RequirementCheck(
                    **base,
                    status=v.status,
                    score=1.0 if v.stated is not None else 0.0,
                    confidence=j.threshold_confidence.get(v.status, 1.0),
                    evidence=ev,
                    required=r.quantity.describe_zh() if r.quantity else None,
                    stated=v.stated.text if v.stated else None,
                )
        ordered = [checks[r.id] for r in d.requirements]
        counts = {
            s: sum(1 for c in ordered if c.status == s) for s in ("addressed", "missing", "violated", "uncertain")
        }
        return CoverageReport(direction=d.number, direction_name=d.name, requirements=ordered, counts=counts)

    def _distinct_evidence(
        self, an: Analysis, reqs: list[Requirement], arg: np.ndarray, probs: np.ndarray
    ) -> dict[str, int]:
        """Each row's evidence clause: its best, unless an unshown clause is nearly as good (rows with the
        highest probability choose first), so one title-like clause is not cited everywhere."""
        ev = an.evidence_index
        taken: set[int] = set()
        out: dict[str, int] = {}
        for k in np.argsort(-probs):
            r = reqs[int(k)]
            sims = an.vecs[ev] @ self._vec[r.id]
            order = np.argsort(-sims)
            best = float(sims[order[0]])
            pick = int(arg[int(k)])
            for o in order:
                if best - float(sims[o]) > DISTINCT_EVIDENCE_SLACK:
                    break
                if int(ev[o]) not in taken:
                    pick = int(ev[o])
                    break
            taken.add(pick)
            out[r.id] = pick
        return out

    def _means_unit(self, an: Analysis, used: list[str]) -> int:
        for i, u in enumerate(an.units):
            if u.usable and any(
                self.thesaurus.used(c, u.text.lower()) for m in used for c in self.thesaurus.concepts_of(m)
            ):
                return i
        return -1

    @staticmethod
    def _evidence(an: Analysis, i: int) -> list[Evidence]:
        if i < 0:
            return []
        u = an.units[i]
        s, e = an.mapped.span(u.start, u.end)
        sim = float(an.unit_best[i])
        return [Evidence(text=an.original[s:e], start=s, end=e, score=round(sim, 4))]
