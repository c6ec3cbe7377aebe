"""The projects graph: submitted projects as RDF on PROJECTS_GRAPH, and stored projects read back.

Graph shape (W3C ORG): a project has a ``pk:Consortium`` (an ``org:Organization``); each unit is an
``org:Organization`` and joins the consortium through an ``org:Membership`` with ``org:role``
pk:LeadRole / pk:PartnerRole, ``pk:unitType`` and ``pk:unitName`` (the name as this project gave it,
which is what reading the project back returns). ``pk:leadUnit`` / ``pk:partner`` link project and
units directly as well, which keeps the rule shapes and reviewer queries short. Sub-resources
(consortium, memberships, coverage statements) are minted under the project's IRI, so they are removed
together with it.

A unit's node is its legal entity (``iri.legal_entity``): its 统一社会信用代码 when given, else its
normalised name (``policy.name_key``: NFKC, spaces out), shared across projects. The node carries what
its projects' memberships say of it: ``pk:nameKey`` and ``rdfs:label`` per spelling, ``pk:creditCode``
and, on a coded node, ``pk:namesake`` per spelling: the node that spelling has without a code (minted
from the name, so the quota joins a coded unit to its uncoded spellings by index lookups, not a key join).
Those triples live on PROJECTS_GRAPH and are derived from the memberships, so replacing a project
rebuilds the nodes its old units had (:func:`refresh_organisations`): a spelling, key or node that no
stored project uses any more is gone with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib import Literal as Lit
from rdflib.namespace import DCTERMS, ORG, RDFS, SKOS

from pilotkg import iri
from pilotkg.errors import InputError, NotFoundError
from pilotkg.graph import PK, add_quantity
from pilotkg.matching import Status
from pilotkg.policy import Corpus, extract_quantities, name_key
from pilotkg.projects.base import CoverageDetail, Enrichment, ProjectIn, ProjectOut, Unit
from pilotkg.projects.regions import find_region, region_named

if TYPE_CHECKING:
    from pilotkg.graph import GraphStore, Term

log = logging.getLogger("pilotkg.projects")


OA = Namespace("http://www.w3.org/ns/oa#")
UNIT_TYPE_IRI: dict[str, URIRef] = {
    "装备制造企业": PK.EquipmentManufacturer,
    "软件企业": PK.SoftwareEnterprise,
    "服务提供商": PK.ServiceProvider,
    "用户单位": PK.UserUnit,
    "金融保险机构": PK.FinanceInsuranceInstitution,
    "other": PK.OtherUnitType,
}
_UNIT_TYPE_OF = {str(v): k for k, v in UNIT_TYPE_IRI.items()}
# VALUES rows per store query: up to ~1000 rows Oxigraph looks each one up in its indexes; above, it
# scans the whole pattern instead (2000 ids against 100k stored projects: 0.1 s in 500s, 12 s at once).
_CHUNK = 500


# --- graph -----------------------------------------------------------------------------------------


def _node(gid: str) -> URIRef:
    return URIRef(iri.iri(gid))


def project_iri(project_id: str) -> URIRef:
    return _node(iri.project(project_id))


def region_iri(name: str) -> URIRef:
    """The IRI of a region given by its canonical name (``ProjectIn.region``)."""
    return URIRef(region_named(name).iri)


def _region_name(value: str) -> str:
    """A stored pk:region (an IRI; a literal in stores written before regions were IRIs) → full name."""
    r = find_region(value)
    return r.name if r is not None else value


def unit_iri(unit: Unit) -> URIRef:
    """The node of a unit's legal entity (see the module docstring)."""
    return _node(iri.legal_entity(unit.credit_code, name_key(unit.name)))


def _add_organisation(g: Graph, org: URIRef, name: str, credit_code: str | None) -> None:
    # What one membership says of its unit's node; the node is the union over its memberships.
    g.add((org, RDF.type, ORG.Organization))
    g.add((org, PK.nameKey, Lit(name_key(name))))
    g.add((org, RDFS.label, Lit(name)))
    if credit_code:
        g.add((org, PK.creditCode, Lit(credit_code)))
        # the node this spelling has without a code: the quota counts its projects with this entity's
        g.add((org, PK.namesake, _node(iri.legal_entity(None, name_key(name)))))


def _sub(project: URIRef, *parts: str) -> URIRef:
    # Like graph.py's deadline/contact nodes: sub-resources live under their owner's IRI.
    return URIRef("/".join([str(project), *parts]))


