"""Where a description goes in the 2023–2025 action plan (《安全应急装备重点领域发展行动计划（2023—2025年）》).

* In scope for 2021: the scenarios its best direction is cross-walked to (``ontology/crosswalk-2023.ttl``,
  reviewed data, not code), the most similar to the description first.
* Out of scope for 2021: the scenario *without a 2021 direction* whose description (``skos:definition``
  in ``ontology/action-plan-2023.ttl``) is nearest to the description's whole-text vector, when that
  cosine reaches :data:`FIT_CUTOFF`; scenarios that have a 2021 direction are not offered then, since
  the 2021 matcher has already said the description fits none of their directions.

The cut-off is not hand-set: ``benchmarks/calibrate_scenarios.py`` chooses it by cross-validation on
``tests/data/scenario_calibration.json`` (invented descriptions of products for the five uncovered
scenarios and of safety products that belong to none) and prints the held-out figures; a test checks
that the shipped value is the one the calibration gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field
from rdflib import RDF, Graph, URIRef
from rdflib import Literal as Lit
from rdflib.namespace import DCTERMS, SKOS
from rdflib.term import Node

from pilotkg import iri
from pilotkg.cutoffs import shipped_cutoffs
from pilotkg.graph import PK, action_plan_graph
from pilotkg.matching.base import MatchResult, ScenarioRef, ScenarioRelation
from pilotkg.policy import Corpus, prepare_query, split_sentences
from pilotkg.vectors import Embedder, IndexPoint, SparseVec, VectorIndex

# Cosine (e5 query vs passage) of the whole description with a scenario description, at or above which
# an out-of-scope description is said to fit the scenario. Chosen by cross-validation in
# `pilotkg judge calibrate` and read from its artefact (README, "Scenarios of the 2023–2025 action plan").
FIT_CUTOFF = shipped_cutoffs().scenario_fit.value

SCENARIOS = "scenarios"  # Qdrant collection: one point per scenario description (built by build_index)
COVERING: frozenset[str] = frozenset({"closeMatch", "broadMatch"})  # relations that make a 2021 direction
RELATIONS: dict[URIRef, ScenarioRelation] = {
    SKOS.closeMatch: "closeMatch",
    SKOS.relatedMatch: "relatedMatch",
    SKOS.broadMatch: "broadMatch",
}


class CrosswalkMapping(BaseModel):
    direction: int
    direction_name: str
    relation: ScenarioRelation
    note_zh: str
    note_en: str | None = None


class ScenarioInfo(BaseModel):
    id: str = Field(description="graph id, e.g. scenario/3")
    number: int
    label_zh: str
    label_en: str
    definition_zh: str = Field(description="pilotkg's description of the scenario (used for matching)")
    definition_en: str | None = None
    covered_2021: bool = Field(description="some 2021 direction has a closeMatch or broadMatch to it")
    mappings: list[CrosswalkMapping] = Field(default_factory=list)


class ActionPlan(BaseModel):
    id: str
    title_zh: str
    title_en: str | None = None
    identifier: str
    issued: str
    publishers: list[str]
    scenarios: list[ScenarioInfo]

    def for_direction(self, number: int) -> list[tuple[ScenarioInfo, CrosswalkMapping]]:
        return [(s, m) for s in self.scenarios for m in s.mappings if m.direction == number]


def _text(g: Graph, s: Node, p: URIRef, lang: str | None = None) -> str | None:
    for o in g.objects(s, p):
        if isinstance(o, Lit) and (lang is None or o.language == lang):
            return str(o)
    return None


def _ref_of(g: Graph, s: Node, p: URIRef) -> URIRef | None:
    v = g.value(s, p)
    return v if isinstance(v, URIRef) else None


def load_action_plan(corpus_dir: Path, corpus: Corpus) -> ActionPlan | None:
    """The action plan as the build puts it in the graph (same function), read back into typed form;
    None when the corpus folder has no scenario table."""
    g = action_plan_graph(corpus_dir)
    if g is None:
        return None
    doc = URIRef(iri.iri(iri.action_plan()))
    directions = {URIRef(iri.iri(iri.direction(d.number))): d for d in corpus.directions}
    scenarios = []
    for node in g.subjects(RDF.type, PK.Scenario):
        assert isinstance(node, URIRef)
        mappings = []
        for m in g.subjects(RDF.object, node):
            subject, predicate = _ref_of(g, m, RDF.subject), _ref_of(g, m, RDF.predicate)
            d = directions.get(subject) if subject is not None else None
            rel = RELATIONS.get(predicate) if predicate is not None else None
            if (m, RDF.type, PK.ScenarioMapping) in g and d is not None and rel is not None:
                mappings.append(
                    CrosswalkMapping(
                        direction=d.number,
                        direction_name=d.name,
                        relation=rel,
                        note_zh=_text(g, m, SKOS.scopeNote, "zh") or "",
                        note_en=_text(g, m, SKOS.scopeNote, "en"),
                    )
                )
        mappings.sort(key=lambda x: x.direction)
        number = int(_text(g, node, SKOS.notation) or 0)
        scenarios.append(
            ScenarioInfo(
                id=iri.gid(str(node)),
                number=number,
                label_zh=_text(g, node, SKOS.prefLabel, "zh") or "",
                label_en=_text(g, node, SKOS.prefLabel, "en") or "",
                definition_zh=_text(g, node, SKOS.definition, "zh") or "",
                definition_en=_text(g, node, SKOS.definition, "en"),
                covered_2021=any(m.relation in COVERING for m in mappings),
                mappings=mappings,
            )
        )
    scenarios.sort(key=lambda s: s.number)
    return ActionPlan(
        id=iri.action_plan(),
        title_zh=_text(g, doc, DCTERMS.title, "zh") or "",
        title_en=_text(g, doc, DCTERMS.title, "en"),
        identifier=_text(g, doc, DCTERMS.identifier) or "",
        issued=_text(g, doc, DCTERMS.issued) or "",
        publishers=sorted(
            label for org in g.objects(doc, DCTERMS.publisher) if (label := _text(g, org, SKOS.prefLabel, "zh"))
        ),
        scenarios=scenarios,
    )


@dataclass(frozen=True)
class TextVectors:
    """A description's query vectors: the whole text, and one per sentence."""

    whole: np.ndarray
    sentences: np.ndarray


