"""Projects files: reading ``.json`` / ``.jsonl`` / ``.csv`` submissions into :class:`ProjectIn` rows.

A file is read completely and every bad row is collected (file:line and field) before anything is
raised, as one :class:`ProjectInputError` whose ``report`` lists them all. With the corpus, rows
naming a direction the guide lacks or a batch the notice gives no deadline are bad rows too.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel, ValidationError

from pilotkg.errors import InputError
from pilotkg.policy import Corpus
from pilotkg.projects.base import UNIT_TYPES, ProjectIn
from pilotkg.projects.eligibility import deadline_notice

ImportProgress = Callable[[str, int, int | None], None]  # (stage, done, total or None)


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
        out = [
            f"{self.file}：{len(self.errors)} 处输入错误，未导入任何项目 / "
            f"{len(self.errors)} input error(s), nothing was imported"
        ]
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

    @classmethod
    def of(cls, exc: ValidationError, source: str) -> ProjectInputError:
        """A project built from a form or a request (not a file) that fails the model."""
        return cls(InputReport(file=source, rows=1, errors=_row_errors(exc, source, 1)))


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


def read_projects(path: Path, *, corpus: Corpus | None = None, progress: ImportProgress | None = None) -> ReadResult:
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
                    errors.append(
                        RowError.of(
                            file,
                            line,
                            "id",
                            p.id,
                            f"id repeats line {lines[p.id]}",
                            f"项目编号与第 {lines[p.id]} 行重复",
                        )
                    )
                    continue
                if known is not None:
                    errors += known.row_errors(p, file, line)
                projects.append(p)
                lines[p.id] = line
            else:
                errors.append(
                    RowError.of(file, line, None, None, "a project must be a JSON object", "每个项目须为一个 JSON 对象")
                )
            if progress and n % 1000 == 0:
                progress("read", n, None)
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc}", f"无法读取文件 {file}：{exc}", where=file) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file is not UTF-8 text (read as {exc.encoding})",
            f"文件不是 UTF-8 编码的文本（按 {exc.encoding} 读取失败）",
            where=file,
        ) from exc
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
                errors.append(RowError.of(str(path), no, None, None, f"not JSON: {exc.msg}", "不是合法的 JSON"))


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
        errors.append(RowError.of(str(path), exc.lineno, None, None, f"not valid JSON: {exc.msg}", "不是合法的 JSON"))


class _LineCounter:
    """Line numbers of increasing offsets in one pass."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.no = text, 0, 1

    def line(self, offset: int) -> int:
        self.no += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.no


CSV_COLUMNS = (
    "id",
    "name",
    "description",
    "direction",
    "lead_unit",
    "lead_unit_type",
    "lead_unit_region",
    "lead_unit_credit_code",
    "partners",
    "region",
    "batch",
    "submitted",
    "business_model",
    "year",
    "recommended",
    "owner",
)
_CSV_REQUIRED = ("id", "name", "description", "direction", "lead_unit", "region", "batch", "submitted")


def _units(cell: str) -> list[dict[str, str | None]]:
    """``name|type[|region[|credit code]];name|type`` → unit dicts (validated by the model)."""
    out: list[dict[str, str | None]] = []
    for part in re.split(r"[;；]", cell):
        if not part.strip():
            continue
        bits = [b.strip() for b in part.split("|")]
        out.append(
            {
                "name": bits[0],
                "type": bits[1] if len(bits) > 1 else "",
                "region": (bits[2] or None) if len(bits) > 2 else None,
                "credit_code": (bits[3] or None) if len(bits) > 3 else None,
            }
        )
    return out


# What spreadsheet programs save: UTF-8 (with or without a BOM), and GB18030 — a superset of GBK
# and GB2312 — which Excel writes on Chinese Windows. UTF-8 is tried first: GB18030 would decode
# almost any bytes, UTF-8 rarely decodes text that is not UTF-8.
CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def _csv_text(path: Path) -> tuple[str, str]:
    """The CSV file's text and the encoding it was read in."""
    raw = path.read_bytes()
    for enc in CSV_ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise InputError(
        f"{path} is neither UTF-8 nor GB18030/GBK text; save the CSV as UTF-8",
        f"{path} 既不是 UTF-8 也不是 GB18030/GBK 编码的文本，请将 CSV 另存为 UTF-8",
        where=str(path),
    )


def _csv_rows(path: Path, errors: list[RowError]) -> Rows:
    text, _encoding = _csv_text(path)
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        bad = [c for c in header if c not in CSV_COLUMNS]
        missing = [c for c in _CSV_REQUIRED if c not in header]
        if bad or missing:
            errors.append(
                RowError.of(
                    str(path),
                    1,
                    None,
                    ",".join(header),
                    f"CSV header: unknown column(s) {bad}, missing {missing}; columns: {', '.join(CSV_COLUMNS)}",
                    f"CSV 表头：未知列 {bad}，缺少列 {missing}；可用列：{'、'.join(CSV_COLUMNS)}",
                )
            )
            return
        last = 1
        for rec in reader:
            line, last = last + 1, reader.line_num
            if None in rec:
                errors.append(RowError.of(str(path), line, None, None, "more cells than columns", "单元格数多于列数"))
                continue
            row: dict[str, object] = {k: v for k, v in rec.items() if v is not None and v.strip() != ""}
            lead = str(row.pop("lead_unit", ""))
            ltype, lregion = row.pop("lead_unit_type", ""), row.pop("lead_unit_region", None)
            lcode = row.pop("lead_unit_credit_code", None)
            if "|" in lead or ";" in lead:
                row["lead_unit"] = _units(lead)
            elif lead:
                row["lead_unit"] = {"name": lead, "type": ltype, "region": lregion, "credit_code": lcode}
            row["partners"] = _units(str(row.get("partners", "")))
            yield line, row


# --- checks against the corpus ---------------------------------------------------------------------


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
            RowError.of(file, line, "direction", n, f"no direction {n} in the guide", f"指南中没有第 {n} 个方向")
            for n in (p.direction, *p.extra_directions)
            if n not in self.directions
        ]
        if self.batches and p.batch not in self.batches:
            b = sorted(self.batches)
            out.append(
                RowError.of(
                    file,
                    line,
                    "batch",
                    p.batch,
                    f"the notice sets no deadline for batch {p.batch} (batches: {b})",
                    f"通知未规定第 {p.batch} 批的申报截止日期（现有批次：{b}）",
                )
            )
        return out


def check_against_corpus(projects: Sequence[ProjectIn], corpus: Corpus, source: str, lines: dict[str, int]) -> None:
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
