"""Submitted projects: typed input, file readers, the projects graph, import, listing.

A file is read completely and every bad row is collected (file:line and field) before anything is
raised; then the rows are checked against the eligibility rules the notice states (see
:mod:`pilotkg.eligibility`, run on the stored projects + the new file); only then, after optional
enrichment (matched direction, requirement coverage), is everything written in ONE store
transaction on PROJECTS_GRAPH. A file is all-or-nothing; re-importing an id replaces that project.

Graph shape (W3C ORG): a project has a ``pk:Consortium`` (an ``org:Organization``); each unit is an
``org:Organization`` (IRI from its normalised name, shared across projects) and joins the
consortium through an ``org:Membership`` with ``org:role`` pk:LeadRole / pk:PartnerRole and
``pk:unitType``. ``pk:leadUnit`` / ``pk:partner`` link project and units directly as well, which
keeps the rule shapes and reviewer queries short. Sub-resources (consortium, memberships, coverage
statements) are minted under the project's IRI, so they are removed together with it.
"""

from __future__ import annotations

import csv
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib import Literal as Lit
from rdflib.namespace import DCTERMS, ORG, SKOS

from pilotkg import iri
from pilotkg.eligibility import EligibilityReport, check_eligibility, compile_rules, deadline_notice
from pilotkg.errors import InputError, NotFoundError, ShapeViolation
from pilotkg.models import Corpus
from pilotkg.results import Status

if TYPE_CHECKING:
    from pilotkg.eligibility import RuleSet
    from pilotkg.settings import Settings
    from pilotkg.store import GraphStore

__all__ = [
    "UNIT_TYPES",
    "Enrichment",
    "ImportReport",
    "InputReport",
    "ProjectIn",
    "ProjectInputError",
    "ProjectOut",
    "RowError",
    "Unit",
    "get_project",
    "import_file",
    "import_projects",
    "list_projects",
    "project_graph",
    "read_projects",
]

PK = Namespace(iri.ONTOLOGY)
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


# --- input model -----------------------------------------------------------------------------------

UnitType = Literal["装备制造企业", "软件企业", "服务提供商", "用户单位", "金融保险机构", "other"]
UNIT_TYPES: tuple[str, ...] = get_args(UnitType)
_UNIT_ALIASES: dict[str, str] = {
    **{k: "装备制造企业" for k in ("equipment manufacturer", "equipment manufacturing enterprise",
                                "manufacturer", "manufacturing", "装备制造商", "制造企业", "装备企业")},
    **{k: "软件企业" for k in ("software enterprise", "software company", "software", "软件公司")},
    **{k: "服务提供商" for k in ("service provider", "service", "services", "服务商", "服务企业")},
    **{k: "用户单位" for k in ("user unit", "user", "end user", "customer", "用户")},
    **{k: "金融保险机构" for k in ("financial institution", "financial and insurance institution",
                               "finance", "insurance", "insurer", "bank", "金融机构", "保险机构")},
    **{k: "other" for k in ("others", "其他", "其它")},
}
MAX_DESCRIPTION = 20000
Progress = Callable[[str, int, int | None], None]  # (stage, done, total or None)


def _err(en: str, zh: str) -> PydanticCustomError:
    return PydanticCustomError("pilotkg", "{en}", {"en": en, "zh": zh})


def _clean(v: object) -> object:
    # Names are identities (the organisation IRI is their digest): one spelling per name.
    return " ".join(unicodedata.normalize("NFKC", v).split()) if isinstance(v, str) else v


Name = Annotated[str, BeforeValidator(_clean), StringConstraints(min_length=1, max_length=200)]
Short = Annotated[str, BeforeValidator(_clean), StringConstraints(min_length=1, max_length=100)]


class Unit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    type: UnitType
    region: Short | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type_alias(cls, v: object) -> object:
        if isinstance(v, str):
            key = " ".join(re.sub(r"[_\-]", " ", unicodedata.normalize("NFKC", v).lower()).split())
            return v.strip() if v.strip() in UNIT_TYPES else _UNIT_ALIASES.get(key, v)
        return v


