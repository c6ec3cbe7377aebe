"""Linked-data conventions: the dataset's VoID + DCAT description, the JSON-LD ``@context``, RDF
serialisations by media type, and the description of one resource for ``/id/…`` resolution.

* **VoID + DCAT.** :func:`describe_dataset` adds a ``void:Dataset`` / ``dcat:Dataset`` to the policy
  graph at build time (title, licence, publisher, triple count, example resources, SPARQL endpoint,
  dumps, URI space, vocabularies), so the description is in the store, in every export, and answered at
  ``/.well-known/void``. Every IRI in it is under ``iri.RESOURCE_BASE`` (``PILOTKG_BASE_IRI``), so a
  deployment that sets the base to its own address describes endpoints and dumps it really serves.
* **JSON-LD.** Oxigraph writes expanded JSON-LD; :func:`to_jsonld` wraps it in
  ``{"@context": …, "@graph": …}`` with the prefixes of :data:`PREFIXES` as the context and property
  and class IRIs written as compact IRIs. The context is inline (a reader needs no network) and also
  published at ``/context.jsonld``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pyoxigraph as ox
from rdflib import RDF, XSD, Graph, Namespace, URIRef
from rdflib import Literal as Lit
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDFS

from pilotkg import iri
from pilotkg.graph.store.base import serialize_rdf
from pilotkg.graph.vocabulary import PREFIXES

VOID = Namespace("http://rdfs.org/ns/void#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")
RdfSyntax = Literal["turtle", "ntriples", "jsonld", "rdfxml"]
# (media type, syntax) in the server's order of preference for a resource description.
RDF_OFFERS: list[tuple[str, RdfSyntax]] = [
    ("text/turtle", "turtle"),
    ("application/ld+json", "jsonld"),
    ("application/rdf+xml", "rdfxml"),
    ("application/n-triples", "ntriples"),
    ("application/x-turtle", "turtle"),
    ("application/json", "jsonld"),
]
DUMPS: dict[str, tuple[Literal["turtle", "ntriples", "jsonld"], str]] = {  # file name → (syntax, media type)
    "policy.ttl": ("turtle", "text/turtle"),
    "policy.nt": ("ntriples", "application/n-triples"),
    "policy.jsonld": ("jsonld", "application/ld+json"),
}
_OX = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
}
MEDIA_TYPE = {"turtle": "text/turtle", "ntriples": "application/n-triples", "jsonld": "application/ld+json"}
MEDIA_TYPE["rdfxml"] = "application/rdf+xml"
VOCABULARIES = ("pk", "skos", "eli", "org", "prov", "dcterms", "oa", "vcard", "unit")


def dataset_iri() -> URIRef:
    return URIRef(iri.iri(iri.dataset()))


def endpoint_url() -> str:
    return iri.RESOURCE_BASE + "sparql"


def dump_url(name: str) -> str:
    return iri.RESOURCE_BASE + "dump/" + name


# --- VoID + DCAT -----------------------------------------------------------------------------------


def describe_dataset(g: Graph, *, examples: list[URIRef], documents: list[URIRef], source_sha256: str) -> None:
    """Add the dataset description to the policy graph ``g`` (its triple count includes the description)."""
    ds = dataset_iri()
    publisher = URIRef(iri.iri("agent/pilotkg"))
    service = URIRef(iri.iri("service/sparql"))
    add = g.add
    for prefix, ns in (("void", VOID), ("dcat", DCAT), ("foaf", FOAF), ("sd", SD)):
        g.bind(prefix, ns)
    add((ds, RDF.type, VOID.Dataset))
    add((ds, RDF.type, DCAT.Dataset))
    add((ds, DCTERMS.title, Lit("安全应急装备应用试点示范工程政策知识图谱", lang="zh")))
    title_en = "pilotkg: knowledge graph of the safety and emergency equipment pilot policy"
    add((ds, DCTERMS.title, Lit(title_en, lang="en")))
    add(
        (
            ds,
            DCTERMS.description,
            Lit(
                "工信厅联安全函〔2021〕11号通知、实施要素指南（2021年）与管理办法（试行）的结构化表示：方向、要求、条款、申报规则及其原文出处。",
                lang="zh",
            ),
        )
    )
    add(
        (
            ds,
            DCTERMS.description,
            Lit(
                "The 2021 pilot notice, its implementation guide and management measures as linked data: directions, "
                "requirements, articles and eligibility rules, each with its exact source text and offsets.",
                lang="en",
            ),
        )
    )
    add((ds, DCTERMS.license, LICENSE))
    add(
        (
            ds,
            DCTERMS.rights,
            Lit(
                "源文本为政府公文（《著作权法》第五条不适用著作权保护）；结构化数据按 CC BY 4.0 提供。 / "
                "The source text is an official government document; the structured data is offered under CC BY 4.0.",
            ),
        )
    )
    add((ds, DCTERMS.publisher, publisher))
    add((publisher, RDF.type, FOAF.Organization))
    add((publisher, FOAF.name, Lit("pilotkg")))
    add((ds, DCTERMS.language, URIRef("http://id.loc.gov/vocabulary/iso639-1/zh")))
    add((ds, DCTERMS.source, URIRef(iri.iri(iri.reference_file(source_sha256)))))
    for doc in documents:
        add((ds, VOID.rootResource, doc))
    add((ds, VOID.uriSpace, Lit(iri.ID)))
    add((ds, VOID.sparqlEndpoint, URIRef(endpoint_url())))
    for prefix in VOCABULARIES:
        add((ds, VOID.vocabulary, URIRef(PREFIXES[prefix])))
    for ex in examples:
        add((ds, VOID.exampleResource, ex))
    add((service, RDF.type, DCAT.DataService))
    add((service, RDF.type, SD.Service))
    add((service, DCAT.endpointURL, URIRef(endpoint_url())))
    add((service, SD.endpoint, URIRef(endpoint_url())))
    add((service, DCAT.servesDataset, ds))
    add((service, DCTERMS.title, Lit("SPARQL 1.1 endpoint (read-only)", lang="en")))
    add((ds, DCAT.accessService, service))
    for name, (_syntax, media) in DUMPS.items():
        url = URIRef(dump_url(name))
        dist = URIRef(iri.iri(iri.distribution(name)))
        add((ds, VOID.dataDump, url))
        add((ds, DCAT.distribution, dist))
        add((dist, RDF.type, DCAT.Distribution))
        add((dist, DCAT.downloadURL, url))
        add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{media}")))
        add((dist, DCTERMS.license, LICENSE))
    add((ds, RDFS.seeAlso, URIRef(iri.RESOURCE_BASE + ".well-known/void")))
    # void:triples counts the whole graph, this triple included (so it goes last).
    add((ds, VOID.triples, Lit(len(g) + 1, datatype=XSD.integer)))


def void_query() -> str:
    """CONSTRUCT of the dataset description (dataset, its service, distributions and publisher)."""
    ds = dataset_iri()
    return (
        "CONSTRUCT { ?s ?p ?o } WHERE { "
        f"{{ BIND(<{ds}> AS ?s) ?s ?p ?o }} UNION "
        f"{{ <{ds}> <{DCAT.distribution}>|<{DCAT.accessService}>|<{DCTERMS.publisher}> ?s . ?s ?p ?o }} }}"
    )


# --- one resource ----------------------------------------------------------------------------------


def describe_query(resource: str) -> str:
    """CONSTRUCT of a resource's own triples and those of its sub-resources (IRIs under its IRI and
    linked to it: a requirement's quantity, a document's deadlines, an article's items, a project's
    consortium and coverage statements)."""
    r = f"<{resource}>"
    under = json.dumps(resource + "/")
    return (
        "CONSTRUCT { ?s ?p ?o } WHERE { "
        f"{{ BIND({r} AS ?s) ?s ?p ?o }} "
        f"UNION {{ {r} ?link ?s . ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), {under})) }} "
        f"UNION {{ ?s ?link {r} . ?s ?p ?o FILTER(STRSTARTS(STR(?s), {under})) }} }}"
    )


def labels_query(resources: list[str]) -> str:
    values = " ".join(f"<{r}>" for r in resources)
    return (
        "SELECT ?r ?label WHERE { VALUES ?r { " + values + " } "
        "?r <http://www.w3.org/2004/02/skos/core#prefLabel>|<http://www.w3.org/2000/01/rdf-schema#label>"
        "|<http://purl.org/dc/terms/title> ?label }"
    )


# --- serialisation ---------------------------------------------------------------------------------


def jsonld_context() -> dict[str, Any]:
    """The JSON-LD context: pilotkg's prefixes (published at ``/context.jsonld``)."""
    return {"@context": dict(sorted(PREFIXES.items()))}


