"""The domain thesaurus and the other safety domains, read from the packaged SKOS (``ontology/thesaurus.ttl``,
``ontology/domains.ttl``) — the checker's vocabulary is data in the graph, not word lists in code.

* means concepts: a means item of the guide (先进传感技术) is *used* when the text names the concept or any
  concept below it (传感器, 探测器, 在线分析仪 …), in Chinese or English;
* quantity roles: what a stated value measures, from the words of its clause (latency, precision, a period
  or budget, a sampling interval);
* process modes: a threshold qualified as fully automatic, and the words of a manual gate (人工确认) that a
  stated value's sentence names when a person stands in the chain it measures;
* other domains: the non-programme safety and emergency domains the matcher measures a description against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from pilotkg import iri
from pilotkg.graph import thesaurus_graph


@dataclass(frozen=True)
class Concept:
    id: str
    label_zh: str
    label_en: str
    labels: tuple[str, ...]  # every preferred and alternative label, lower-cased
    narrower: tuple[str, ...] = ()


@dataclass(frozen=True)
class Domain:
    id: str
    label_zh: str
    label_en: str
    definition: str
    category_zh: str

    @property
    def passage(self) -> str:
        return f"{self.label_zh}：{self.definition}"


@dataclass
class Thesaurus:
    concepts: dict[str, Concept]
    roles: dict[str, tuple[str, ...]]  # role id (latency, precision, period, sampling) → its words
    sections: dict[str, tuple[str, ...]]  # write-up section kind (background, construction, …) → heading words
    domains: list[Domain]
    modes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # process mode (automatic, manual) → its words
    _below: dict[str, frozenset[str]] = field(default_factory=dict)

    def below(self, concept_id: str) -> frozenset[str]:
        """The concept and every concept under it (skos:narrower, transitively)."""
        if concept_id not in self._below:
            seen: set[str] = set()
            todo = [concept_id]
            while todo:
                c = todo.pop()
                if c not in seen and c in self.concepts:
                    seen.add(c)
                    todo.extend(self.concepts[c].narrower)
            self._below[concept_id] = frozenset(seen)
        return self._below[concept_id]

    def concepts_of(self, phrase: str) -> list[str]:
        """Concepts a policy phrase names: an exact label first, else every concept whose label it contains
        (人工智能分析处理技术 → 人工智能)."""
        p = phrase.lower()
        exact = [c.id for c in self.concepts.values() if p in c.labels]
        if exact:
            return exact
        return [c.id for c in self.concepts.values() if any(len(lb) > 1 and lb in p for lb in c.labels)]

    def used(self, concept_id: str, norm_text: str) -> bool:
        """Does a lower-cased text name the concept or a narrower one?"""
        return any(mentions(lb, norm_text) for c in self.below(concept_id) for lb in self.concepts[c].labels)

    def role_words(self, role: str) -> tuple[str, ...]:
        return self.roles.get(role, ())


def mentions(label: str, norm_text: str) -> bool:
    """A Latin label must stand as a word (AR is not in 'warning'); a Chinese one as a substring."""
    if label.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(label)}(?![a-z])", norm_text) is not None
    return label in norm_text


def _lit(g: Graph, s: URIRef, p: URIRef, lang: str) -> str:
    for o in g.objects(s, p):
        if isinstance(o, Literal) and o.language == lang:
            return str(o)
    return ""


@cache
def load_thesaurus() -> Thesaurus:
    g = thesaurus_graph()
    means = URIRef(iri.iri(iri.concept("means")))
    roles_scheme = URIRef(iri.iri(iri.concept("quantity-roles")))
    sections_scheme = URIRef(iri.iri(iri.concept("writeup-sections")))
    modes_scheme = URIRef(iri.iri(iri.concept("process-modes")))
    domain_scheme = URIRef(iri.iri(iri.domain("scheme")))
    concepts: dict[str, Concept] = {}
    roles: dict[str, tuple[str, ...]] = {}
    sections: dict[str, tuple[str, ...]] = {}
    modes: dict[str, tuple[str, ...]] = {}
    domains: list[Domain] = []
    for s in sorted({n for n in g.subjects(RDF.type, SKOS.Concept) if isinstance(n, URIRef)}, key=str):
        cid = iri.gid(str(s)).split("/", 1)[1]
        labels = tuple(
            sorted({str(o).lower() for p in (SKOS.prefLabel, SKOS.altLabel) for o in g.objects(s, p)}, key=len)
        )
        if (s, SKOS.inScheme, means) in g:
            narrower = tuple(sorted(iri.gid(str(o)).split("/", 1)[1] for o in g.objects(s, SKOS.narrower)))
            concepts[cid] = Concept(
                cid, _lit(g, s, SKOS.prefLabel, "zh"), _lit(g, s, SKOS.prefLabel, "en"), labels, narrower
            )
        elif (s, SKOS.inScheme, roles_scheme) in g:
            roles[cid.removeprefix("role-")] = labels
        elif (s, SKOS.inScheme, sections_scheme) in g:
            sections[cid.removeprefix("section-")] = labels
        elif (s, SKOS.inScheme, modes_scheme) in g:
            modes[cid.removeprefix("mode-")] = labels
        elif (s, SKOS.inScheme, domain_scheme) in g and (s, SKOS.definition, None) in g:
            broader = next(iter(g.objects(s, SKOS.broader)), None)
            category = _lit(g, broader, SKOS.prefLabel, "zh") if isinstance(broader, URIRef) else ""
            domains.append(
                Domain(
                    iri.gid(str(s)),
                    _lit(g, s, SKOS.prefLabel, "zh"),
                    _lit(g, s, SKOS.prefLabel, "en"),
                    _lit(g, s, SKOS.definition, "zh"),
                    category,
                )
            )
    return Thesaurus(concepts, roles, sections, domains, modes=modes)
