"""Who is calling, and what they may see.

Policy data is public. Submitted projects are confidential:

* anonymous callers read policy data and query the policy graph only;
* an applicant token (``settings.applicant_tokens``: token -> applicant name) may submit projects,
  which it then owns, and read its own projects; its SPARQL still sees the policy graph only,
  because a SPARQL query cannot be limited to one owner's rows;
* a reviewer token (``settings.reviewer_tokens``) reads every project and queries both graphs.

A header that is present but wrong is refused (401) rather than treated as anonymous, so a typo
in a token never silently downgrades a reviewer to the public view.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from pilotkg.errors import AccessDenied, NotFoundError, Unauthenticated
from pilotkg.iri import POLICY_GRAPH, PROJECTS_GRAPH
from pilotkg.settings import Settings

Role = Literal["anonymous", "applicant", "reviewer"]


@dataclass(frozen=True)
class Principal:
    role: Role
    applicant: str | None = None  # the applicant (lead unit) name, for role "applicant"
    reviewer: int | None = None  # which configured reviewer token (its position; never the token itself)

    @property
    def caller(self) -> str:
        """Whose allowance a request of a token holder counts against: each reviewer token its own, each
        applicant its own (all of one applicant's tokens together). Anonymous callers are counted by address."""
        return f"reviewer:{self.reviewer}" if self.role == "reviewer" else f"{self.role}:{self.applicant}"

    @property
    def is_reviewer(self) -> bool:
        return self.role == "reviewer"

    @property
    def sees_projects_graph(self) -> bool:
        return self.is_reviewer

    def visible_graphs(self) -> frozenset[str]:
        return frozenset({POLICY_GRAPH, PROJECTS_GRAPH}) if self.is_reviewer else frozenset({POLICY_GRAPH})


ANONYMOUS = Principal("anonymous")


def _matches(candidate: bytes, secret: str) -> bool:
    return hmac.compare_digest(candidate, secret.encode("utf-8"))


def resolve(settings: Settings, authorization: str | None) -> Principal:
    """The principal of an ``Authorization`` header value (``None``: anonymous)."""
    if authorization is None or not authorization.strip():
        return ANONYMOUS
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(
            "the Authorization header must be 'Bearer <token>'",
            "Authorization 请求头须为“Bearer <令牌>”",
            where="header Authorization",
        )
    candidate = token.encode("utf-8")
    # Every configured token is compared (no early exit), each in constant time, so response
    # timing does not reveal which tokens exist or how much of one matched.
    reviewer: int | None = None
    for i, secret in enumerate(settings.reviewer_tokens):
        if _matches(candidate, secret):
            reviewer = i
    applicant: str | None = None
    for secret, name in settings.applicant_tokens.items():
        if _matches(candidate, secret):
            applicant = name
    if reviewer is not None:
        return Principal("reviewer", reviewer=reviewer)
    if applicant is not None:
        return Principal("applicant", applicant)
    raise Unauthenticated("unknown or expired token", "令牌无效或已过期", where="header Authorization")


def principal(request: Request) -> Principal:
    """FastAPI dependency: the caller of this request."""
    settings: Settings = request.app.state.settings
    return resolve(settings, request.headers.get("authorization"))


def _need_token(action_en: str, action_zh: str) -> Unauthenticated:
    return Unauthenticated(
        f"{action_en} needs an applicant or reviewer token (Authorization: Bearer …)",
        f"{action_zh}需要申报单位或评审令牌（Authorization: Bearer …）",
        where="header Authorization",
    )


def require_token(who: Principal) -> None:
    """Project data needs some token; which projects it reaches is decided per route."""
    if who.role == "anonymous":
        raise _need_token("reading projects", "查看项目")


def submit_owner(who: Principal) -> str | None:
    """The owner recorded for projects ``who`` submits; anonymous callers may not submit.

    Reviewers may submit too (e.g. loading the published list of approved projects); what they
    submit has no applicant owner, so only reviewers can read it.
    """
    if who.role == "anonymous":
        raise _need_token("submitting projects", "提交项目")
    return who.applicant


def list_owner(who: Principal) -> str | None:
    """The owner filter for listing projects: ``None`` (all) for reviewers, own name for applicants."""
    require_token(who)
    return None if who.is_reviewer else who.applicant


def check_read(who: Principal, project_id: str, owner: str | None) -> None:
    """Raise unless ``who`` may read a project owned by ``owner``.

    Another applicant's project answers 404 exactly like a missing one, so an applicant cannot
    probe which project ids exist.
    """
    require_token(who)
    if who.is_reviewer:
        return
    if owner is None or owner != who.applicant:
        raise project_not_found(project_id)


def project_not_found(project_id: str) -> NotFoundError:
    return NotFoundError(f"no project {project_id}", f"没有项目 {project_id}", where=f"project/{project_id}")


def check_graphs(who: Principal, graph_uris: list[str]) -> None:
    """Protocol ``default-graph-uri``/``named-graph-uri`` may only name graphs ``who`` can see."""
    hidden = sorted(set(graph_uris) & {PROJECTS_GRAPH} - who.visible_graphs())
    if not hidden:
        return
    if who.role == "anonymous":
        raise _need_token("querying the projects graph", "查询项目图")
    raise AccessDenied(
        "only reviewers may query the projects graph",
        "只有评审人员可以查询项目图",
        where=f"graph <{hidden[0]}>",
    )