def _compact(value: str, namespaces: list[tuple[str, str]]) -> str:
    for prefix, ns in namespaces:
        if value.startswith(ns) and len(value) > len(ns):
            return f"{prefix}:{value[len(ns) :]}"
    return value


def to_jsonld(triples: list[ox.Triple]) -> bytes:
    """JSON-LD with the inline ``@context``: node objects as Oxigraph writes them (in the triples'
    order), with property and class IRIs compacted to ``prefix:name``."""
    expanded = json.loads(serialize_rdf(triples, ox.RdfFormat.JSON_LD) or b"[]")
    # longest namespace first, so "id:" never shadows a longer one it prefixes
    namespaces = sorted(((p, ns) for p, ns in PREFIXES.items() if p != "id"), key=lambda x: -len(x[1]))
    nodes = []
    for node in expanded:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "@type":
                out[key] = [_compact(t, namespaces) for t in value]
            elif key.startswith("@"):
                out[key] = value
            else:
                out[_compact(key, namespaces)] = value
        nodes.append(out)
    doc = {"@context": jsonld_context()["@context"], "@graph": nodes}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def serialize_as(triples: list[ox.Triple], syntax: RdfSyntax) -> bytes:
    if syntax == "jsonld":
        return to_jsonld(triples)
    prefixes = None if syntax == "ntriples" else {k: v for k, v in PREFIXES.items() if k != "id"}
    return serialize_rdf(triples, _OX[syntax], prefixes)