_DATE = re.compile(r"^\s*(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?\s*$")
_YES = {"是": True, "否": False}  # pydantic already reads true/false, yes/no, 1/0


class ProjectIn(BaseModel):
    """One submitted project. ``direction`` is the chosen pilot direction; a row naming several
    directions (or several lead units) keeps the others in ``extra_directions`` /
    ``extra_lead_units`` so the eligibility check can report the rule it breaks."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^\s/\\#?%]{1,64}$")]
    name: Name
    description: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_DESCRIPTION)
    ]
    direction: Annotated[int, Field(ge=1, le=99)]
    lead_unit: Unit
    partners: Annotated[list[Unit], Field(max_length=100)] = []
    region: Short
    batch: Annotated[int, Field(ge=1, le=12)]
    submitted: date
    business_model: Short | None = None
    year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    recommended: bool = False
    owner: Name | None = None
    extra_directions: Annotated[list[Annotated[int, Field(ge=1, le=99)]], Field(exclude=True)] = []
    extra_lead_units: Annotated[list[Unit], Field(exclude=True)] = []

    @model_validator(mode="before")
    @classmethod
    def _several(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        d = data.get("direction")
        if isinstance(d, str) and re.search(r"[;,，；、]", d):
            d = [x for x in re.split(r"[;,，；、]", d) if x.strip()]
        if isinstance(d, list):
            if not d:
                raise _err("direction: give the one chosen direction", "direction：须填写所选的一个试点方向")
            data["direction"], data["extra_directions"] = d[0], d[1:]
        lead = data.get("lead_unit")
        if isinstance(lead, list):
            if not lead:
                raise _err("lead_unit: give the lead unit", "lead_unit：须填写牵头单位")
            data["lead_unit"], data["extra_lead_units"] = lead[0], lead[1:]
        return data

    @field_validator("submitted", mode="before")
    @classmethod
    def _date(cls, v: object) -> object:
        if isinstance(v, str) and (m := _DATE.match(v)):
            return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
        return v

    @field_validator("recommended", mode="before")
    @classmethod
    def _bool(cls, v: object) -> object:
        if isinstance(v, str):
            s = v.strip().lower()
            return False if not s else _YES.get(s, s)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ProjectIn:
        if self.year is None:
            self.year = self.submitted.year
        names = [u.name for u in (self.lead_unit, *self.extra_lead_units, *self.partners)]
        if dup := sorted(n for n, c in Counter(names).items() if c > 1):
            raise _err(
                f"unit(s) listed more than once (as lead or partner): {', '.join(dup)}",
                f"单位重复出现（牵头单位或联合单位）：{'、'.join(dup)}",
            )
        return self


# --- input errors ----------------------------------------------------------------------------------


class RowError(BaseModel):
    file: str
    line: int  # 1-based; 0 = the file as a whole
    field: str | None = None
    message_en: str
    message_zh: str
    value: str | None = None

    @property
    def where(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line else self.file
        return f"{loc} {self.field}" if self.field else loc

    @classmethod
    def of(cls, file: str, line: int, field: str | None, value: object, en: str, zh: str) -> RowError:
        shown = None if value is None else (s if len(s := str(value)) <= 80 else s[:77] + "…")
        return cls(file=file, line=line, field=field, message_en=en, message_zh=zh, value=shown)


class InputReport(BaseModel):
    file: str
    rows: int
    errors: list[RowError]

    def render_text(self) -> str:
        out = [f"{self.file}：{len(self.errors)} 处输入错误，未导入任何项目 / "
               f"{len(self.errors)} input error(s), nothing was imported"]
        for e in self.errors:
            val = f" (值 / value: {e.value})" if e.value is not None else ""
            out.append(f"- {e.where}: {e.message_zh} / {e.message_en}{val}")
        return "\n".join(out)


class ProjectInputError(InputError):
    """A projects file has bad rows; ``report`` lists every one of them."""

    def __init__(self, report: InputReport) -> None:
        first = report.errors[0]
        super().__init__(
            f"{len(report.errors)} bad row(s) in {report.file}; first: {first.message_en}",
            f"{report.file} 中有 {len(report.errors)} 处错误；第一处：{first.message_zh}",
            where=first.where,
        )
        self.report = report


_ZH = {
    "missing": "缺少必填字段",
    "string_too_short": "不能为空",
    "string_too_long": "文本过长",
    "string_pattern_mismatch": "格式不正确（编号不可含空格或 / \\ # ? %）",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "int_type": "应为整数",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "date_from_datetime_parsing": "日期格式不正确（应为 YYYY-MM-DD）",
    "date_parsing": "日期格式不正确（应为 YYYY-MM-DD）",
    "date_type": "日期格式不正确（应为 YYYY-MM-DD）",
    "literal_error": "单位类型不在允许范围内：" + "、".join(UNIT_TYPES),
    "extra_forbidden": "未知字段",
    "bool_parsing": "应为是/否（true/false）",
    "too_long": "条目过多",
    "list_type": "应为列表",
    "model_type": "应为对象",
    "dict_type": "应为对象",
    "string_type": "应为文本",
}


def _row_errors(exc: ValidationError, file: str, line: int) -> list[RowError]:
    out = []
    for e in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".") or None
        ctx = e.get("ctx") or {}
        en = str(ctx["en"]) if e["type"] == "pilotkg" else e["msg"]
        zh = str(ctx["zh"]) if e["type"] == "pilotkg" else _ZH.get(e["type"], e["msg"])
        value = None if e["type"] == "missing" or isinstance(e.get("input"), dict) else e.get("input")
        out.append(RowError.of(file, line, loc, value, en, zh))
    return out


# --- readers ---------------------------------------------------------------------------------------


class ReadResult(BaseModel):
    file: str
    projects: list[ProjectIn]
    lines: dict[str, int]  # project id → line of its row
    seconds: float


def read_projects(
    path: Path, *, corpus: Corpus | None = None, progress: Progress | None = None
) -> ReadResult:
    """Read a projects file: ``.json`` (an array, one project object, or ``{"projects": [...]}``),
    ``.jsonl`` or ``.csv``. Raises ProjectInputError listing every bad row; with ``corpus``, rows
    naming a direction the guide lacks or a batch without a deadline are bad rows too."""
    t0 = time.perf_counter()
    file = str(path)
    suffix = path.suffix.lower()
    readers = {".json": _json_rows, ".jsonl": _jsonl_rows, ".ndjson": _jsonl_rows, ".csv": _csv_rows}
    if suffix not in readers:
        raise InputError(
            f"unsupported projects file type {suffix or '(none)'}: use .json, .jsonl or .csv",
            f"不支持的项目文件类型 {suffix or '（无）'}：请使用 .json、.jsonl 或 .csv",
            where=file,
        )
    projects: list[ProjectIn] = []
    lines: dict[str, int] = {}
    errors: list[RowError] = []
    known = _CorpusFacts.of(corpus) if corpus is not None else None
    n = 0
    try:
        for line, row in readers[suffix](path, errors):
            n += 1
            if isinstance(row, dict):
                try:
                    p = ProjectIn.model_validate({k: v for k, v in row.items() if not str(k).startswith("_")})
                except ValidationError as exc:
                    errors += _row_errors(exc, file, line)
                    continue
                if p.id in lines:
                    errors.append(RowError.of(file, line, "id", p.id, f"id repeats line {lines[p.id]}",
                                              f"项目编号与第 {lines[p.id]} 行重复"))
                    continue
                if known is not None:
                    errors += known.row_errors(p, file, line)
                projects.append(p)
                lines[p.id] = line
            else:
                errors.append(RowError.of(file, line, None, None, "a project must be a JSON object",
                                          "每个项目须为一个 JSON 对象"))
            if progress and n % 1000 == 0:
                progress("read", n, None)
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc}", f"无法读取文件 {file}：{exc}", where=file) from exc
    except UnicodeDecodeError as exc:
        raise InputError("the file is not UTF-8 text", "文件不是 UTF-8 编码的文本", where=file) from exc
    if progress:
        progress("read", n, n)
    if not errors and not projects:
        errors.append(RowError.of(file, 0, None, None, "the file holds no projects", "文件中没有项目"))
    if errors:
        raise ProjectInputError(InputReport(file=file, rows=n, errors=errors))
    return ReadResult(file=file, projects=projects, lines=lines, seconds=time.perf_counter() - t0)


Rows = Iterator[tuple[int, object]]


def _jsonl_rows(path: Path, errors: list[RowError]) -> Rows:
    with path.open(encoding="utf-8-sig") as fh:
        for no, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                yield no, json.loads(text)
            except json.JSONDecodeError as exc:
                errors.append(
                    RowError.of(str(path), no, None, None, f"not JSON: {exc.msg}", "不是合法的 JSON")
                )


_WS = re.compile(r"\s*")


def _json_rows(path: Path, errors: list[RowError]) -> Rows:
    text = path.read_text(encoding="utf-8-sig")
    dec = json.JSONDecoder()
    counter = _LineCounter(text)

    def ws(i: int) -> int:
        return _WS.match(text, i).end()  # type: ignore[union-attr]

    def array(i: int) -> Rows:  # i at "["
        i = ws(i + 1)
        while i < len(text) and text[i] != "]":
            item, end = dec.raw_decode(text, i)
            yield counter.line(i), item
            i = ws(end)
            if text[i : i + 1] == ",":
                i = ws(i + 1)
            elif text[i : i + 1] != "]":
                raise json.JSONDecodeError("expected ',' or ']'", text, i)

    try:
        start = ws(0)
        if text[start : start + 1] == "[":
            yield from array(start)
            return
        obj, _ = dec.raw_decode(text, start)
        if not (isinstance(obj, dict) and isinstance(obj.get("projects"), list)):
            yield counter.line(start), obj  # a single project
            return
        i = ws(start + 1)  # find the "projects" member's array by walking the top-level members
        while True:
            key, i = dec.raw_decode(text, i)
            i = ws(ws(i) + 1)
            if key == "projects":
                yield from array(i)
                return
            _, i = dec.raw_decode(text, i)
            i = ws(ws(i) + 1)
    except json.JSONDecodeError as exc:
        errors.append(RowError.of(str(path), exc.lineno, None, None, f"not valid JSON: {exc.msg}",
                                  "不是合法的 JSON"))


class _LineCounter:
    """Line numbers of increasing offsets in one pass."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.no = text, 0, 1

    def line(self, offset: int) -> int:
        self.no += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.no