def project_graph(projects: Iterable[ProjectIn], corpus: Corpus) -> Graph:
    """The projects' triples (no enrichment), for PROJECTS_GRAPH."""
    known = {d.number for d in corpus.directions}
    g = Graph()
    g.bind("pk", PK)
    g.bind("org", ORG)
    for p in projects:
        for n in (p.direction, *p.extra_directions):
            if n not in known:
                raise InputError(
                    f"project {p.id}: direction {n} is not in the guide",
                    f"项目 {p.id}：指南中没有方向 {n}",
                    where=f"project/{p.id}",
                )
        _add_project(g, p)
    return g


def _add_project(g: Graph, p: ProjectIn) -> None:
    node = project_iri(p.id)
    add = g.add
    add((node, RDF.type, PK.Project))
    add((node, DCTERMS.identifier, Lit(p.id)))
    add((node, DCTERMS.title, Lit(p.name)))
    add((node, DCTERMS.description, Lit(p.description)))
    for n in (p.direction, *p.extra_directions):
        add((node, PK.direction, _node(iri.direction(n))))
    add((node, PK.region, region_iri(p.region)))
    add((node, PK.batch, Lit(p.batch)))
    add((node, PK.year, Lit(p.year)))
    add((node, PK.submitted, Lit(p.submitted)))
    add((node, PK.recommended, Lit(p.recommended)))
    if p.business_model:
        add((node, PK.businessModel, Lit(p.business_model)))
    if p.owner:
        add((node, PK.owner, Lit(p.owner)))
    consortium = _sub(node, "consortium")
    add((consortium, RDF.type, PK.Consortium))
    add((consortium, RDF.type, ORG.Organization))
    add((consortium, SKOS.prefLabel, Lit(f"{p.name}（联合体）")))
    add((node, PK.consortium, consortium))
    members = [(u, PK.LeadRole, PK.leadUnit) for u in (p.lead_unit, *p.extra_lead_units)]
    members += [(u, PK.PartnerRole, PK.partner) for u in p.partners]
    for i, (unit, role, link) in enumerate(members, start=1):
        org = unit_iri(unit)
        _add_organisation(g, org, unit.name, unit.credit_code)
        add((node, link, org))
        m = _sub(node, "membership", str(i))
        add((m, RDF.type, ORG.Membership))
        add((m, ORG.member, org))
        add((m, PK.unitName, Lit(unit.name)))
        add((m, ORG.organization, consortium))
        add((m, ORG.role, role))
        add((m, PK.unitType, UNIT_TYPE_IRI[unit.type]))
        if unit.region:
            add((m, PK.region, region_iri(unit.region)))


def enrichment_graph(project_id: str, e: Enrichment, corpus: Corpus, *, into: Graph | None = None) -> Graph:
    """The matcher's verdict on a project as triples (added to ``into`` when given)."""
    where = f"project/{project_id}"
    if e.matched_direction not in {d.number for d in corpus.directions}:
        raise InputError(
            f"enrichment of {project_id}: direction {e.matched_direction} is not in the guide",
            f"项目 {project_id} 的匹配结果：指南中没有方向 {e.matched_direction}",
            where=where,
        )
    known = {r.id for r in corpus.requirements}
    if unknown := sorted(set(e.statuses) - known):
        raise InputError(
            f"enrichment of {project_id}: unknown requirement id(s) {', '.join(unknown)}",
            f"项目 {project_id} 的覆盖结果：未知的要求编号 {'、'.join(unknown)}",
            where=where,
        )
    g = Graph() if into is None else into
    node = project_iri(project_id)
    g.add((node, PK.matchedDirection, _node(iri.direction(e.matched_direction))))
    g.add((node, PK.matchConfidence, Lit(Decimal(str(round(e.confidence, 4))))))
    for req_id, status in sorted(e.statuses.items()):
        st = _sub(node, "coverage", req_id)
        g.add((st, RDF.type, PK.CoverageStatement))
        g.add((st, PK.requirement, _node(iri.requirement(req_id))))
        g.add((st, PK.status, PK[status]))
        g.add((node, PK.coverage, st))
        if (detail := e.details.get(req_id)) is not None:
            _add_detail(g, node, st, detail)
    return g


