"""Projects graph, import (all-or-nothing, re-import), listing, reviewer queries, crash safety.

The model and the file readers have their own tests: test_projectmodel.py, test_submissions.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyshacl
import pytest
from rdflib import Namespace, URIRef

from pilotkg import iri
from pilotkg.errors import InputError, NotFoundError, ShapeViolation
from pilotkg.graph.rdf import build, build_graph
from pilotkg.graph.store.base import GraphStore
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.graph.vocabulary import shapes_graph
from pilotkg.policy.base import Corpus
from pilotkg.policy.corpus import load_corpus
from pilotkg.projects.base import Enrichment, ProjectIn
from pilotkg.projects.importer import import_file, import_projects
from pilotkg.projects.rdf import (
    enrichment_graph,
    get_project,
    list_projects,
    project_graph,
    project_iri,
    reviewer_graph,
)
from pilotkg.projects.submissions import ProjectInputError, read_projects
from pilotkg.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
CLEAN = DATA / "projects_clean.json"
SAMPLES = REPO / "corpus" / "projects"
PK = Namespace(iri.ONTOLOGY)


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(REPO / "corpus")


@pytest.fixture()
def store(corpus: Corpus) -> GraphStore:
    s = EmbeddedStore(None)
    s.replace_graph(iri.POLICY_GRAPH, build_graph(corpus))
    return s


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    s = Settings(corpus_dir=REPO / "corpus", data_dir=tmp_path / "data")
    build(s)
    return s


# The matcher's verdicts on the clean fixture, as the lead's real enrich would store them.
ENRICH = {
    "T-01": Enrichment(matched_direction=8, confidence=0.91, statuses={"d08-r01": "addressed", "d08-r06": "missing"}),
    "T-02": Enrichment(matched_direction=8, confidence=0.88, statuses={"d08-r06": "addressed"}),
    "T-03": Enrichment(matched_direction=9, confidence=0.55, statuses={"d08-r06": "missing"}),
    "T-04": Enrichment(matched_direction=1, confidence=0.80, statuses={"d01-r01": "missing"}),
    "T-05": Enrichment(matched_direction=9, confidence=0.70, statuses={}),
    "T-06": Enrichment(matched_direction=1, confidence=0.42, statuses={"d05-r01": "uncertain"}),
}


def fake_enrich(p: ProjectIn) -> Enrichment:
    return ENRICH[p.id]


def project_count(store: GraphStore) -> int:
    res = store.query(f"SELECT (COUNT(?p) AS ?n) WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ ?p a <{PK.Project}> }} }}")
    return int(res.rows[0]["n"].value)


# --- graph -----------------------------------------------------------------------------------------


def test_project_graph_uses_w3c_org_and_conforms_to_the_project_shapes(corpus: Corpus) -> None:
    projects = read_projects(CLEAN).projects
    g = project_graph(projects, corpus)
    for p in projects:
        enrichment_graph(p.id, ENRICH[p.id], corpus, into=g)
    conforms, _, text = pyshacl.validate(g, shacl_graph=shapes_graph("project-shapes.ttl"), inference="none")
    assert conforms, text
    rows = list(
        g.query(
            "PREFIX org: <http://www.w3.org/ns/org#> PREFIX pk: <https://w3id.org/pilotkg/def#> "
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX dcterms: <http://purl.org/dc/terms/> "
            "SELECT ?name ?role ?type WHERE { ?p pk:consortium ?c ; dcterms:identifier 'T-01' . "
            "?m a org:Membership ; org:organization ?c ; org:member ?o ; org:role ?role ; "
            "pk:unitType ?type ; pk:unitName ?name . "
            "?o a org:Organization ; pk:nameKey ?key } ORDER BY ?name"
        )
    )
    assert [(str(n), str(r).rsplit("#")[-1], str(t).rsplit("#")[-1]) for n, r, t in rows] == [
        ("测试乙软件有限公司", "PartnerRole", "SoftwareEnterprise"),
        ("测试林场一", "PartnerRole", "UserUnit"),
        ("测试甲装备有限公司", "LeadRole", "EquipmentManufacturer"),
    ]
    lead = URIRef(iri.iri(iri.organisation("测试甲装备有限公司")))  # one node, shared by its projects
    assert {str(p).rsplit("/", 1)[-1] for p in g.subjects(PK.leadUnit, lead)} == {"T-01", "T-02", "T-05"}


def test_enrichment_rejects_unknown_requirement(corpus: Corpus) -> None:
    with pytest.raises(InputError, match="unknown requirement"):
        enrichment_graph("X", Enrichment(matched_direction=8, confidence=0.5, statuses={"d99-r01": "missing"}), corpus)


# --- import ----------------------------------------------------------------------------------------


def test_import_list_get_roundtrip_with_enrichment(settings: Settings) -> None:
    report = import_file(settings, CLEAN, enrich=fake_enrich)
    assert report.created == ["T-01", "T-02", "T-03", "T-04", "T-05", "T-06"] and not report.updated
    assert report.eligibility.conforms and report.enriched == 6
    text = report.render_text()
    assert "新增 6" in text and "6 new" in text and "conforms" in text
    store = EmbeddedStore(settings.store_dir)
    try:
        ps = list_projects(store)
        assert [p.id for p in ps] == ["T-01", "T-02", "T-03", "T-04", "T-05", "T-06"]
        original = {p.id: p for p in read_projects(CLEAN).projects}
        for p in ps:
            assert (
                ProjectIn.model_validate(
                    p.model_dump(exclude={"gid", "iri", "matched_direction", "match_confidence", "coverage"})
                )
                == original[p.id]
            )
        t3 = get_project(store, "T-03")
        assert (t3.matched_direction, t3.match_confidence, t3.coverage) == (9, 0.55, {"d08-r06": "missing"})
        assert [p.id for p in list_projects(store, owner="bob")] == ["T-03", "T-04"]
        with pytest.raises(NotFoundError):
            get_project(store, "nope")
    finally:
        store.close()


def test_reimport_replaces_the_project(store: GraphStore, corpus: Corpus, tmp_path: Path) -> None:
    projects = read_projects(CLEAN).projects
    import_projects(store, corpus, projects, enrich=fake_enrich)
    before = store.triple_count(iri.PROJECTS_GRAPH)
    again = import_projects(store, corpus, projects, enrich=fake_enrich)
    assert again.updated == [p.id for p in projects] and not again.created
    assert store.triple_count(iri.PROJECTS_GRAPH) == before  # no duplicates

    changed = projects[0].model_copy(update={"name": "改名后的项目", "partners": projects[0].partners[:1]})
    rep = import_projects(store, corpus, [changed])  # no enrich: the old coverage goes with the old text
    assert rep.updated == ["T-01"]
    t1 = get_project(store, "T-01")
    assert t1.name == "改名后的项目" and len(t1.partners) == 1
    assert t1.coverage == {} and t1.matched_direction is None
    assert project_count(store) == 6
    res = store.query(
        "SELECT (COUNT(?m) AS ?n) WHERE { ?m <http://www.w3.org/ns/org#organization> "
        "<https://w3id.org/pilotkg/id/project/T-01/consortium> }"
    )
    assert res.rows[0]["n"].value == "2"  # lead + one partner; the dropped membership is gone


def test_bad_file_leaves_the_store_unchanged(settings: Settings) -> None:
    import_file(settings, CLEAN)
    store = EmbeddedStore(settings.store_dir)
    before = store.triple_count()
    store.close()
    with pytest.raises(ProjectInputError) as exc:
        import_file(settings, DATA / "projects_bad_rows.jsonl")
    assert len(exc.value.report.errors) == 9
    with pytest.raises(ShapeViolation):
        import_file(settings, DATA / "projects_rule_max_partners.json")
    store = EmbeddedStore(settings.store_dir)
    assert store.triple_count() == before
    store.close()


def test_samples_import_clean(settings: Settings) -> None:
    a = import_file(settings, SAMPLES / "sample-projects.json")
    b = import_file(settings, SAMPLES / "sample-projects.csv")
    assert a.eligibility.conforms and b.eligibility.conforms
    assert len(a.created) == 10 and len(b.created) == 4
    assert b.stored_projects_considered >= 1  # the CSV's 北疆 lead unit also leads JSON projects


def test_progress_is_reported(settings: Settings) -> None:
    seen: list[tuple[str, int, int | None]] = []
    import_file(settings, CLEAN, progress=lambda s, d, t: seen.append((s, d, t)))
    stages = [s for s, _, _ in seen]
    assert stages.index("read") < stages.index("check") < stages.index("write")
    assert ("read", 6, 6) in seen


# --- reviewer queries ------------------------------------------------------------------------------


def run_reviewer(store: GraphStore, name: str) -> list[dict[str, str]]:
    text = (REPO / "ontology" / "queries" / f"reviewer-{name}.rq").read_text(encoding="utf-8")
    assert text.startswith("# title: ") and " / " in text.splitlines()[0]
    res = store.query(text, named_graphs=[iri.POLICY_GRAPH, iri.PROJECTS_GRAPH])
    return [{k: v.value for k, v in row.items()} for row in res.rows]


def test_reviewer_queries(store: GraphStore, corpus: Corpus) -> None:
    import_projects(store, corpus, read_projects(CLEAN).projects, enrich=fake_enrich)
    missing = run_reviewer(store, "d8-alarm-response-missing")
    assert [r["id"] for r in missing] == ["T-01", "T-03"]
    threshold = next(r for r in corpus.direction(8).requirements if r.kind == "threshold")
    assert {r["requirement"] for r in missing} == {iri.iri(iri.requirement(threshold.id))}

    leads = run_reviewer(store, "lead-units-over-2")
    assert [(r["name"], r["count"]) for r in leads] == [("测试甲装备有限公司", "3")]
    assert set(leads[0]["projects"].split(", ")) == {"T-01", "T-02", "T-05"}

    per = {
        (r["directionNumber"], r["region"]): (r["projects"], r["recommendedProjects"])
        for r in run_reviewer(store, "projects-per-direction-region")
    }
    assert per == {
        ("1", "山西省"): ("1", "0"),
        ("5", "江苏省"): ("1", "1"),
        ("8", "云南省"): ("1", "1"),
        ("8", "新疆生产建设兵团"): ("2", "1"),
        ("9", "新疆生产建设兵团"): ("1", "0"),
    }
    codes = {r["region"]: r["regionCode"] for r in run_reviewer(store, "projects-per-direction-region")}
    assert codes["云南省"] == "530000" and codes["新疆生产建设兵团"] == "XJBT"

    differs = run_reviewer(store, "matched-direction-differs")
    assert [(r["id"], r["chosen"], r["matched"]) for r in differs] == [("T-03", "8", "9"), ("T-06", "5", "1")]


def test_reviewer_triples_follow_the_project_and_its_enrichment(store: GraphStore, corpus: Corpus) -> None:
    """What the import writes for the reviewer queries is derived from the project alone: re-importing
    with another enrichment or region replaces it, and shared (direction, region) nodes stay valid."""
    projects = read_projects(CLEAN).projects
    import_projects(store, corpus, projects, enrich=fake_enrich)
    reqs = [r.id for r in corpus.direction(5).requirements[:3]]
    t06 = next(p for p in projects if p.id == "T-06")
    moved = t06.model_copy(update={"region": "山西省", "recommended": False})
    verdict = Enrichment(
        matched_direction=5, confidence=0.7, statuses={reqs[0]: "missing", reqs[1]: "violated", reqs[2]: "missing"}
    )
    import_projects(store, corpus, [moved], enrich=lambda _p: verdict)
    assert [r["id"] for r in run_reviewer(store, "matched-direction-differs")] == ["T-03"]
    node = f"<{iri.iri(iri.project('T-06'))}>"
    res = store.query(
        f"PREFIX pk: <{PK}> SELECT ?m ?v WHERE {{ {node} pk:missingCount ?m ; pk:violatedCount ?v }}",
        named_graphs=[iri.PROJECTS_GRAPH],
    )
    assert [(r["m"].value, r["v"].value) for r in res.rows] == [("2", "1")]
    res = store.query(
        f"PREFIX pk: <{PK}> SELECT ?r WHERE {{ {node} pk:missingRequirement ?r }}", named_graphs=[iri.PROJECTS_GRAPH]
    )
    assert sorted(r["r"].value for r in res.rows) == sorted(iri.iri(iri.requirement(i)) for i in (reqs[0], reqs[2]))
    per = {
        (r["directionNumber"], r["region"]): (r["projects"], r["recommendedProjects"])
        for r in run_reviewer(store, "projects-per-direction-region")
    }
    assert ("5", "江苏省") not in per  # its old (direction, region) node counts nothing now
    assert per[("5", "山西省")] == ("1", "0") and per[("1", "山西省")] == ("1", "0")


def test_a_matched_extra_direction_is_no_mismatch() -> None:
    p = read_projects(CLEAN).projects[0].model_copy(update={"direction": 8, "extra_directions": [9]})
    node = project_iri(p.id)
    for matched, mismatch in ((9, False), (8, False), (1, True)):
        g = reviewer_graph(p, Enrichment(matched_direction=matched, confidence=0.5), into=None)
        assert ((node, PK.directionMismatch, None) in g) is mismatch
    # one (direction, region) node per chosen direction
    assert len(set(g.objects(node, PK.directionRegion))) == 2


# --- crash safety ----------------------------------------------------------------------------------


def _many(n: int) -> str:
    rows = []
    for i in range(n):
        rows.append(
            json.dumps(
                {
                    "id": f"K-{i:05d}",
                    "name": f"批量项目{i}",
                    "description": f"批量导入测试项目 {i}",
                    "direction": 1 + i % 16,
                    "region": "海南省",
                    "lead_unit": {"name": f"批量牵头单位{i // 2}", "type": "装备制造企业"},
                    "partners": [{"name": f"批量联合单位{i % 97}", "type": "服务提供商"}],
                    "batch": 1,
                    "submitted": "2021-03-10",
                },
                ensure_ascii=False,
            )
        )
    return "\n".join(rows) + "\n"


def test_sigkill_mid_import_leaves_pre_or_post_state(settings: Settings, corpus: Corpus, tmp_path: Path) -> None:
    import_file(settings, CLEAN)
    store = EmbeddedStore(settings.store_dir)
    pre = store.triple_count(iri.PROJECTS_GRAPH)
    store.close()
    big = tmp_path / "many.jsonl"
    big.write_text(_many(2000), encoding="utf-8")
    many = read_projects(big).projects
    added = project_graph(many, corpus)
    for p in many:  # the import also writes what the reviewer queries read
        reviewer_graph(p, None, into=added)
    post = pre + len(added)  # names and regions are all new

    code = (
        "import sys\nfrom pathlib import Path\nfrom pilotkg.settings import Settings\n"
        "from pilotkg.projects import import_file\n"
        f"s = Settings(corpus_dir=Path({str(settings.corpus_dir)!r}),\n"
        f"             data_dir=Path({str(settings.data_dir)!r}))\n"
        "import_file(s, Path(sys.argv[1]), progress=lambda st, d, t: print(st, d, t, flush=True))\n"
        "print('done', flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    child = subprocess.Popen([sys.executable, "-c", code, str(big)], stdout=subprocess.PIPE, env=env, text=True)
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("write 0"):  # the one store transaction has begun
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=120)
    assert child.returncode == -signal.SIGKILL

    store = EmbeddedStore(settings.store_dir)
    try:
        after = store.triple_count(iri.PROJECTS_GRAPH)
        assert after in (pre, post)
        assert project_count(store) in (6, 2006)
        assert run_reviewer(store, "lead-units-over-2")[0]["name"] == "测试甲装备有限公司"
    finally:
        store.close()
    report = import_file(settings, big)  # whichever state it was, finishing the import gives the post state
    assert len(report.created) + len(report.updated) == 2000
    store = EmbeddedStore(settings.store_dir)
    try:
        assert store.triple_count(iri.PROJECTS_GRAPH) == post
        assert project_count(store) == 2006
    finally:
        store.close()