CSV_COLUMNS = (
    "id", "name", "description", "direction", "lead_unit", "lead_unit_type", "lead_unit_region",
    "partners", "region", "batch", "submitted", "business_model", "year", "recommended", "owner",
)
_CSV_REQUIRED = ("id", "name", "description", "direction", "lead_unit", "region", "batch", "submitted")


def _units(cell: str) -> list[dict[str, str | None]]:
    """``name|type[|region];name|type`` → unit dicts (validated by the model)."""
    out: list[dict[str, str | None]] = []
    for part in re.split(r"[;；]", cell):
        if not part.strip():
            continue
        bits = [b.strip() for b in part.split("|")]
        out.append({"name": bits[0], "type": bits[1] if len(bits) > 1 else "",
                    "region": (bits[2] or None) if len(bits) > 2 else None})
    return out


def _csv_rows(path: Path, errors: list[RowError]) -> Rows:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        bad = [c for c in header if c not in CSV_COLUMNS]
        missing = [c for c in _CSV_REQUIRED if c not in header]
        if bad or missing:
            errors.append(RowError.of(
                str(path), 1, None, ",".join(header),
                f"CSV header: unknown column(s) {bad}, missing {missing}; columns: {', '.join(CSV_COLUMNS)}",
                f"CSV 表头：未知列 {bad}，缺少列 {missing}；可用列：{'、'.join(CSV_COLUMNS)}",
            ))
            return
        last = 1
        for rec in reader:
            line, last = last + 1, reader.line_num
            if None in rec:
                errors.append(RowError.of(str(path), line, None, None, "more cells than columns",
                                          "单元格数多于列数"))
                continue
            row: dict[str, object] = {k: v for k, v in rec.items() if v is not None and v.strip() != ""}
            lead = str(row.pop("lead_unit", ""))
            ltype, lregion = row.pop("lead_unit_type", ""), row.pop("lead_unit_region", None)
            if "|" in lead or ";" in lead:
                row["lead_unit"] = _units(lead)
            elif lead:
                row["lead_unit"] = {"name": lead, "type": ltype, "region": lregion}
            row["partners"] = _units(str(row.get("partners", "")))
            yield line, row


