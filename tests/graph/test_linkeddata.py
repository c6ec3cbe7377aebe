"""The dataset description and the base IRI, at the graph level (the routes are in tests/api)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rdflib import RDF, Graph, Namespace
from rdflib.namespace import DCAT, DCTERMS

from pilotkg import iri
from pilotkg.graph import export
from pilotkg.graph.rdf import build_graph
from pilotkg.policy import load_corpus

REPO = Path(__file__).resolve().parents[2]
VOID = Namespace("http://rdfs.org/ns/void#")


def test_the_policy_graph_describes_itself() -> None:
    g = build_graph(load_corpus(REPO / "corpus"))
    (ds,) = set(g.subjects(RDF.type, VOID.Dataset))
    assert (ds, RDF.type, DCAT.Dataset) in g
    assert g.value(ds, VOID.triples).toPython() == len(g)  # type: ignore[union-attr]
    assert len(set(g.objects(ds, DCAT.distribution))) == 3
    assert {str(d) for d in g.objects(ds, VOID.rootResource)} == {iri.iri(iri.document("notice-1"))}
    assert g.value(ds, DCTERMS.license) is not None


def test_jsonld_export_carries_the_context_and_compact_names() -> None:
    g = build_graph(load_corpus(REPO / "corpus"))
    doc = json.loads(export(g, "jsonld"))
    assert doc["@context"]["pk"] == iri.ONTOLOGY
    d8 = next(n for n in doc["@graph"] if n["@id"] == iri.iri(iri.direction(8)))
    assert "skos:prefLabel" in d8 and "pk:numberLabel" in d8  # property IRIs compacted by the context
    assert len(Graph().parse(data=json.dumps(doc), format="json-ld")) == len(g)


def test_a_deployment_base_iri_is_minted_everywhere(tmp_path: Path) -> None:
    # The base is read once per process (iri.py), so a fresh interpreter builds with it.
    base = "http://127.0.0.1:8123/"
    code = (
        "import sys, json\n"
        "from pathlib import Path\n"
        "from pilotkg.graph.rdf import build_graph\n"
        "from pilotkg.policy import load_corpus\n"
        "g = build_graph(load_corpus(Path(sys.argv[1])))\n"
        "subjects = sorted({str(s) for s in g.subjects() if str(s).startswith('http')})\n"
        "void = str(next(g.objects(None, __import__('rdflib').URIRef('http://rdfs.org/ns/void#sparqlEndpoint'))))\n"
        "print(json.dumps({'subjects': subjects, 'void': void}))\n"
    )
    env = {**os.environ, "PILOTKG_BASE_IRI": base}
    out = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "corpus")], env=env, capture_output=True, text=True, check=True
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    # every subject is either a vocabulary term (fixed namespace) or a resource under the deployment's base
    vocabulary = [s for s in data["subjects"] if s.startswith("https://w3id.org/pilotkg/def")]
    resources = [s for s in data["subjects"] if s.startswith(base + "id/")]
    assert len(vocabulary) + len(resources) == len(data["subjects"]) and resources
    assert base + "id/direction/8" in resources and base + "id/region/530000" in resources
    assert data["void"] == base + "sparql"
    if "PILOTKG_BASE_IRI" not in os.environ:  # this process: the published default, the same every build
        assert iri.iri(iri.direction(8)) == "https://w3id.org/pilotkg/id/direction/8"
