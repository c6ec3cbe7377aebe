"""Submitted projects: importing a projects file into the store, and the entry point for all of it.

A file is read completely and every bad row is collected (file:line and field) before anything is
raised; then the rows are checked against the eligibility rules the notice states (see
:mod:`pilotkg.projects.eligibility`, run on the stored projects + the new file); only then, after optional
enrichment (matched direction, requirement coverage), is everything written in ONE store
transaction on PROJECTS_GRAPH. A file is all-or-nothing; re-importing an id replaces that project.

The other concepts have their own modules beside it: :mod:`.base` (``ProjectIn``, ``Unit``,
``Enrichment``, ``ProjectOut``), :mod:`.submissions` (reading projects files, located input errors) and
:mod:`.rdf` (projects as RDF, stored projects read back).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from pilotkg import iri
from pilotkg.errors import ShapeViolation
from pilotkg.policy import Corpus
from pilotkg.projects.base import Enrichment, ProjectIn
from pilotkg.projects.eligibility import EligibilityReport, check_eligibility, compile_rules
from pilotkg.projects.rdf import (
    enrichment_graph,
    existing_projects,
    project_graph,
    project_iri,
    refresh_organisations,
    reviewer_graph,
    stored_context,
    subjects_of,
)
from pilotkg.projects.submissions import (
    ImportProgress,
    check_against_corpus,
    read_projects,
)

if TYPE_CHECKING:
    from pilotkg.graph import GraphStore
    from pilotkg.projects.eligibility import RuleSet
    from pilotkg.settings import Settings


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


# --- import ----------------------------------------------------------------------------------------


def import_projects(
    store: GraphStore,
    corpus: Corpus,
    projects: Sequence[ProjectIn],
    *,
    enrich: Callable[[ProjectIn], Enrichment] | None = None,
    progress: ImportProgress | None = None,
    source: str = "<projects>",
    lines: dict[str, int] | None = None,
    rules: RuleSet | None = None,
    authorize: Callable[[set[str]], None] | None = None,
) -> ImportReport:
    """Check ``projects`` (one file's worth) against the rules and write them in one transaction.

    ``authorize`` is called with the ids that are stored already once the rules pass, before anything
    is written (an applicant may only replace its own projects): checked after the rules, so a batch
    that breaks a rule gets the same answer whether or not one of its ids is taken.

    Raises ProjectInputError (ids repeated, directions/batches unknown to the corpus) or
    ShapeViolation (a rule of the notice is broken; ``.report`` is the EligibilityReport); in both
    cases the store is unchanged. ``lines`` maps project id → line in ``source``, for messages."""
    say = progress or (lambda _stage, _done, _total: None)
    t0 = time.perf_counter()
    ruleset = rules or compile_rules(corpus)
    check_against_corpus(projects, corpus, source, lines or {})
    t1 = time.perf_counter()
    say("check", 0, len(projects))
    g = project_graph(projects, corpus)
    t_graph = time.perf_counter()
    ids = [p.id for p in projects]
    existing = existing_projects(store, ids)
    context = stored_context(store, projects, exclude=set(ids))
    report = check_eligibility(g, [project_iri(i) for i in ids], context, ruleset, lines=lines, source=source)
    say("check", len(projects), len(projects))
    if not report.conforms:
        n = len(report.violations)
        raise ShapeViolation(
            f"{source}: {n} violation(s) of the notice's eligibility rules; nothing was imported",
            f"{source}：{n} 处违反通知规定的申报条件，未导入任何项目",
            where=report.violations[0].where if report.violations else source,
            report=report,
        )
    if authorize is not None:
        authorize(existing)
    t2 = time.perf_counter()
    enriched = 0
    if enrich is not None:
        for i, p in enumerate(projects, start=1):
            e = enrich(p)
            enrichment_graph(p.id, e, corpus, into=g)
            reviewer_graph(p, e, into=g)
            enriched += 1
            if i % 100 == 0 or i == len(projects):
                say("enrich", i, len(projects))
    else:
        for p in projects:
            reviewer_graph(p, None, into=g)
    t3 = time.perf_counter()
    say("write", 0, len(g))
    # a replaced project's units go with it: their nodes are rebuilt from the other projects (no orphans)
    remove = subjects_of(store, sorted(existing)) + refresh_organisations(store, sorted(existing), into=g)
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


def precheck_projects(
    corpus: Corpus,
    projects: Sequence[ProjectIn],
    *,
    rules: RuleSet,
    store: GraphStore | None = None,
    source: str = "precheck",
) -> EligibilityReport:
    """The import's checks without writing anything: the corpus facts (ProjectInputError for a
    direction or batch the policy lacks) and the same eligibility shapes. With ``store``, stored projects
    of the same counting groups count too (a caller that may see them); without it, only the rules
    about one project are decided."""
    check_against_corpus(projects, corpus, source, {})
    g = project_graph(projects, corpus)
    ids = [p.id for p in projects]
    context = stored_context(store, projects, exclude=set(ids)) if store is not None else None
    return check_eligibility(g, [project_iri(i) for i in ids], context, rules, source=source)


def import_file(
    settings: Settings,
    path: Path,
    *,
    enrich: Callable[[ProjectIn], Enrichment] | None = None,
    progress: ImportProgress | None = None,
    store: GraphStore | None = None,
    corpus: Corpus | None = None,
    rules: RuleSet | None = None,
) -> ImportReport:
    """Read, check and import one projects file (JSON, JSONL or CSV) into the store of ``settings``."""
    from pilotkg.graph import open_store
    from pilotkg.policy import load_corpus

    t0 = time.perf_counter()
    corpus = corpus or load_corpus(settings.corpus_dir)
    read = read_projects(path, corpus=corpus, progress=progress)
    rules = rules or compile_rules(corpus, policy_text=policy_text(settings, corpus))
    own = store is None
    st = open_store(settings) if store is None else store
    try:
        report = import_projects(
            st,
            corpus,
            read.projects,
            enrich=enrich,
            progress=progress,
            source=str(path),
            lines=read.lines,
            rules=rules,
        )
    finally:
        if own:
            st.close()
    report.timings = {"read": round(read.seconds, 3), **report.timings}
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def policy_text(settings: Settings, corpus: Corpus) -> str | None:
    """The corpus file's text, so rule reports cite a clause by its own heading (三、（四）申报截止时间)."""
    try:
        return (settings.corpus_dir / corpus.source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # only used to name the clause; the parse succeeded
        return None