def _add_detail(g: Graph, project: URIRef, st: URIRef, d: CoverageDetail) -> None:
    """The stated value (a pk:Quantity with value and unit) and the evidence sentence with its offsets
    into the project's description (dcterms:description), so a reviewer query can show both."""
    if d.stated and (qs := extract_quantities(d.stated)):
        q = add_quantity(g, _sub(st, "stated"), qs[0])
        g.add((q, PK.statedText, Lit(d.stated)))
        g.add((st, PK.statedQuantity, q))
    if d.evidence and d.start is not None and d.end is not None:
        span = _sub(st, "evidence")
        g.add((st, PK.evidence, Lit(d.evidence)))
        g.add((st, PK.evidenceSpan, span))
        g.add((span, RDF.type, PK.DescriptionSpan))
        g.add((span, OA.exact, Lit(d.evidence)))
        g.add((span, OA.start, Lit(d.start)))
        g.add((span, OA.end, Lit(d.end)))
        g.add((span, DCTERMS.source, project))


def reviewer_graph(p: ProjectIn, e: Enrichment | None, *, into: Graph | None = None) -> Graph:
    """What the reviewer queries ask for, materialised once at import (added to ``into`` when given).

    Derived only from the project's own triples and its enrichment, so it never changes an answer;
    it lets the store read each answer from one index range instead of joining every project:
    ``pk:directionRegion`` (one node per direction and region, ``pk:recommendedIn`` for recommended
    projects), ``pk:directionMismatch true`` when the matched direction is none of the chosen ones,
    ``pk:missingRequirement`` / ``pk:violatedRequirement`` links and their counts."""
    g = Graph() if into is None else into
    node = project_iri(p.id)
    directions = (p.direction, *p.extra_directions)
    for n in directions:
        cell = _node(iri.direction_region(n, p.region))
        g.add((cell, RDF.type, PK.DirectionRegion))
        g.add((cell, PK.direction, _node(iri.direction(n))))
        g.add((cell, PK.region, region_iri(p.region)))
        g.add((node, PK.directionRegion, cell))
        if p.recommended:
            g.add((node, PK.recommendedIn, cell))
    if e is None:
        return g
    if e.matched_direction not in directions:
        g.add((node, PK.directionMismatch, Lit(True)))
    for status, link, count in (
        ("missing", PK.missingRequirement, PK.missingCount),
        ("violated", PK.violatedRequirement, PK.violatedCount),
    ):
        reqs = sorted(r for r, s in e.statuses.items() if s == status)
        for req_id in reqs:
            g.add((node, link, _node(iri.requirement(req_id))))
        g.add((node, count, Lit(len(reqs))))
    return g


# --- stored projects, for the import ---------------------------------------------------------------


def _values(items: Iterable[str]) -> str:
    return " ".join(f"<{i}>" for i in items)


def existing_projects(store: GraphStore, ids: Sequence[str]) -> set[str]:
    """The ``ids`` that are stored projects already."""
    found: set[str] = set()
    for k in range(0, len(ids), _CHUNK):
        chunk = ids[k : k + _CHUNK]
        res = store.query(
            f"PREFIX pk: <{PK}> SELECT ?p WHERE {{ VALUES ?p {{ {_values(project_iri(i) for i in chunk)} }} "
            f"GRAPH <{iri.PROJECTS_GRAPH}> {{ ?p a pk:Project }} }}",
            named_graphs=[iri.PROJECTS_GRAPH],
        )
        by_iri = {str(project_iri(i)): i for i in chunk}
        found |= {by_iri[r["p"].value] for r in res.rows}
    return found


def subjects_of(store: GraphStore, ids: Sequence[str]) -> list[str]:
    """Every subject a stored project owns (itself, consortium, memberships, coverage statements and
    their stated quantities and evidence spans)."""
    out: list[str] = []
    for k in range(0, len(ids), _CHUNK):
        values = _values(project_iri(i) for i in ids[k : k + _CHUNK])
        res = store.query(
            f"PREFIX pk: <{PK}> PREFIX org: <{ORG}> SELECT DISTINCT ?s WHERE {{ VALUES ?p {{ {values} }} "
            f"GRAPH <{iri.PROJECTS_GRAPH}> {{ {{ ?p a pk:Project BIND(?p AS ?s) }} "
            "UNION { ?p pk:consortium ?s } UNION { ?p pk:coverage ?s } "
            "UNION { ?p pk:coverage ?c . ?c pk:statedQuantity|pk:evidenceSpan ?s } "
            "UNION { ?p pk:consortium ?c . ?s org:organization ?c } } }",
            named_graphs=[iri.PROJECTS_GRAPH],
        )
        out += [r["s"].value for r in res.rows]
    return out


