"""Public policy routes: matching, coverage, search, browsing, example queries."""

# No ``from __future__ import annotations``: FastAPI must resolve the request models defined inside
# router() at runtime, and string annotations of function-local classes cannot be resolved.

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from pilotkg.api.deps import pilot_of
from pilotkg.graph import sparql
from pilotkg.matching import ActionPlan, CoverageReport, MatchResult, SearchHit
from pilotkg.policy import ApplyInfo, Article, Direction, Group, has_content
from pilotkg.projects import EligibilityReport, Unit
from pilotkg.service import Pilot
from pilotkg.settings import Settings

SearchKind = Literal["direction", "requirement", "article"]
MAX_QUERY_CHARS = 500


def _not_blank(value: str) -> str:
    # Zero-width-only or NUL-only text is as empty as whitespace (it used to get a match).
    if not has_content(value):
        raise PydanticCustomError("blank_text", "must not be blank")
    return value


class ExampleQuery(BaseModel):
    name: str = Field(description="file name under pilotkg.ontology queries/")
    title: str = Field(description="the first comment line of the file / 查询说明")
    query: str


def example_queries() -> list[ExampleQuery]:
    """The ``.rq`` files shipped as package data of ``pilotkg.ontology`` (``queries/``)."""
    return [
        ExampleQuery(name=f"{q.name}.rq", title=f"{q.title_zh} / {q.title_en}".strip(" /"), query=q.text)
        for q in sparql.example_queries()
    ]