# --- enrichment, output, report ------------------------------------------------------------------


class Enrichment(BaseModel):
    """What the matcher and the coverage checker say about one project."""

    matched_direction: int
    confidence: float = Field(ge=0.0, le=1.0)
    statuses: dict[str, Status] = Field(default_factory=dict, description="requirement id → status")


class ProjectOut(ProjectIn):
    gid: str
    iri: str
    matched_direction: int | None = None
    match_confidence: float | None = None
    coverage: dict[str, Status] = Field(default_factory=dict)


class ImportReport(BaseModel):
    file: str
    rows: int
    created: list[str]
    updated: list[str]
    enriched: int
    triples_written: int
    stored_projects_considered: int
    eligibility: EligibilityReport
    seconds: float
    timings: dict[str, float]

    def render_text(self) -> str:
        def ids(xs: list[str]) -> str:
            return ", ".join(xs[:10]) + (f" … (+{len(xs) - 10})" if len(xs) > 10 else "")

        lines = [
            f"导入 {self.file}：{self.rows} 个项目（新增 {len(self.created)}，更新 {len(self.updated)}），"
            f"写入 {self.triples_written} 条三元组，用时 {self.seconds:.2f} 秒",
            f"Imported {self.file}: {self.rows} project(s) ({len(self.created)} new, "
            f"{len(self.updated)} updated), {self.triples_written} triples written in {self.seconds:.2f} s",
        ]
        if self.created:
            lines.append(f"  新增 / new: {ids(self.created)}")
        if self.updated:
            lines.append(f"  更新 / updated: {ids(self.updated)}")
        if self.enriched:
            lines.append(f"  已匹配方向与要求覆盖 / enriched with matcher results: {self.enriched}")
        lines.append(self.eligibility.render_text())
        return "\n".join(lines)


