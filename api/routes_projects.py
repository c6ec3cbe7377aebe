"""Submitted projects (confidential): submit, list, read. Who may do what is decided in :mod:`auth`."""

# No ``from __future__ import annotations``: FastAPI resolves these annotations at runtime.

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Response
from pydantic import BeforeValidator

from pilotkg.api import auth
from pilotkg.api.app import pilot_of
from pilotkg.errors import AccessDenied, NotFoundError
from pilotkg.projects import ImportReport, ProjectIn, ProjectOut
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
        description="一个项目对象，或项目对象数组（至多 1000 个） / "
        "one project object, or an array of them (≤ 1000)",
    ),
]

ProjectId = Annotated[str, Path(min_length=1, max_length=64, description="项目编号 / project id")]


def _refuse_foreign_ids(pilot: Pilot, projects: list[ProjectIn], owner: str) -> None:
    """Re-submitting an id replaces that project, so an applicant may only reuse its own ids."""
    for p in projects:
        try:
            existing = pilot.get_project(p.id)
        except NotFoundError:
            continue
        if existing.owner != owner:
            raise AccessDenied(
                f"project id {p.id} is already used by another applicant; choose another id",
                f"项目编号 {p.id} 已被其他申报单位使用，请更换编号",
                where=f"project/{p.id}",
            )


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
        owner = auth.submit_owner(who)
        if owner is not None:
            _refuse_foreign_ids(pilot, projects, owner)
        report = pilot.submit_projects(projects, owner=owner)
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
        try:
            project = pilot.get_project(project_id)
        except NotFoundError as exc:
            # The same error as for another applicant's project, so the two cannot be told apart.
            raise auth.project_not_found(project_id) from exc
        auth.check_read(who, project_id, owner=project.owner)
        return project

    return r
