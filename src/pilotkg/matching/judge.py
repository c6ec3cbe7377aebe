"""The fitted judgments: small logistic models over principled features, fitted from labelled cases by
``pilotkg judge fit`` and shipped as a versioned artefact (``judgments.json``) with the digest of the data,
the cross-validated figures and the date. The product reads the artefact, never the labelled cases.

* ``capability``: P(a capability requirement is addressed | its features) — see ``CAPABILITY_FEATURES``;
* ``scope``: P(a description fits the programme | its features) — see ``SCOPE_FEATURES``.

A probability within ``band`` of the cut-off is reported as ``uncertain``; the confidence shown with a
status is the model's probability of that status (for the rule-based kinds, which fit nothing, the rule's
precision for that status on the fitting cases, with a +1/+2 prior).
"""

from __future__ import annotations

import re
from functools import cache, cached_property
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from pilotkg.errors import InputError
from pilotkg.files import read_artefact
from pilotkg.matching.base import Status

ARTEFACT = "judgments.json"
# 2: capability "claim"/"item" in, "thesaurus" out; 3: the lead phrase in matching and scope;
# 4: capability "sim", "support", "z", "above_text" out; 5: requirement prototypes, "proto_claim" and "probe" in;
# 6: direction and other-domain prototypes, scope "margin_prototypes" for "margin_whole"
ARTEFACT_VERSION = 6

# Features of one capability requirement against a description (matching.features computes them):
# (the raw best cosine, the mean of the two best, its z-score among the direction's requirements and its
# height above the text's mean were dropped in version 4: without them key accuracy by grouped 5-fold CV over
# ten fold seeds is 0.818 against 0.812 — they restate "focus" and "claim" and add variance)
CAPABILITY_FEATURES: tuple[str, ...] = (
    "focus",  # best (cosine − that clause's best cosine with any requirement of the guide): ≤ 0
    "lexical",  # share of the requirement's character bigrams found in the text's usable units
    "effect",  # the requirement is an 应用成效 (effect) rather than a 示范要求 (demand) (1/0)
    "length",  # log10 of the description's length in characters
    "evidence_share",  # share of the text's clauses that count as evidence (concrete, not negated, not background)
    "outranked",  # requirements of the direction the best clause is closer to than to this one
    "nearest_share",  # share of the evidence clauses whose nearest requirement of the direction is this one
    "evidence_count",  # log(1 + evidence clauses): the more clauses, the higher the best cosine by chance
    "claim",  # the most any evidence clause leans to this requirement rather than the direction's others
    "item",  # IDF-weighted share of the words of the requirement's best-named listed item found in the text
    "proto_claim",  # "claim" against the requirements' learned prototypes (``Prototype.vector``) instead
    "probe",  # the best evidence clause · the requirement's learned difference vector (``Prototype.probe``)
)
# Features of a description for the scope decision (matching.matcher computes them):
SCOPE_FEATURES: tuple[str, ...] = (
    "margin_prototypes",  # whole text: best direction prototype's cosine − the nearest other domain prototype's
    "margin_clauses",  # mean over sentences of (best requirement anywhere − nearest other domain)
    "fit_clauses",  # mean over sentences of their best requirement of the best direction
    "whole",  # best direction's whole-text cosine
    "min_margin_sentence",  # the sentence leaning most to another domain: its margin
    "share_other_sentences",  # share of sentences nearer another domain than any requirement
    "lexical",  # best direction-level BM25 of the text
    "gap",  # fused score of the best direction − the second's
    "other_top3",  # mean cosine of the three nearest other domains
    "lead_margin",  # the text's lead (title) phrase: best direction's cosine − the nearest other domain's
)


class Logistic(BaseModel):
    """A standardised logistic model: p = σ(intercept + Σ coef · (x − mean) / scale)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def prob(self, x: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(x) - np.array(self.mean)) / np.array(self.scale)
        p: np.ndarray = 1.0 / (1.0 + np.exp(-(z @ np.array(self.coef) + self.intercept)))
        return p


def fit_logistic(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], l2: float = 1.0) -> Logistic:
    """L2-penalised logistic regression by Newton's method (no intercept penalty)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        grad = z.T @ (p - y) + penalty * w
        hess = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return Logistic(
        features=list(features),
        mean=[float(v) for v in mean],
        scale=[float(v) for v in scale],
        coef=[float(v) for v in w[1:]],
        intercept=float(w[0]),
    )


class MatchWeights(BaseModel):
    whole: float = 1.0
    clauses: float = 0.5
    lexical: float = 0.1
    lead: float = 0.0  # the lead (title) phrase's cosine with each direction (z-scored)
    temperature: float = 0.5