# --- graph -----------------------------------------------------------------------------------------


def _node(gid: str) -> URIRef:
    return URIRef(iri.iri(gid))


def project_iri(project_id: str) -> URIRef:
    return _node(iri.project(project_id))


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
    add((node, PK.region, Lit(p.region)))
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
        org = _node(iri.organisation(unit.name))
        add((org, RDF.type, ORG.Organization))
        add((org, SKOS.prefLabel, Lit(unit.name)))
        add((node, link, org))
        m = _sub(node, "membership", str(i))
        add((m, RDF.type, ORG.Membership))
        add((m, ORG.member, org))
        add((m, ORG.organization, consortium))
        add((m, ORG.role, role))
        add((m, PK.unitType, UNIT_TYPE_IRI[unit.type]))
        if unit.region:
            add((m, PK.region, Lit(unit.region)))


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
    return g


# --- import ----------------------------------------------------------------------------------------


def import_projects(
    store: GraphStore,
    corpus: Corpus,
    projects: Sequence[ProjectIn],
    *,
    enrich: Callable[[ProjectIn], Enrichment] | None = None,
    progress: Progress | None = None,
    source: str = "<projects>",
    lines: dict[str, int] | None = None,
    rules: RuleSet | None = None,
) -> ImportReport:
    """Check ``projects`` (one file's worth) against the rules and write them in one transaction.

    Raises ProjectInputError (ids repeated, directions/batches unknown to the corpus) or
    ShapeViolation (a rule of the notice is broken; ``.report`` is the EligibilityReport); in both
    cases the store is unchanged. ``lines`` maps project id → line in ``source``, for messages."""
    say = progress or (lambda _stage, _done, _total: None)
    t0 = time.perf_counter()
    ruleset = rules or compile_rules(corpus)
    _check_against_corpus(projects, corpus, source, lines or {})
    t1 = time.perf_counter()
    say("check", 0, len(projects))
    g = project_graph(projects, corpus)
    t_graph = time.perf_counter()
    ids = [p.id for p in projects]
    existing = _existing_projects(store, ids)
    context = _stored_context(store, projects, exclude=set(ids))
    report = check_eligibility(
        g, [project_iri(i) for i in ids], context, ruleset, lines=lines, source=source
    )
    say("check", len(projects), len(projects))
    if not report.conforms:
        n = len(report.violations)
        raise ShapeViolation(
            f"{source}: {n} violation(s) of the notice's eligibility rules; nothing was imported",
            f"{source}：{n} 处违反通知规定的申报条件，未导入任何项目",
            where=report.violations[0].where if report.violations else source,
            report=report,
        )
    t2 = time.perf_counter()
    enriched = 0
    if enrich is not None:
        for i, p in enumerate(projects, start=1):
            enrichment_graph(p.id, enrich(p), corpus, into=g)
            enriched += 1
            if i % 100 == 0 or i == len(projects):
                say("enrich", i, len(projects))
    t3 = time.perf_counter()
    say("write", 0, len(g))
    remove = _subjects_of(store, sorted(existing))
    store.update_transaction(iri.PROJECTS_GRAPH, remove, g)
    say("write", len(g), len(g))
    t4 = time.perf_counter()
    return ImportReport(
        file=source,
        rows=len(projects),
        created=[i for i in ids if i not in existing],
        updated=[i for i in ids if i in existing],
        enriched=enriched,
        triples_written=len(g),
        stored_projects_considered=report.stored_projects_considered,
        eligibility=report,
        seconds=round(t4 - t0, 3),
        timings={
            k: round(v, 3)
            for k, v in {
                "validate": t1 - t0,
                "graph": t_graph - t1,
                "rules": t2 - t_graph,
                "enrich": t3 - t2,
                "write": t4 - t3,
            }.items()
        },
    )


