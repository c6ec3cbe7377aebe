"""IRIs are minted here and nowhere else.

The vocabulary (``ONTOLOGY``) and the graph names are fixed under ``BASE``. Resource IRIs live under
``ID`` = ``Settings.base_iri`` + ``id/`` (``PILOTKG_BASE_IRI``, default ``BASE``), read once per process,
so a deployment can mint IRIs that its own ``/id/`` route resolves; the default never changes, so
builds stay comparable.

A graph id ("gid") is the path part under ``ID``: ``direction/8``, ``requirement/d08-r05``,
``article/12``, ``project/P-001``. Vector payloads carry the same gid, so every search hit joins
back to the graph with :func:`iri`.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from pilotkg.settings import get_settings

BASE = "https://w3id.org/pilotkg/"
ONTOLOGY = BASE + "def#"
SHAPES = BASE + "shapes#"  # the eligibility rules' generated SHACL shapes
RESOURCE_BASE = get_settings().base_iri
ID = RESOURCE_BASE + "id/"
POLICY_GRAPH = BASE + "graph/policy"
PROJECTS_GRAPH = BASE + "graph/projects"


def iri(gid: str) -> str:
    return ID + gid


def gid(iri_: str) -> str:
    if not iri_.startswith(ID):
        raise ValueError(f"not a pilotkg resource IRI: {iri_}")
    return iri_[len(ID) :]


def _safe(local: str) -> str:
    return quote(local, safe="-_.~")


def from_path(path: str) -> str:
    """The gid of a decoded URL path under ``/id/`` (``project/样例-1`` → ``project/%E6%A0%B7…``):
    each segment quoted as the minting functions quote it, so nothing else can reach the IRI."""
    return "/".join(_safe(seg) for seg in path.strip("/").split("/"))


def document(doc_id: str) -> str:
    return f"document/{_safe(doc_id)}"


def group(number: int) -> str:
    return f"group/{number}"


def direction(number: int) -> str:
    return f"direction/{number}"


def requirement(req_id: str) -> str:
    return f"requirement/{_safe(req_id)}"


def article(number: int) -> str:
    return f"article/{number}"


def rule(rule_id: str) -> str:
    return f"rule/{_safe(rule_id)}"


def stage(order: int) -> str:
    return f"stage/{order}"


def project(project_id: str) -> str:
    return f"project/{_safe(project_id)}"


def organisation(name: str) -> str:
    # Names are Chinese and may repeat across files: a digest gives a stable, IRI-safe id.
    return "org/" + hashlib.sha1(name.strip().encode("utf-8")).hexdigest()[:16]


def legal_entity(credit_code: str | None, name_key: str) -> str:
    """A submitted unit: one node per legal entity. The 统一社会信用代码 (checksum-validated, upper case,
    IRI-safe) names it when given (``org/uscc/91…``), whatever the name's spelling; without one, the
    normalised name (``policy.name_key``) does, as :func:`organisation` digests it, so an agency and a
    unit of one plain name stay one node."""
    return f"org/uscc/{_safe(credit_code)}" if credit_code else organisation(name_key)


def direction_region(number: int, region: str) -> str:
    # One node per (direction, region) that reviewers count projects by; the region is kept readable.
    return f"direction-region/{number}/{_safe(region)}"


def scheme() -> str:
    return "scheme/directions"


def concept(slug: str) -> str:
    """A concept of the packaged thesaurus (ontology/thesaurus.ttl)."""
    return f"concept/{_safe(slug)}"


def domain(slug: str) -> str:
    """A safety domain outside the programme (ontology/domains.ttl)."""
    return f"domain/{_safe(slug)}"


# --- the 2023–2025 action plan (a later policy the 2021 directions are cross-walked to) ---


def action_plan() -> str:
    return "document/action-plan-2023"


def scenario_scheme() -> str:
    return "scheme/action-plan-2023-scenarios"


def scenario(number: int) -> str:
    return f"scenario/{number}"


def crosswalk(direction_number: int, scenario_number: int) -> str:
    """One reviewed mapping statement between a 2021 direction and a 2023 scenario."""
    return f"crosswalk/d{direction_number:02d}-s{scenario_number:02d}"


def reference_file(sha256: str) -> str:
    """A reference table read by the build (e.g. the action plan's scenarios), named by its digest."""
    return f"source/{sha256[:12]}"


def build_activity(sha256: str) -> str:
    return f"build/{sha256[:12]}"


def reference_span(sha256: str, start: int, end: int) -> str:
    """A span (character offsets) of a reference table."""
    return f"{reference_file(sha256)}/span/{start}-{end}"


def region(code: str) -> str:
    """A GB/T 2260 province-level division by its six-digit code (``region/530000``)."""
    return f"region/{code}"


def dataset() -> str:
    return "dataset"


def span(sha256: str, start: int, end: int) -> str:
    """A span of the corpus text: the digest prefix keeps spans of different texts apart."""
    return f"span/{sha256[:12]}-{start}-{end}"


def distribution(name: str) -> str:
    """A downloadable dump of the dataset (VoID/DCAT)."""
    return f"distribution/{name}"


def unit(code: str) -> str:
    """A unit with no QUDT twin, in the pilotkg vocabulary (a full IRI, not a gid)."""
    return ONTOLOGY + "unit-" + quote(code, safe="")