def refresh_organisations(store: GraphStore, ids: Sequence[str], *, into: Graph) -> list[str]:
    """The unit nodes of the stored projects ``ids`` (about to be replaced), to remove with them; what
    the other stored projects' memberships still say of those nodes is added to ``into`` (the new
    projects' own units are there already). A node no other project uses is left out: no orphans."""
    replaced = {str(project_iri(i)) for i in ids}
    head = f"PREFIX pk: <{PK}> PREFIX org: <{ORG}> SELECT DISTINCT "
    ng = [iri.PROJECTS_GRAPH]
    orgs: set[str] = set()
    for k in range(0, len(ids), _CHUNK):
        values = _values(project_iri(i) for i in ids[k : k + _CHUNK])
        res = store.query(
            head + f"?o WHERE {{ VALUES ?p {{ {values} }} GRAPH <{iri.PROJECTS_GRAPH}> {{ "
            "?p pk:consortium ?c . ?m org:organization ?c ; org:member ?o } }",
            named_graphs=ng,
        )
        orgs |= {r["o"].value for r in res.rows}
    ordered = sorted(orgs)
    for k in range(0, len(ordered), _CHUNK):
        res = store.query(
            head + f"?o ?name ?code ?p WHERE {{ VALUES ?o {{ {_values(ordered[k : k + _CHUNK])} }} "
            f"GRAPH <{iri.PROJECTS_GRAPH}> {{ ?m org:member ?o ; pk:unitName ?name ; org:organization ?c . "
            "?p pk:consortium ?c . OPTIONAL { ?o pk:creditCode ?code } } }",
            named_graphs=ng,
        )
        for r in res.rows:
            if r["p"].value not in replaced:
                code = r.get("code")
                _add_organisation(into, URIRef(r["o"].value), r["name"].value, code.value if code else None)
    return ordered


def stored_context(store: GraphStore, projects: Sequence[ProjectIn], exclude: set[str]) -> Graph:
    """The stored projects that share a counting group with the new ones (same lead unit, batch and
    year; or, among recommended projects, same direction, region and year), as the triples the count
    rules read. Other stored projects cannot change any count the new file is checked on.

    "Same lead unit" is the legal entity (eligibility.py): a coded unit and the units without a code
    its spellings name (``pk:namesake``). The namesake links of the new leads' entities come along
    (stored coded units naming a new lead; the stored spellings of a new coded lead), so the rule
    sees every unit of each entity, and the projects of all of those units are counted."""
    leads = {str(unit_iri(u)) for p in projects for u in (p.lead_unit, *p.extra_lead_units)}
    groups = sorted({(p.batch, p.year) for p in projects})
    ng = [iri.PROJECTS_GRAPH]
    g = Graph()
    entities = set(leads)
    ordered = sorted(leads)
    for k in range(0, len(ordered), _CHUNK):  # coded units whose spelling a new lead (without a code) is
        res = store.query(
            f"PREFIX pk: <{PK}> SELECT ?c WHERE {{ VALUES ?n {{ {_values(ordered[k : k + _CHUNK])} }} "
            f"GRAPH <{iri.PROJECTS_GRAPH}> {{ ?c pk:namesake ?n }} }}",
            named_graphs=ng,
        )
        entities |= {r["c"].value for r in res.rows}
    units = set(entities)
    ordered = sorted(entities)
    for k in range(0, len(ordered), _CHUNK):  # and every spelling of those entities
        res = store.query(
            f"PREFIX pk: <{PK}> SELECT ?c ?n WHERE {{ VALUES ?c {{ {_values(ordered[k : k + _CHUNK])} }} "
            f"GRAPH <{iri.PROJECTS_GRAPH}> {{ ?c pk:namesake ?n }} }}",
            named_graphs=ng,
        )
        for r in res.rows:
            g.add((URIRef(r["c"].value), PK.namesake, URIRef(r["n"].value)))
            units.add(r["n"].value)
    lead_keys = [(a, b, y) for a in sorted(units) for b, y in groups]
    rec_keys = {
        (iri.iri(iri.direction(n)), str(region_iri(p.region)), p.year)
        for p in projects
        if p.recommended
        for n in (p.direction, *p.extra_directions)
    }
    skip = {str(project_iri(i)) for i in exclude}
    head = f"PREFIX pk: <{PK}> SELECT ?p ?a ?b ?y WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ "
    for k in range(0, len(lead_keys), _CHUNK):
        rows = " ".join(f"(<{a}> {b} {y})" for a, b, y in lead_keys[k : k + _CHUNK])
        q = head + f"VALUES (?a ?b ?y) {{ {rows} }} ?p pk:leadUnit ?a ; pk:batch ?b ; pk:year ?y }} }}"
        for r in store.query(q, named_graphs=ng).rows:
            if (p := r["p"].value) not in skip:
                _add_context(
                    g,
                    p,
                    {
                        PK.leadUnit: URIRef(r["a"].value),
                        PK.batch: Lit(int(r["b"].value)),
                        PK.year: Lit(int(r["y"].value)),
                    },
                )
    if rec_keys:
        # All stored recommended projects, matched here: the notice caps them per direction and region,
        # so they stay few, while a VALUES join over (direction, region, year) makes Oxigraph walk
        # every project of each direction.
        q = head + "?p pk:recommended true ; pk:direction ?a ; pk:region ?b ; pk:year ?y } }"
        for r in store.query(q, named_graphs=[iri.PROJECTS_GRAPH]).rows:
            key = (r["a"].value, r["b"].value, int(r["y"].value))
            if key in rec_keys and (p := r["p"].value) not in skip:
                _add_context(
                    g,
                    p,
                    {
                        PK.recommended: Lit(True),
                        PK.direction: URIRef(key[0]),
                        PK.region: URIRef(key[1]),
                        PK.year: Lit(key[2]),
                    },
                )
    return g