def import_file(
    settings: Settings,
    path: Path,
    *,
    enrich: Callable[[ProjectIn], Enrichment] | None = None,
    progress: Progress | None = None,
    store: GraphStore | None = None,
) -> ImportReport:
    """Read, check and import one projects file (JSON, JSONL or CSV) into the store of ``settings``."""
    from pilotkg.corpus import load_corpus
    from pilotkg.store import open_store

    t0 = time.perf_counter()
    corpus = load_corpus(settings.corpus_dir)
    policy_text = _policy_text(settings.corpus_dir / corpus.source)
    read = read_projects(path, corpus=corpus, progress=progress)
    rules = compile_rules(corpus, policy_text=policy_text)
    own = store is None
    st = open_store(settings) if store is None else store
    try:
        report = import_projects(
            st, corpus, read.projects, enrich=enrich, progress=progress, source=str(path),
            lines=read.lines, rules=rules,
        )
    finally:
        if own:
            st.close()
    report.timings = {"read": round(read.seconds, 3), **report.timings}
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def _policy_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # only used to name the deadline's clause; the parse succeeded
        return None


class _CorpusFacts(BaseModel):
    directions: set[int]
    batches: set[int]  # batches the deadline notice dates; empty = no deadline stated

    @classmethod
    def of(cls, corpus: Corpus) -> _CorpusFacts:
        notice = deadline_notice(corpus)
        return cls(
            directions={d.number for d in corpus.directions},
            batches={d.batch for d in notice.deadlines} if notice else set(),
        )

    def row_errors(self, p: ProjectIn, file: str, line: int) -> list[RowError]:
        out = [
            RowError.of(
                file, line, "direction", n, f"no direction {n} in the guide", f"指南中没有第 {n} 个方向"
            )
            for n in (p.direction, *p.extra_directions) if n not in self.directions
        ]
        if self.batches and p.batch not in self.batches:
            b = sorted(self.batches)
            out.append(RowError.of(file, line, "batch", p.batch,
                                   f"the notice sets no deadline for batch {p.batch} (batches: {b})",
                                   f"通知未规定第 {p.batch} 批的申报截止日期（现有批次：{b}）"))
        return out