def router(settings: Settings) -> APIRouter:
    """Routes whose request limits come from settings (so OpenAPI shows the real maxLength)."""
    max_chars = settings.max_text_chars

    Text = Annotated[
        str,
        Field(
            min_length=1,
            max_length=max_chars,
            description=f"项目描述（1–{max_chars} 字） / project description (1–{max_chars} characters)",
        ),
        AfterValidator(_not_blank),
    ]

    class MatchRequest(BaseModel):
        text: Text
        top: int = Field(3, ge=1, le=16, description="返回方向数 / number of directions to return")

    class CheckRequest(BaseModel):
        text: Text
        direction: int | None = Field(
            None,
            ge=1,
            le=99,
            description="方向序号；缺省时核对最匹配的方向 / direction number; default: the best matches",
        )
        top: int = Field(1, ge=1, le=16, description="未指定方向时核对前几个方向 / how many best directions to check")

    class ExportRequest(BaseModel):
        text: Text
        direction: int | None = Field(
            None, ge=1, le=99, description="方向序号；缺省时为最匹配的方向 / direction number; default: the best match"
        )
        format: Literal["md", "csv"] = Field("md", description="Markdown 或 CSV / Markdown or CSV")

    class PrecheckRequest(BaseModel):
        lead_unit: Unit = Field(description="牵头单位 / the lead unit")
        partners: list[Unit] = Field([], max_length=100, description="联合单位 / partner units")
        region: Annotated[str, Field(min_length=1, max_length=100, description="地区 / region")]
        batch: int = Field(ge=1, le=12, description="申报批次 / batch")
        directions: list[Annotated[int, Field(ge=1, le=99)]] = Field(
            [], max_length=16, description="所选试点方向 / chosen pilot direction(s)"
        )
        submitted: date | None = Field(None, description="拟提交日期 / planned submission date")

    r = APIRouter(prefix="/api")
    PilotDep = Annotated[Pilot, Depends(pilot_of)]

    @r.post(
        "/match",
        tags=["policy"],
        summary="匹配方向 / match directions",
        description="判断项目描述属于哪个试点示范方向（含置信度与“不属于任何方向”判定）。 / "
        "Which pilot directions a description fits, with calibrated confidence and an out-of-scope verdict.",
    )
    def match(body: MatchRequest, pilot: PilotDep) -> MatchResult:
        return pilot.match(body.text, top=body.top)

    @r.post(
        "/check",
        tags=["policy"],
        summary="核对要求 / check requirements",
        description="逐条核对方向要求：已满足 ✓、未提及 ✗、不符合 ⚠（给出陈述值与要求值）、待确认 ?；"
        "证据为原文偏移。 / "
        "Requirement checklist of a direction: addressed, missing, violated (stated vs required), uncertain; "
        "evidence carries offsets into the text as sent.",
    )
    def check(body: CheckRequest, pilot: PilotDep) -> list[CoverageReport]:
        return pilot.check(body.text, direction=body.direction, top=body.top, by_attention=True)

    @r.post(
        "/check/export",
        tags=["policy"],
        summary="下载要求清单 / download the checklist",
        description="要求清单的 Markdown 或 CSV 文本：先列不满足、未体现，含指南原文、出处与描述中的依据。 / "
        "The checklist as Markdown or CSV, what to fix first, with the guide's words, the clause and the evidence.",
        response_class=Response,
        responses={200: {"content": {"text/markdown": {}, "text/csv": {}}}},
    )
    def check_export(body: ExportRequest, pilot: PilotDep) -> Response:
        text, report = pilot.export_check(body.text, body.format, direction=body.direction)
        name = f"checklist-d{report.direction:02d}.{body.format}"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        if body.format == "csv":  # a BOM, so that Excel on Chinese Windows reads it as UTF-8
            return Response("\ufeff" + text, media_type="text/csv; charset=utf-8", headers=headers)
        return Response(text, media_type="text/markdown; charset=utf-8", headers=headers)

    @r.get(
        "/apply-info",
        tags=["browse"],
        summary="申报须知 / before you apply",
        description="各通知的申报截止日期与联系人、联合体规则（含条款出处）、评审关注的四个特点，均取自政策原文。 / "
        "Deadlines and contacts per notice, consortium rules with their clauses, and the characteristics "
        "reviewers weigh, all read from the policy text.",
    )
    def apply_info(pilot: PilotDep) -> ApplyInfo:
        return pilot.apply_info()

    @r.post(
        "/projects/precheck",
        tags=["projects"],
        summary="联合体预检（不存储） / consortium pre-check (nothing stored)",
        description="用与导入相同的 SHACL 规则检查牵头单位、联合单位、方向与批次；不存储任何数据，不需令牌。"
        "已申报项目保密，不计入每个牵头单位、每个地区的数量上限。 / "
        "Checks lead unit, partners, direction and batch with the import's SHACL rules; stores nothing, needs "
        "no token. Stored projects are confidential and not counted towards per-lead or per-region limits.",
    )
    def precheck(body: PrecheckRequest, pilot: PilotDep) -> EligibilityReport:
        return pilot.precheck(
            lead_unit=body.lead_unit,
            partners=body.partners,
            region=body.region,
            batch=body.batch,
            directions=body.directions,
            submitted=body.submitted,
        )

    @r.get(
        "/search",
        tags=["policy"],
        summary="快速搜索 / search",
        description="在方向、要求与条款中混合检索（向量 + BM25）。 / "
        "Hybrid search over directions, requirements and articles.",
    )
    def search(
        pilot: PilotDep,
        q: Annotated[
            str,
            Query(min_length=1, max_length=MAX_QUERY_CHARS, description="检索词 / query text"),
            AfterValidator(_not_blank),
        ],
        limit: Annotated[int, Query(ge=1, le=50, description="结果数 / number of hits")] = 10,
        kind: Annotated[
            list[SearchKind] | None, Query(description="限定类型，可重复 / restrict kinds (repeatable)")
        ] = None,
    ) -> list[SearchHit]:
        return pilot.search(q, limit=limit, kinds=list(kind) if kind else None)

    @r.get("/groups", tags=["browse"], summary="方向分组 / direction groups")
    def groups(pilot: PilotDep) -> list[Group]:
        return pilot.corpus.groups

    @r.get("/directions", tags=["browse"], summary="十六个方向 / the 16 directions")
    def directions(pilot: PilotDep) -> list[Direction]:
        return pilot.directions()

    @r.get("/directions/{n}", tags=["browse"], summary="一个方向及其要求 / a direction and its requirements")
    def direction(pilot: PilotDep, n: Annotated[int, Path(ge=1, description="序号 / number")]) -> Direction:
        return pilot.direction(n)

    @r.get("/articles", tags=["browse"], summary="管理办法各条 / the articles of the measures")
    def articles(pilot: PilotDep) -> list[Article]:
        return pilot.articles()

    @r.get("/articles/{n}", tags=["browse"], summary="一条 / one article")
    def article(pilot: PilotDep, n: Annotated[int, Path(ge=1, description="条序号 / number")]) -> Article:
        return pilot.article(n)

    @r.get(
        "/scenarios",
        tags=["browse"],
        summary="2023—2025年行动计划的应用场景及其与方向的对应 / the 2023–2025 action plan scenarios and cross-walk",
    )
    def scenarios(pilot: PilotDep) -> ActionPlan:
        return pilot.scenarios()

    @r.get(
        "/queries",
        tags=["sparql"],
        summary="示例 SPARQL 查询 / example SPARQL queries",
        description="随本体发布的 .rq 示例查询。 / The example .rq queries shipped with the ontology.",
    )
    def queries() -> list[ExampleQuery]:
        return example_queries()

    return r
