"""The pilotkg vocabulary: RDF namespaces, the prefixes every serialisation binds, and the packaged
ontology and SHACL shapes (``pilotkg/ontology/*.ttl``)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from rdflib import RDF, XSD, Graph, Namespace
from rdflib.namespace import DCTERMS, ORG, OWL, PROV, RDFS, SKOS

from pilotkg import iri

PK = Namespace(iri.ONTOLOGY)
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
}
ONTOLOGY_IRI = "https://w3id.org/pilotkg/def"


def ontology_graph(name: str = "pilotkg.ttl") -> Graph:
    """A packaged ontology file: the vocabulary, or a data file such as ``action-plan-2023.ttl``."""
    return _load_packaged(name)


def shapes_graph(name: str = "shapes.ttl") -> Graph:
    """Packaged SHACL shapes: the policy shapes, or another file such as ``project-shapes.ttl``."""
    return _load_packaged(name)


@cache
def _packaged_text(name: str) -> str:
    return resources.files("pilotkg.ontology").joinpath(name).read_text(encoding="utf-8")


def _load_packaged(name: str) -> Graph:
    return Graph().parse(data=_packaged_text(name), format="turtle")
