"""The pilotkg vocabulary: RDF namespaces, the prefixes every serialisation binds, and the packaged
ontology and SHACL shapes (``pilotkg/ontology/*.ttl``)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from rdflib import RDF, XSD, Graph, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, OWL, PROV, RDFS, SKOS

from pilotkg import iri

PK = Namespace(iri.ONTOLOGY)
PKSH = Namespace(iri.SHAPES)
ELI = Namespace("http://data.europa.eu/eli/ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
UNIT = Namespace("http://qudt.org/vocab/unit/")
ID = Namespace(iri.ID)

PREFIXES: dict[str, str] = {
    "pk": iri.ONTOLOGY,
    "id": iri.ID,
    "eli": str(ELI),
    "dcterms": str(DCTERMS),
    "skos": str(SKOS),
    "prov": str(PROV),
    "org": str(ORG),
    "oa": str(OA),
    "vcard": str(VCARD),
    "unit": str(UNIT),
    "owl": str(OWL),
    "rdfs": str(RDFS),
    "rdf": str(RDF),
    "xsd": str(XSD),
    "void": "http://rdfs.org/ns/void#",
    "dcat": str(DCAT),
    "foaf": str(FOAF),
}
ONTOLOGY_IRI = iri.ONTOLOGY.rstrip("#")


def ontology_graph(name: str = "pilotkg.ttl") -> Graph:
    """A packaged ontology file: the vocabulary, or a data file such as ``action-plan-2023.ttl``."""
    return _load_packaged(name)


def thesaurus_graph() -> Graph:
    """The domain thesaurus (means, quantity roles, write-up sections) and the other safety domains, as SKOS."""
    g = Graph()
    for name in ("thesaurus.ttl", "domains.ttl"):  # relative IRIs, resolved under the resource base
        g.parse(data=_packaged_text(name), format="turtle", publicID=iri.ID)
    return g


def shapes_graph(name: str = "shapes.ttl") -> Graph:
    """Packaged SHACL shapes: the policy shapes, or another file such as ``project-shapes.ttl``."""
    return _load_packaged(name)


def english_labels_graph() -> Graph:
    """English labels written for the 2021 policy (``labels-en.ttl``), with the Chinese label each one
    translates; relative IRIs resolved under ``iri.ID``."""
    return Graph().parse(data=_packaged_text("labels-en.ttl"), format="turtle", publicID=iri.ID)


@cache
def _standard_superclasses() -> dict[URIRef, tuple[URIRef, ...]]:
    onto = ontology_graph()
    out: dict[URIRef, tuple[URIRef, ...]] = {}
    for cls in set(onto.subjects(RDFS.subClassOf, None)):
        if not isinstance(cls, URIRef) or not str(cls).startswith(iri.ONTOLOGY):
            continue
        supers = {c for c in onto.transitive_objects(cls, RDFS.subClassOf) if isinstance(c, URIRef)}
        out[cls] = tuple(sorted(c for c in supers if not str(c).startswith(iri.ONTOLOGY)))
    return out


def add_standard_types(g: Graph) -> None:
    """Type every instance of a pilotkg class with the standard classes it specialises (pk:Article →
    eli:LegalResourceSubdivision, prov:Entity), so queries for eli:LegalResource, prov:Entity or
    prov:Activity answer without RDFS inference."""
    supers = _standard_superclasses()
    for s, cls in list(g.subject_objects(RDF.type)):
        for sup in supers.get(cls, ()):  # type: ignore[call-overload]
            g.add((s, RDF.type, sup))


def regions_graph() -> Graph:
    """Province-level divisions (``regions.ttl``), its relative IRIs resolved under ``iri.ID``."""
    return Graph().parse(data=_packaged_text("regions.ttl"), format="turtle", publicID=iri.ID)


@cache
def _packaged_text(name: str) -> str:
    return resources.files("pilotkg.ontology").joinpath(name).read_text(encoding="utf-8")


def _load_packaged(name: str) -> Graph:
    return Graph().parse(data=_packaged_text(name), format="turtle")