def _add_context(g: Graph, project: str, values: dict[URIRef, URIRef | Lit]) -> None:
    node = URIRef(project)
    g.add((node, RDF.type, PK.Project))
    for pred, obj in values.items():
        g.add((node, pred, obj))


# --- reading back ----------------------------------------------------------------------------------


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


@dataclass(frozen=True)
class UnreadableProject:
    """A stored project that today's model refuses (stored before a check existed): reported, not served."""

    id: str
    iri: str
    problem: str


def list_projects(store: GraphStore, owner: str | None = None) -> list[ProjectOut]:
    """Stored projects (of ``owner`` when given), ordered by id. A stored project that fails today's
    model is left out and logged (``pilotkg doctor`` lists them), so one bad record never breaks the list."""
    flt = f"?p pk:owner {_str(owner)} ." if owner is not None else ""
    projects, unreadable = _load(store, flt)
    for u in unreadable:
        log.warning("stored project %s does not pass today's checks: %s", u.id, u.problem)
    return projects


def unreadable_projects(store: GraphStore) -> list[UnreadableProject]:
    return _load(store, "")[1]


def get_project(store: GraphStore, project_id: str) -> ProjectOut:
    found, unreadable = _load(store, f"VALUES ?p {{ <{project_iri(project_id)}> }}")
    if unreadable:
        raise InputError(
            f"stored project {project_id} does not pass today's checks ({unreadable[0].problem}); submit it again",
            f"已存储的项目 {project_id} 未通过当前校验（{unreadable[0].problem}）；请重新提交",
            where=f"project/{project_id}",
        )
    if not found:
        raise NotFoundError(
            f"no project {project_id!r}", f"没有编号为 {project_id!r} 的项目", where=f"project/{project_id}"
        )
    return found[0]


def project_owner(store: GraphStore, project_id: str) -> tuple[bool, str | None]:
    """``(stored, owner)`` of a project id, read without the model (so it works for unreadable records)."""
    res = store.query(
        f"PREFIX pk: <{PK}> SELECT ?owner WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ "
        f"<{project_iri(project_id)}> a pk:Project . OPTIONAL {{ <{project_iri(project_id)}> pk:owner ?owner }} }} }}",
        named_graphs=[iri.PROJECTS_GRAPH],
    )
    if not res.rows:
        return False, None
    owner = res.rows[0].get("owner")
    return True, owner.value if owner is not None else None


def stored_project_ids(store: GraphStore) -> list[str]:
    """Every stored project id (light: no model, no sub-resources)."""
    res = store.query(
        f"PREFIX pk: <{PK}> PREFIX dcterms: <{DCTERMS}> SELECT ?id WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ "
        "?p a pk:Project ; dcterms:identifier ?id } }",
        named_graphs=[iri.PROJECTS_GRAPH],
    )
    return sorted({r["id"].value for r in res.rows})