def description_vectors(embedder: Embedder, text: str) -> TextVectors:
    """The vectors the matcher computes for ``text`` (same normalisation, same sentence spans, same
    one-pass call), so after a match they come from the embedder's query cache, not a second pass."""
    mapped = prepare_query(text)
    sentences = split_sentences(mapped.text)
    spans_of = getattr(embedder, "embed_query_spans", None)
    if spans_of is not None and len(sentences) > 1:
        whole, parts = spans_of(mapped.text, [(s.start, s.end) for s in sentences])
        return TextVectors(np.asarray(whole), np.asarray(parts))
    vecs = embedder.embed_queries([mapped.text, *[s.text for s in sentences]])
    return TextVectors(vecs[0], vecs[1:])


@dataclass(frozen=True)
class ScenarioNaming:
    scenarios: list[ScenarioRef]
    note_zh: str | None
    note_en: str | None


def _ref(s: ScenarioInfo, relation: ScenarioRelation, sim: float, m: CrosswalkMapping | None = None) -> ScenarioRef:
    return ScenarioRef(
        id=s.id,
        number=s.number,
        label_zh=s.label_zh,
        label_en=s.label_en,
        relation=relation,
        direction=m.direction if m else None,
        similarity=round(sim, 4),
        note_zh=m.note_zh if m else None,
        note_en=m.note_en if m else None,
    )


def _quote(names: Sequence[str], open_: str = "「", close: str = "」", sep: str = "、") -> str:
    return sep.join(f"{open_}{n}{close}" for n in names)


def index_scenarios(plan: ActionPlan, embedder: Embedder, index: VectorIndex) -> int:
    """Embed the scenario descriptions once, at build time, so a start-up reads ten vectors instead of
    running the encoder (~1 s on two busy cores). Its own collection: the policy searches never see them."""
    index.create(SCENARIOS, embedder.dim, embedder.name, recreate=True)
    vecs = embedder.embed_passages([s.definition_zh for s in plan.scenarios])
    index.upsert(
        SCENARIOS,
        [
            IndexPoint(id=s.id, kind="scenario", dense=v, sparse=SparseVec([], []), payload={"text": s.definition_zh})
            for s, v in zip(plan.scenarios, vecs, strict=True)
        ],
    )
    return len(plan.scenarios)


def scenario_vectors(plan: ActionPlan, embedder: Embedder, index: VectorIndex | None = None) -> np.ndarray:
    """The scenario descriptions' passage vectors (plan order): stored ones when the index holds them for
    exactly these descriptions (same model), else embedded now (an index built before, or edited data)."""
    if index is not None and index.exists(SCENARIOS):
        index.check_model(SCENARIOS, embedder.name, embedder.dim)
        stored = {p.id: p for p in index.get(SCENARIOS, [s.id for s in plan.scenarios], with_vectors=True)}
        rows = [stored.get(s.id) for s in plan.scenarios]
        if all(
            r is not None and r.dense is not None and r.payload.get("text") == s.definition_zh
            for r, s in zip(rows, plan.scenarios, strict=True)
        ):
            return np.stack(
                [np.asarray(r.dense, dtype=np.float32) for r in rows if r is not None and r.dense is not None]
            )
    return embedder.embed_passages([s.definition_zh for s in plan.scenarios])