class Prototype(BaseModel):
    """What the labelled cases taught about one capability requirement (Rocchio relevance feedback): its
    vector moved towards the clauses of the descriptions that address it, and the difference between those
    clauses and the ones of the descriptions that miss it. A requirement without one keeps its own wording."""

    vector: list[float] = Field(description="normalise(q + β · n/(n+1) · mean best clause of addressing cases)")
    probe: list[float] = Field(
        default_factory=list, description="shrunk mean addressing − mean missing clause ([] if a side is empty)"
    )


class DirectionPrototypes(BaseModel):
    """Rocchio prototypes of the directions and the other domains, learned from the labelled descriptions: a
    direction is its guide text's vector plus ``weight`` × the mean vector of the descriptions labelled with
    it, an other domain its passage's vector plus ``weight`` × the mean of the out-of-scope descriptions
    nearest to it (unit rows; 4 decimals). A description's wording differs from the guide's; they carry both."""

    weight: float
    directions: list[list[float]] = Field(description="one unit row per direction, in corpus order")
    domains: list[list[float]] = Field(description="one unit row per other domain, in ontology/domains.ttl order")

    @cached_property
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        # built once per artefact (a cached property is not a field: equality and dumps ignore it)
        return np.array(self.directions, dtype=np.float32), np.array(self.domains, dtype=np.float32)

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """(directions × dim, domains × dim) as arrays."""
        return self._arrays


class Judgments(BaseModel):
    version: int = ARTEFACT_VERSION
    created: str = Field(description="date the artefact was fitted")
    data: dict[str, str] = Field(default_factory=dict, description="labelled file → sha256 of its bytes")
    cases: int = 0
    capability: Logistic
    capability_cut: float = Field(0.5, description="P(addressed) at or above which a capability is addressed")
    band: float = Field(0.1, description="|p − cut| below this → uncertain")
    scope: Logistic
    scope_cut: float = Field(0.5, description="P(in scope) below this → out of scope")
    match: MatchWeights = Field(default_factory=MatchWeights)
    prototype_beta: float = Field(0.0, description="β of the prototypes, chosen by the fitting cases")
    prototype_model: str = Field(
        "", description="the encoder both kinds of prototypes live in (a product on another encoder ignores them)"
    )
    prototypes: dict[str, Prototype] = Field(default_factory=dict, description="capability requirement id → prototype")
    direction_prototypes: DirectionPrototypes | None = Field(
        None, description="None: the guide's and the domains' own vectors"
    )
    # P(status is right | the rule said status) on the fitting cases, for the rule-based kinds
    means_confidence: dict[str, float] = Field(default_factory=dict)
    threshold_confidence: dict[str, float] = Field(default_factory=dict)
    cv: dict[str, dict[str, float]] = Field(default_factory=dict, description="cross-validated figures")

    def to_json(self) -> str:
        """The artefact's text: indented, but each list of numbers on one line (the prototypes are 384 each)."""
        text = self.model_dump_json(indent=1)
        text = re.sub(r"\[\n\s+(?=-?\d)", "[", text)
        text = re.sub(r",\n\s+(?=-?\d)", ",", text)
        return re.sub(r"(?<=\d)\n\s+\]", "]", text) + "\n"

    def prototypes_fit(self, encoder: str) -> bool:
        """Whether the prototypes are vectors of ``encoder``: another encoder's texts (a test's hash encoder, a
        lighter model) are read against the guide's and the domains' own vectors instead of mixing spaces."""
        return self.prototype_model == encoder

    def capability_status(self, p: float) -> tuple[Status, float]:
        """(status, confidence) for P(addressed) = p."""
        if abs(p - self.capability_cut) < self.band:
            return "uncertain", max(p, 1 - p)
        return ("addressed", p) if p >= self.capability_cut else ("missing", 1 - p)


def artefact_path() -> Path:
    """Where the shipped artefact lives in the installed package (``pilotkg judge fit`` writes it)."""
    return Path(__file__).with_name(ARTEFACT)


@cache
def load_judgments() -> Judgments:
    """The shipped artefact (``pilotkg/matching/judgments.json``)."""
    j = read_artefact(
        "pilotkg.matching",
        ARTEFACT,
        Judgments,
        version=ARTEFACT_VERSION,
        command="pilotkg judge fit",
        what=("fitted judgments", "判定模型"),
    )
    if j.capability.features != list(CAPABILITY_FEATURES) or j.scope.features != list(SCOPE_FEATURES):
        raise InputError(
            "the judgments artefact was fitted on other features; run `pilotkg judge fit`",
            "判定模型文件的特征与当前版本不符；请运行 `pilotkg judge fit`",
            where=ARTEFACT,
        )
    return j