def _check_against_corpus(
    projects: Sequence[ProjectIn], corpus: Corpus, source: str, lines: dict[str, int]
) -> None:
    """What :func:`read_projects` checks with a corpus, for projects handed over as a list."""
    facts = _CorpusFacts.of(corpus)
    errors: list[RowError] = []
    seen: set[str] = set()
    for i, p in enumerate(projects, start=1):
        line = lines.get(p.id, i)
        if p.id in seen:
            errors.append(RowError.of(source, line, "id", p.id, "id is repeated", "项目编号重复"))
        seen.add(p.id)
        errors += facts.row_errors(p, source, line)
    if errors:
        raise ProjectInputError(InputReport(file=source, rows=len(projects), errors=errors))


def _values(items: Iterable[str]) -> str:
    return " ".join(f"<{i}>" for i in items)


def _existing_projects(store: GraphStore, ids: Sequence[str]) -> set[str]:
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


def _subjects_of(store: GraphStore, ids: Sequence[str]) -> list[str]:
    """Every subject a stored project owns (itself, consortium, memberships, coverage statements)."""
    out: list[str] = []
    for k in range(0, len(ids), _CHUNK):
        values = _values(project_iri(i) for i in ids[k : k + _CHUNK])
        res = store.query(
            f"PREFIX pk: <{PK}> PREFIX org: <{ORG}> SELECT DISTINCT ?s WHERE {{ VALUES ?p {{ {values} }} "
            f"GRAPH <{iri.PROJECTS_GRAPH}> {{ {{ ?p a pk:Project BIND(?p AS ?s) }} "
            "UNION { ?p pk:consortium ?s } UNION { ?p pk:coverage ?s } "
            "UNION { ?p pk:consortium ?c . ?s org:organization ?c } } }",
            named_graphs=[iri.PROJECTS_GRAPH],
        )
        out += [r["s"].value for r in res.rows]
    return out


def _stored_context(store: GraphStore, projects: Sequence[ProjectIn], exclude: set[str]) -> Graph:
    """The stored projects that share a counting group with the new ones (same lead unit, batch and
    year; or, among recommended projects, same direction, region and year), as the triples the count
    rules read. Other stored projects cannot change any count the new file is checked on."""
    lead_keys = sorted({(iri.iri(iri.organisation(u.name)), p.batch, p.year)
                        for p in projects for u in (p.lead_unit, *p.extra_lead_units)})
    rec_keys = {(iri.iri(iri.direction(n)), p.region, p.year)
                for p in projects if p.recommended for n in (p.direction, *p.extra_directions)}
    skip = {str(project_iri(i)) for i in exclude}
    head = f"PREFIX pk: <{PK}> SELECT ?p ?a ?b ?y WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ "
    g = Graph()
    for k in range(0, len(lead_keys), _CHUNK):
        rows = " ".join(f"(<{a}> {b} {y})" for a, b, y in lead_keys[k : k + _CHUNK])
        q = head + f"VALUES (?a ?b ?y) {{ {rows} }} ?p pk:leadUnit ?a ; pk:batch ?b ; pk:year ?y }} }}"
        for r in store.query(q, named_graphs=[iri.PROJECTS_GRAPH]).rows:
            if (p := r["p"].value) not in skip:
                _add_context(g, p, {PK.leadUnit: URIRef(r["a"].value), PK.batch: Lit(int(r["b"].value)),
                                    PK.year: Lit(int(r["y"].value))})
    if rec_keys:
        # All stored recommended projects, matched here: the notice caps them per direction and region,
        # so they stay few, while a VALUES join over (direction, region, year) makes Oxigraph walk
        # every project of each direction.
        q = head + "?p pk:recommended true ; pk:direction ?a ; pk:region ?b ; pk:year ?y } }"
        for r in store.query(q, named_graphs=[iri.PROJECTS_GRAPH]).rows:
            key = (r["a"].value, r["b"].value, int(r["y"].value))
            if key in rec_keys and (p := r["p"].value) not in skip:
                _add_context(g, p, {PK.recommended: Lit(True), PK.direction: URIRef(key[0]),
                                    PK.region: Lit(key[1]), PK.year: Lit(key[2])})
    return g


