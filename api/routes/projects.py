"""Submitted projects (confidential): submit, list, read. Who may do what is decided in :mod:`auth`."""

# No ``from __future__ import annotations``: FastAPI resolves these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BeforeValidator, Field

from pilotkg.api import auth
from pilotkg.api.deps import pilot_of
from pilotkg.errors import InputError, NotFoundError
from pilotkg.projects import DUPLICATE_THRESHOLD, ImportReport, ProjectIn, ProjectOut, SimilarFilters, SimilarProject
from pilotkg.service import Pilot

MAX_PROJECTS_PER_REQUEST = 1000

PilotDep = Annotated[Pilot, Depends(pilot_of)]
Who = Annotated[auth.Principal, Depends(auth.principal)]


def _as_list(value: Any) -> Any:
    # One object or an array of them: validated as a list either way, so errors point at body[i].field.
    return [value] if isinstance(value, dict) else value


Projects = Annotated[
    list[ProjectIn],
    BeforeValidator(_as_list),
    Body(
        max_length=MAX_PROJECTS_PER_REQUEST,
        description="一个项目对象，或项目对象数组（至多 1000 个） / one project object, or an array of them (≤ 1000)",
    ),
]

ProjectId = Annotated[str, Path(min_length=1, max_length=64, description="项目编号 / project id")]

# --- similar projects: request shapes ---
MAX_SIMILAR = 100
SIMILAR_DESCRIPTION = (
    "与给定项目或文本最相似的已申报项目（自身除外），按相似度排序；score ≥ "
    f"{DUPLICATE_THRESHOLD} 标记为疑似重复申报（duplicate）。评审令牌检索全部项目；申报单位只在本单位项目中检索；"
    "匿名 401。 / Stored projects most similar to a project or a text, best first; score ≥ "
    f"{DUPLICATE_THRESHOLD} is flagged as a likely duplicate. Reviewers search all projects, an applicant "
    "only its own; anonymous 401."
)
Limit = Annotated[int, Query(ge=1, le=MAX_SIMILAR, description="返回条数 / number of hits")]


class SimilarTextRequest(SimilarFilters):
    text: str = Field(
        min_length=1,
        max_length=20000,
        pattern=r"\S",
        description="项目名称与描述（或任意文本） / the project's name and description (or any text)",
    )
    limit: int = Field(10, ge=1, le=MAX_SIMILAR, description="返回条数 / number of hits")


def _readable(pilot: Pilot, who: auth.Principal, project_id: str) -> ProjectOut:
    """The stored project; a missing one, and another applicant's (readable or not), answer the same 404."""
    try:
        return pilot.get_project(project_id)
    except NotFoundError as exc:
        # The same error as for another applicant's project, so the two cannot be told apart.
        raise auth.project_not_found(project_id) from exc
    except InputError:  # stored, but fails today's model: only its owner (or a reviewer) learns that
        _, owner = pilot.project_owner(project_id)
        auth.check_read(who, project_id, owner=owner)
        raise


def router() -> APIRouter:
    r = APIRouter(prefix="/api/projects", tags=["projects"])

    @r.post(
        "",
        summary="提交项目 / submit projects",
        description=(
            "提交一个或一批项目（整批校验申报条件，全部通过才写入）。申报单位令牌提交的项目归该单位所有；"
            "匿名不可提交。新建返回 201，仅更新返回 200；违反申报条件返回 422 并附逐条报告。 / "
            "Submit one project or a batch (checked against the eligibility rules as a whole, "
            "all or nothing). "
            "An applicant token owns what it submits; anonymous callers cannot submit. 201 when something "
            "was created, 200 when only updated; rule violations → 422 with the full report."
        ),
        status_code=201,
        responses={200: {"description": "仅更新已有项目 / only existing projects were updated"}},
    )
    def submit(projects: Projects, who: Who, pilot: PilotDep, response: Response) -> ImportReport:
        report = pilot.submit_projects(projects, owner=auth.submit_owner(who))
        if not report.created:
            response.status_code = 200
        return report

    @r.get(
        "",
        summary="项目列表 / list projects",
        description="评审令牌：全部项目；申报单位令牌：本单位的项目；匿名：401。 / "
        "Reviewer: all projects; applicant: its own; anonymous: 401.",
    )
    def list_projects(who: Who, pilot: PilotDep) -> list[ProjectOut]:
        return pilot.list_projects(owner=auth.list_owner(who))

    @r.get(
        "/{project_id}",
        summary="一个项目 / one project",
        description="评审令牌可读任一项目；申报单位只能读本单位项目（他人项目与不存在同样返回 404）。 / "
        "Reviewers read any project; an applicant only its own (another's answers 404 like a missing one).",
    )
    def get_project(project_id: ProjectId, who: Who, pilot: PilotDep) -> ProjectOut:
        auth.require_token(who)  # before touching the store: anonymous learns nothing, not even 404
        project = _readable(pilot, who, project_id)
        auth.check_read(who, project_id, owner=project.owner)
        return project

    # --- similar projects (pilotkg.projects.similar) ---
    @r.get(
        "/{project_id}/similar",
        summary="相似项目（按已申报项目） / projects similar to a stored one",
        description=SIMILAR_DESCRIPTION + " 申报单位只能以本单位项目检索（他人项目返回 404）。 / "
        "An applicant may only start from its own project (another's answers 404).",
    )
    def similar_to_project(
        project_id: ProjectId,
        who: Who,
        pilot: PilotDep,
        direction: Annotated[int | None, Query(ge=1, le=99, description="方向 / direction")] = None,
        region: Annotated[str | None, Query(min_length=1, max_length=100, description="地区 / region")] = None,
        batch: Annotated[int | None, Query(ge=1, le=12, description="批次 / batch")] = None,
        year: Annotated[int | None, Query(ge=2000, le=2100, description="年份 / year")] = None,
        limit: Limit = 10,
    ) -> list[SimilarProject]:
        auth.require_token(who)
        project = _readable(pilot, who, project_id)
        auth.check_read(who, project_id, owner=project.owner)
        filters = SimilarFilters(direction=direction, region=region, batch=batch, year=year)
        return pilot.similar_to_project(project_id, filters, owner=auth.list_owner(who), limit=limit)

    @r.post(
        "/similar",
        summary="相似项目（按文本） / projects similar to a text",
        description=SIMILAR_DESCRIPTION,
    )
    def similar_to_text(body: SimilarTextRequest, who: Who, pilot: PilotDep) -> list[SimilarProject]:
        owner = auth.list_owner(who)
        filters = SimilarFilters.model_validate(body.model_dump(include=set(SimilarFilters.model_fields)))
        return pilot.similar_to_text(body.text, filters, owner=owner, limit=body.limit)

    return r