class ScenarioNamer:
    """Names the action-plan scenario(s) of a matched description."""

    def __init__(self, plan: ActionPlan, vectors: np.ndarray, n_directions: int, cutoff: float = FIT_CUTOFF) -> None:
        """``vectors``: the passage vectors of the scenario descriptions, in plan order
        (:func:`scenario_vectors`)."""
        self.plan = plan
        self.cutoff = cutoff
        self.n_directions = n_directions
        self._by_number = {s.number: i for i, s in enumerate(plan.scenarios)}
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def similarities(self, vectors: TextVectors) -> np.ndarray:
        """Cosine of the whole description with each scenario's description (plan order)."""
        return np.asarray(self.vectors @ np.asarray(vectors.whole, dtype=np.float32), dtype=np.float64)

    def best_uncovered(self, vectors: TextVectors) -> tuple[ScenarioInfo, float] | None:
        sims = self.similarities(vectors)
        candidates = [(s, float(sims[i])) for i, s in enumerate(self.plan.scenarios) if not s.covered_2021]
        return max(candidates, key=lambda c: c[1]) if candidates else None

    def name(self, result: MatchResult, vectors: TextVectors) -> ScenarioNaming:
        if result.out_of_scope:
            return self._out_of_scope(vectors)
        if not result.directions:
            return ScenarioNaming([], None, None)
        return self._in_scope(result.directions[0].number, result.directions[0].name, vectors)

    def _in_scope(self, number: int, name: str, vectors: TextVectors) -> ScenarioNaming:
        sims = self.similarities(vectors)
        pairs = sorted(self.plan.for_direction(number), key=lambda p: -float(sims[self._by_number[p[0].number]]))
        refs = [_ref(s, m.relation, float(sims[self._by_number[s.number]]), m) for s, m in pairs]
        covers = [r for r in refs if r.relation in COVERING]
        related = [r for r in refs if r.relation not in COVERING]
        zh = [f"属于2021年方向{number}「{name}」"]
        en = [f"fits 2021 direction {number} ({name})"]
        if covers:
            zh.append(f"对应2023—2025年行动计划场景{_quote([r.label_zh for r in covers])}")
            en.append(
                f"part of the 2023–2025 action plan scenario {_quote([r.label_en for r in covers], '', '', ', ')}"
            )
        if related:
            zh.append(f"与场景{_quote([r.label_zh for r in related])}相关")
            en.append(f"related to the scenario {_quote([r.label_en for r in related], '', '', ', ')}")
        # The out-of-scope verdict is the matcher's and can let a description through that belongs to a
        # scenario without a 2021 direction (a household kit matched to a public-service platform). When
        # such a scenario fits (same cut-off) and is nearer than every scenario of the direction's
        # cross-walk, it is named too, after them, so the applicant sees both readings.
        best = self.best_uncovered(vectors)
        if (
            best is not None
            and best[1] >= self.cutoff
            and all(best[1] > r.similarity for r in refs)
            and best[0].number not in {r.number for r in refs}
        ):
            s, sim = best
            refs.append(_ref(s, "fits", sim))
            zh.append(f"但更接近2023—2025年行动计划中无2021年方向的场景「{s.label_zh}」")
            en.append(f"but nearer to '{s.label_en}', a 2023–2025 scenario without a 2021 direction")
        if not refs:
            return ScenarioNaming([], None, None)
        return ScenarioNaming(refs, "；".join(zh), "; ".join(en))

    def _out_of_scope(self, vectors: TextVectors) -> ScenarioNaming:
        n = self.n_directions
        best = self.best_uncovered(vectors)
        if best is None or best[1] < self.cutoff:
            return ScenarioNaming(
                [],
                f"不属于2021年{n}个方向；也未找到相符的2023—2025年行动计划场景",
                f"outside the {n} directions of 2021; no scenario of the 2023–2025 action plan fits either",
            )
        s, sim = best
        return ScenarioNaming(
            [_ref(s, "fits", sim)],
            f"不属于2021年{n}个方向；与2023—2025年行动计划场景「{s.label_zh}」相符",
            f"outside the {n} directions of 2021; fits the 2023–2025 action plan scenario '{s.label_en}'",
        )