def _add_context(g: Graph, project: str, values: dict[URIRef, URIRef | Lit]) -> None:
    node = URIRef(project)
    g.add((node, RDF.type, PK.Project))
    for pred, obj in values.items():
        g.add((node, pred, obj))


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


# --- reading back ----------------------------------------------------------------------------------


def list_projects(store: GraphStore, owner: str | None = None) -> list[ProjectOut]:
    """Stored projects (of ``owner`` when given), ordered by id."""
    flt = f"?p pk:owner {_str(owner)} ." if owner is not None else ""
    return _load(store, flt)


def get_project(store: GraphStore, project_id: str) -> ProjectOut:
    found = _load(store, f"VALUES ?p {{ <{project_iri(project_id)}> }}")
    if not found:
        raise NotFoundError(
            f"no project {project_id!r}", f"没有编号为 {project_id!r} 的项目", where=f"project/{project_id}"
        )
    return found[0]


def _load(store: GraphStore, flt: str) -> list[ProjectOut]:
    head = (f"PREFIX pk: <{PK}> PREFIX org: <{ORG}> PREFIX dcterms: <{DCTERMS}> PREFIX skos: <{SKOS}> "
            f"SELECT * WHERE {{ GRAPH <{iri.PROJECTS_GRAPH}> {{ {flt} ?p a pk:Project . ")
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
        "pk:unitType ?type . ?org skos:prefLabel ?uname . OPTIONAL { ?m pk:region ?uregion } } }",
        named_graphs=ng,
    ).rows
    coverage = store.query(
        head + "?p pk:coverage ?s . ?s pk:requirement ?req ; pk:status ?status } }", named_graphs=ng
    ).rows
    units: dict[str, list[tuple[str, Unit, str]]] = {}
    for r in members:
        u = Unit(name=r["uname"].value, type=_UNIT_TYPE_OF[r["type"].value],  # type: ignore[arg-type]
                 region=r["uregion"].value if "uregion" in r else None)
        units.setdefault(r["p"].value, []).append((r["role"].value, u, r["m"].value))
    cov: dict[str, dict[str, Status]] = {}
    for r in coverage:
        cov.setdefault(r["p"].value, {})[iri.gid(r["req"].value).split("/", 1)[1]] = (
            r["status"].value.rsplit("#", 1)[-1]  # type: ignore[assignment]
        )
    out: dict[str, ProjectOut] = {}
    for r in base:
        p = r["p"].value
        if p in out:  # a second pk:direction cannot be stored (rule), but never show a row twice
            continue
        ms = sorted(units.get(p, []), key=lambda t: int(t[2].rsplit("/", 1)[-1]))
        leads = [u for role, u, _ in ms if role == str(PK.LeadRole)]
        out[p] = ProjectOut(
            id=r["id"].value, name=r["name"].value, description=r["desc"].value,
            direction=_direction_number(r["dir"].value), region=r["region"].value,
            batch=int(r["batch"].value), year=int(r["year"].value),
            submitted=date.fromisoformat(r["sub"].value), recommended=r["rec"].value == "true",
            business_model=r["bm"].value if "bm" in r else None,
            owner=r["owner"].value if "owner" in r else None,
            lead_unit=leads[0], partners=[u for role, u, _ in ms if role == str(PK.PartnerRole)],
            gid=iri.gid(p), iri=p,
            matched_direction=_direction_number(r["md"].value) if "md" in r else None,
            match_confidence=float(r["conf"].value) if "conf" in r else None,
            coverage=dict(sorted(cov.get(p, {}).items())),
        )
    return sorted(out.values(), key=lambda x: x.id)


def _direction_number(value: str) -> int:
    return int(iri.gid(value).split("/", 1)[1])