def _load(store: GraphStore, flt: str) -> tuple[list[ProjectOut], list[UnreadableProject]]:
    head = (
        f"PREFIX pk: <{PK}> PREFIX org: <{ORG}> PREFIX dcterms: <{DCTERMS}> PREFIX skos: <{SKOS}> "
        f"SELECT * WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ {flt} ?p a pk:Project . "
    )
    ng = [iri.PROJECTS_GRAPH]
    base = store.query(
        head + "?p dcterms:identifier ?id ; dcterms:title ?name ; dcterms:description ?desc ; "
        "pk:direction ?dir ; pk:region ?region ; pk:batch ?batch ; pk:year ?year ; pk:submitted ?sub ; "
        "pk:recommended ?rec . OPTIONAL { ?p pk:businessModel ?bm } OPTIONAL { ?p pk:owner ?owner } "
        "OPTIONAL { ?p pk:matchedDirection ?md } OPTIONAL { ?p pk:matchConfidence ?conf } } }",
        named_graphs=ng,
    ).rows
    members = store.query(
        head + "?p pk:consortium ?c . ?m org:organization ?c ; org:member ?org ; org:role ?role ; "
        "pk:unitType ?type ; pk:unitName ?uname . OPTIONAL { ?m pk:region ?uregion } "
        "OPTIONAL { ?org pk:creditCode ?ucc } } }",
        named_graphs=ng,
    ).rows
    coverage = store.query(
        head + "?p pk:coverage ?s . ?s pk:requirement ?req ; pk:status ?status } }", named_graphs=ng
    ).rows
    units: dict[str, list[tuple[str, Unit, str]]] = {}
    unit_problems: dict[str, str] = {}
    for r in members:
        try:
            u = Unit(
                name=r["uname"].value,
                type=_UNIT_TYPE_OF[r["type"].value],
                region=_region_name(r["uregion"].value) if "uregion" in r else None,
                credit_code=r["ucc"].value if "ucc" in r else None,
            )
        except (ValidationError, KeyError) as exc:
            unit_problems[r["p"].value] = _problem(exc)
            continue
        units.setdefault(r["p"].value, []).append((r["role"].value, u, r["m"].value))
    cov: dict[str, dict[str, Status]] = {}
    for r in coverage:
        cov.setdefault(r["p"].value, {})[iri.gid(r["req"].value).split("/", 1)[1]] = r["status"].value.rsplit("#", 1)[
            -1
        ]  # type: ignore[assignment]
    out: dict[str, ProjectOut] = {}
    bad: dict[str, UnreadableProject] = {}
    for r in base:
        p = r["p"].value
        if p in out or p in bad:  # a second pk:direction cannot be stored (rule), but never show a row twice
            continue
        try:
            if p in unit_problems:
                raise ValueError(unit_problems[p])
            out[p] = _project_out(r, p, units, cov)
        except (ValidationError, ValueError, IndexError, KeyError) as exc:
            bad[p] = UnreadableProject(r["id"].value, p, _problem(exc))
    return sorted(out.values(), key=lambda x: x.id), sorted(bad.values(), key=lambda x: x.id)


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors())[:300]
    return str(exc)[:300] if isinstance(exc, ValueError) else type(exc).__name__


def _project_out(
    r: dict[str, Term], p: str, units: dict[str, list[tuple[str, Unit, str]]], cov: dict[str, dict[str, Status]]
) -> ProjectOut:
    ms = sorted(units.get(p, []), key=lambda t: int(t[2].rsplit("/", 1)[-1]))
    leads = [u for role, u, _ in ms if role == str(PK.LeadRole)]
    return ProjectOut(
        id=r["id"].value,
        name=r["name"].value,
        description=r["desc"].value,
        direction=_direction_number(r["dir"].value),
        region=_region_name(r["region"].value),
        batch=int(r["batch"].value),
        year=int(r["year"].value),
        submitted=date.fromisoformat(r["sub"].value),
        recommended=r["rec"].value == "true",
        business_model=r["bm"].value if "bm" in r else None,
        owner=r["owner"].value if "owner" in r else None,
        lead_unit=leads[0],
        partners=[u for role, u, _ in ms if role == str(PK.PartnerRole)],
        gid=iri.gid(p),
        iri=p,
        matched_direction=_direction_number(r["md"].value) if "md" in r else None,
        match_confidence=float(r["conf"].value) if "conf" in r else None,
        coverage=dict(sorted(cov.get(p, {}).items())),
    )


def _direction_number(value: str) -> int:
    return int(iri.gid(value).split("/", 1)[1])
