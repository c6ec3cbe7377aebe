"""The application facade: everything the CLI and the API do goes through one ``Pilot``.

It loads the corpus, the RDF store, the embedder and the vector index once, so a running server
pays for them at start-up and not per request.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import pyoxigraph as ox
from pydantic import ValidationError

from pilotkg import iri
from pilotkg.errors import AccessDenied, NotFoundError, PilotkgError, ServiceBusy, ShapeViolation, StoreError
from pilotkg.graph import (
    BuildSummary,
    ExportFormat,
    GraphStore,
    QueryResult,
    SparqlLimits,
    Term,
    ValidationReport,
    build_policy_graph,
    describe_query,
    export,
    labels_query,
    open_store,
    run_query,
    validate,
    void_query,
)
from pilotkg.graph import build as build_graph_into_store
from pilotkg.matching import (
    POLICY,
    ActionPlan,
    CoverageChecker,
    CoverageReport,
    Matcher,
    MatchResult,
    ScenarioNamer,
    SearchHit,
    build_policy_index,
    checklist_csv,
    checklist_markdown,
    description_vectors,
    hint_for,
    index_scenarios,
    load_action_plan,
    requirement_vectors,
    scenario_vectors,
    search,
    tokenizer_for,
)
from pilotkg.policy import ApplyInfo, Article, Corpus, Direction, Tokenizer, apply_info, load_corpus
from pilotkg.projects import (
    PROJECTS,
    EligibilityReport,
    Enrichment,
    ImportProgress,
    ImportReport,
    ProjectIn,
    ProjectInputError,
    ProjectOut,
    RuleSet,
    SimilarFilters,
    SimilarProject,
    Unit,
    UnreadableProject,
    compile_rules,
    get_project,
    import_file,
    import_projects,
    index_projects,
    list_projects,
    policy_text,
    precheck_projects,
    project_owner,
    read_projects,
    similar_to_project,
    similar_to_text,
    stored_project_ids,
    unreadable_projects,
)
from pilotkg.settings import Settings
from pilotkg.vectors import Embedder, VectorIndex, build_model, ensure_model, get_embedder, open_index

Progress = Callable[[str], None]
# Projects embedded per turn at the encoder gate when indexing (an interactive request waits at most one turn).
_INDEX_BATCH = 16
# Stored points compared per index request, and projects re-indexed per batch, by the doctor.
_DOCTOR_CHUNK = 500


class EncoderGate:
    """Fair turns at the encoder (one model, one pass at a time). Interactive requests (match, check,
    search) go before batch work (an import's projects, indexing), which takes one small turn at a time;
    at most ``max_waiting`` interactive requests wait, later ones get 503 at once instead of piling up."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max(1, max_waiting)
        self._cond = threading.Condition()
        self._busy = False
        self._waiting = 0

    @contextlib.contextmanager
    def interactive(self) -> Iterator[None]:
        with self._cond:
            if self._busy and self._waiting >= self.max_waiting:
                raise ServiceBusy("the encoder is busy; try again shortly", "编码器正忙，请稍后重试", where="encoder")
            self._waiting += 1
            try:
                while self._busy:
                    self._cond.wait()
            finally:
                self._waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        with self._cond:
            while self._busy or self._waiting:
                self._cond.wait()
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()


@dataclass(frozen=True)
class HealthCheck:
    """One thing :meth:`Pilot.doctor` checked: what, whether it holds, and what was found (zh + en)."""

    name: str
    ok: bool
    message_en: str
    message_zh: str


@dataclass
class DoctorReport:
    checks: list[HealthCheck]
    reindexed: list[str]  # project ids that were stored but missing from the similar-project index
    unreadable: list[UnreadableProject]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checks": [c.__dict__ for c in self.checks],
            "reindexed": self.reindexed,
            "unreadable_projects": [u.__dict__ for u in self.unreadable],
        }

    def failure(self) -> StoreError | None:
        """Why the service must not answer (the first failed check), or None."""
        bad = [c for c in self.checks if not c.ok]
        if not bad:
            return None
        return StoreError(
            "integrity check failed, refusing to serve: " + "; ".join(c.message_en for c in bad),
            "完整性检查未通过，拒绝提供服务：" + "；".join(c.message_zh for c in bad),
            where=bad[0].name,
        )


@dataclass(frozen=True)
class IndexSummary:
    points: int
    model: str
    dim: int
    location: str
    seconds: float


def build_index(settings: Settings, corpus: Corpus | None = None, progress: Progress | None = None) -> IndexSummary:
    """Embed the policy (directions, requirements, articles, out-of-scope anchors) into Qdrant."""
    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    corpus = corpus or load_corpus(settings.corpus_dir)
    embedder = get_embedder(settings)
    index = open_index(settings)
    try:
        say(f"embedding with {embedder.name} / 向量化")
        n = build_policy_index(
            corpus, embedder, index, tokenizer_for(corpus), lambda i, total: say(f"indexed {i}/{total}")
        )
        anchors = Matcher.anchor_points(embedder)
        index.upsert(POLICY, anchors)
        if (plan := load_action_plan(settings.corpus_dir, corpus)) is not None:
            index_scenarios(plan, embedder, index)  # its own collection; not counted in the policy points
    finally:
        index.close()
    where = settings.qdrant_url or str(settings.index_dir)
    return IndexSummary(n + len(anchors), embedder.name, embedder.dim, where, time.perf_counter() - t0)


class Pilot:
    """The facade. Every part opens on first use, so a command pays only for what it needs: listing
    directions parses the corpus, a SPARQL query opens the store, matching loads the model and index.
    ``read_only`` opens the store and index read-only (a CLI beside a running server)."""

    def __init__(self, settings: Settings, *, read_only: bool = False, serving: bool = False) -> None:
        self.settings = settings
        self.read_only = read_only
        # A server runs users' SPARQL in worker processes (killed at the time limit); the CLI in-process.
        self.serving = serving
        self._lock = threading.RLock()  # concurrent first requests must not race to open a part
        self._corpus: Corpus | None = None
        self._tokenizer: Tokenizer | None = None
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        self._store: GraphStore | None = None
        self._matcher: Matcher | None = None
        self._checker: CoverageChecker | None = None
        self._rules: RuleSet | None = None
        self._action_plan: ActionPlan | None = None
        self._action_plan_loaded = False
        self._scenario_namer: ScenarioNamer | None = None
        self.gate = EncoderGate(settings.encoder_queue)

    @classmethod
    def open(cls, settings: Settings, *, read_only: bool = False, serving: bool = False) -> Pilot:
        return cls(settings, read_only=read_only, serving=serving)

    # --- parts, opened on first use ---
    @property
    def corpus(self) -> Corpus:
        with self._lock:
            if self._corpus is None:
                self._corpus = load_corpus(self.settings.corpus_dir)
            return self._corpus

    @property
    def tokenizer(self) -> Tokenizer:
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = tokenizer_for(self.corpus)
            return self._tokenizer

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = get_embedder(self.settings)
            return self._embedder

    @property
    def index(self) -> VectorIndex:
        with self._lock:
            if self._index is None:
                index = open_index(self.settings, read_only=self.read_only)
                try:
                    index.check_model(POLICY, self.embedder.name, self.embedder.dim)
                except BaseException:
                    index.close()
                    raise
                self._index = index
            return self._index

    @property
    def store(self) -> GraphStore:
        """The RDF store: read-write unless the Pilot is read-only (a server is the one writer)."""
        with self._lock:
            if self._store is None:
                workers = self.settings.sparql_workers if self.serving else 0
                self._store = open_store(self.settings, read_only=self.read_only, workers=workers)
            return self._store

    @property
    def matcher(self) -> Matcher:
        self._open_matching()
        assert self._matcher is not None
        return self._matcher

    @property
    def checker(self) -> CoverageChecker:
        self._open_matching()
        assert self._checker is not None
        return self._checker

    def _open_matching(self) -> None:
        with self._lock:
            if self._matcher is None or self._checker is None:
                vectors = requirement_vectors(self.index, self.corpus)  # read once, shared by both
                self._matcher = Matcher(self.corpus, self.embedder, self.index, self.tokenizer, vectors=vectors)
                self._checker = CoverageChecker(self.corpus, self.embedder, self.tokenizer, vectors=vectors)

    @property
    def action_plan(self) -> ActionPlan | None:
        """The 2023–2025 action plan's scenarios and cross-walk (None: the corpus has no scenario table)."""
        with self._lock:
            if not self._action_plan_loaded:
                self._action_plan = load_action_plan(self.settings.corpus_dir, self.corpus)
                self._action_plan_loaded = True
            return self._action_plan

    @property
    def scenario_namer(self) -> ScenarioNamer | None:
        with self._lock:
            plan = self.action_plan
            if self._scenario_namer is None and plan is not None:
                vectors = scenario_vectors(plan, self.embedder, self.index)
                self._scenario_namer = ScenarioNamer(plan, vectors, len(self.corpus.directions))
            return self._scenario_namer

    @property
    def rules(self) -> RuleSet:
        """The eligibility rules, compiled once, citing clauses by the corpus's own text (CLI and API alike)."""
        with self._lock:
            if self._rules is None:
                self._rules = compile_rules(self.corpus, policy_text=policy_text(self.settings, self.corpus))
            return self._rules

    # --- building ---
    def build(
        self, *, index: bool = True, progress: Progress | None = None
    ) -> tuple[BuildSummary, IndexSummary | None]:
        """Parse → RDF → SHACL → store, then (``index``) the search index; builds the model if missing."""
        say = progress or (lambda _m: None)
        ensure_model(self.settings, say)
        with self._lock:  # the build writes the store and the index: release ours first
            self.close()
        graph = build_graph_into_store(self.settings, say)
        vectors = build_index(self.settings, progress=say) if index else None
        return graph, vectors

    def build_model(self, *, force: bool = False, progress: Progress | None = None) -> Path:
        """Convert the packaged multilingual-e5-small into the shared model folder (idempotent)."""
        return build_model(self.settings.resolved_model_dir, force=force, progress=progress)

    def validate(self) -> ValidationReport:
        return validate(build_policy_graph(self.corpus, self.settings.corpus_dir))

    def export(self, fmt: ExportFormat, graph: str = "policy") -> bytes:
        return export(self.store, fmt, graph)

    # --- policy ---
    def directions(self) -> list[Direction]:
        return self.corpus.directions

    def direction(self, number: int) -> Direction:
        return self.corpus.direction(number)

    def articles(self) -> list[Article]:
        return self.corpus.articles

    def article(self, number: int) -> Article:
        for a in self.corpus.articles:
            if a.number == number:
                return a
        raise NotFoundError(f"no article {number}", f"没有第{number}条", where=iri.article(number))

    # --- matching and checking ---
    def match(self, text: str, top: int = 3) -> MatchResult:
        with self.gate.interactive():
            return self._match(text, top)

    def _match(self, text: str, top: int) -> MatchResult:
        result = self.matcher.match(text, top=top)
        for d in result.directions:  # evidence quotes the user's own text, not the normalised one
            for e in d.evidence:
                e.text = text[e.start : e.end]
        self._name_scenarios(text, result)
        return result

    def _name_scenarios(self, text: str, result: MatchResult) -> None:
        """Fill the action-plan scenarios: the cross-walk of the matched direction, or (out of scope)
        the uncovered scenario the text fits. The text's vectors come from the match's cache."""
        namer = self.scenario_namer
        if namer is None:
            return
        naming = namer.name(result, description_vectors(self.embedder, text))
        result.scenarios = naming.scenarios
        result.scenario_note_zh = naming.note_zh
        result.scenario_note_en = naming.note_en

    def scenarios(self) -> ActionPlan:
        """The action plan with its scenarios and their cross-walk to the directions."""
        plan = self.action_plan
        if plan is None:
            raise NotFoundError(
                "this corpus has no action-plan scenario table (reference/action-plan-2023-scenarios.tsv)",
                "该语料没有行动计划场景表（reference/action-plan-2023-scenarios.tsv）",
                where=str(self.settings.corpus_dir),
            )
        return plan

    def check(
        self, text: str, direction: int | None = None, top: int = 1, *, by_attention: bool = False
    ) -> list[CoverageReport]:
        """Checklists whose rows carry their display text, the clause that states them and a hint for
        what is missing; in the guide's order, or (``by_attention``, as the page, the API and the CLI
        show them) violated, missing, uncertain, addressed."""
        with self.gate.interactive():
            return self._check(text, direction, top, by_attention)

    def _check(self, text: str, direction: int | None, top: int, by_attention: bool) -> list[CoverageReport]:
        if direction is not None:
            self.corpus.direction(direction)  # NotFoundError for a number the guide doesn't have
            numbers = [direction]
        else:
            found = self._match(text, top)
            if found.out_of_scope:  # no checklist for a text that fits no direction: say so, and what it is
                best = found.directions[0]
                return [
                    CoverageReport(
                        direction=best.number,
                        direction_name=best.name,
                        requirements=[],
                        counts=dict.fromkeys(("addressed", "missing", "violated", "uncertain"), 0),
                        out_of_scope=True,
                        nearest_domain=found.nearest_domain,
                    )
                ]
            numbers = [d.number for d in found.directions[:top]]
        analysis = self.checker.reader.read(text)  # one encoder pass whatever the number of directions
        reports = [self._for_applicant(self.checker.report(analysis, n)) for n in numbers]
        return [r.by_attention() for r in reports] if by_attention else reports

    def _for_applicant(self, report: CoverageReport) -> CoverageReport:
        d = self.corpus.direction(report.direction)
        group = next((g.label for g in self.corpus.groups if g.number == d.group), "")
        reqs = {r.id: r for r in d.requirements}
        section = {"effect": "应用成效", "demand": "示范要求"}
        for row in report.requirements:
            req = reqs.get(row.id)
            row.display = (req.display if req is not None else "") or row.text
            row.clause = f"{group}{d.label}{d.name}·{section.get(row.section, row.section)}"
            row.hint_zh = hint_for(row)
        return report

    def guide_title(self) -> str:
        guide = next((doc for doc in self.corpus.documents if doc.kind == "guide"), None)
        return f"《{guide.title}》" if guide is not None else ""

    def export_check(
        self, text: str, fmt: Literal["md", "csv"], direction: int | None = None
    ) -> tuple[str, CoverageReport]:
        """The checklist of ``direction`` (default: the best match) as Markdown or CSV text."""
        report = self.check(text, direction=direction, top=1, by_attention=True)[0]
        if fmt == "csv":
            return checklist_csv(report), report
        return checklist_markdown(report, source=self.guide_title()), report

    # --- before applying ---
    def apply_info(self) -> ApplyInfo:
        """Deadlines per notice, contacts, consortium rules and the characteristics reviewers weigh."""
        checked = next((r.document for r in self.rules.deadlines.values()), None)
        return apply_info(self.corpus, checked_notice=checked, raw=policy_text(self.settings, self.corpus))

    def precheck(
        self,
        *,
        lead_unit: Unit,
        partners: Sequence[Unit],
        region: str,
        batch: int,
        directions: Sequence[int] = (),
        submitted: date | None = None,
    ) -> EligibilityReport:
        """A consortium checked by the same SHACL rules as an import, with nothing stored. Stored
        projects are confidential, so they are not counted (the per-lead and per-region limits are
        decided on import). Without a date the batch's own deadline stands in (dates not checked)."""
        dates: dict[int, str] = {}
        for (_notice, b), r in sorted(self.rules.deadlines.items(), key=lambda kv: kv[1].limit):
            dates.setdefault(b, r.limit)  # the earliest deadline of the batch: valid under every notice
        when = submitted or (date.fromisoformat(dates[batch]) if batch in dates else date.today())
        chosen = list(directions) or [self.corpus.directions[0].number]
        try:
            project = ProjectIn.model_validate(
                {
                    "id": "precheck",
                    "name": "预检 / pre-check",
                    "description": "（预检，不存储 / pre-check, not stored）",
                    "direction": chosen,
                    "lead_unit": lead_unit,
                    "partners": list(partners),
                    "region": region,
                    "batch": batch,
                    "submitted": when,
                }
            )
        except ValidationError as exc:  # e.g. an unknown region: a located 422, not a 500
            raise ProjectInputError.of(exc, "precheck") from exc
        report = precheck_projects(self.corpus, [project], rules=self.rules)
        for v in report.violations:  # one form, not a project: no placeholder id in the messages
            v.message_zh = v.message_zh.removeprefix(f"项目 {project.id}：")
            v.message_en = v.message_en.removeprefix(f"project {project.id}: ")
            v.where = "precheck"
        return report

    def search(self, q: str, limit: int = 10, kinds: list[str] | None = None) -> list[SearchHit]:
        with self.gate.interactive():
            return search(q, self.embedder, self.index, self.tokenizer, limit=limit, kinds=kinds)

    # --- SPARQL ---
    def sparql(
        self,
        query: str,
        *,
        include_projects: bool,
        timeout_s: float | None = None,
        limits: SparqlLimits | None = None,
    ) -> QueryResult:
        """A user's query on the policy graph (and the projects graph with ``include_projects``);
        ``limits`` bound its text and its result (default: text limits only — the API passes the
        caller's allowance, :meth:`sparql_limits`)."""
        graphs = [iri.POLICY_GRAPH, iri.PROJECTS_GRAPH] if include_projects else [iri.POLICY_GRAPH]
        return run_query(
            self.store,
            query,
            timeout_s=timeout_s or self.settings.sparql_timeout_s,
            allowed_graphs=graphs,
            limits=limits or SparqlLimits(),
        )

    # --- linked data (pilotkg.graph.linkeddata) ---
    def describe(self, resource: str, *, include_projects: bool) -> tuple[QueryResult, list[dict[str, Term]]]:
        """A resource's triples and its sub-resources' (``/id/…``), plus the labels of the IRIs they name."""
        graphs = [iri.POLICY_GRAPH, iri.PROJECTS_GRAPH] if include_projects else [iri.POLICY_GRAPH]
        limit = self.settings.sparql_timeout_s
        res = self.store.query(describe_query(resource), named_graphs=graphs, timeout_s=limit)
        named = sorted({x.value for t in res.triples for x in (t.subject, t.object) if isinstance(x, ox.NamedNode)})
        labels = self.store.query(labels_query(named), named_graphs=graphs, timeout_s=limit).rows if named else []
        return res, labels

    def dataset_description(self) -> QueryResult:
        """The VoID + DCAT description stored with the policy graph."""
        return self.store.query(void_query(), named_graphs=[iri.POLICY_GRAPH])

    def dump(self, fmt: ExportFormat) -> bytes:
        return export(self.store, fmt)

    def sparql_limits(self, *, anonymous: bool) -> SparqlLimits:
        if not anonymous:
            return SparqlLimits(priority=True)
        return SparqlLimits(max_rows=self.settings.anonymous_max_rows, max_bytes=self.settings.anonymous_max_bytes)

    # --- projects ---
    def enrich(self, project: ProjectIn) -> Enrichment:
        """The matcher's best direction and the checklist of the chosen direction, stored with a project.
        One project at a time through the encoder gate, after any waiting interactive request."""
        with self.gate.batch():
            best = self._match(project.description, 1)
            report = self.checker.check(project.description, project.direction)
        return Enrichment.of(best.directions[0].number, best.confidence, report, project.description)

    def import_file(
        self,
        path: Path,
        *,
        enrich: bool = True,
        index: bool = True,
        progress: ImportProgress | None = None,
    ) -> ImportReport:
        """Read, check and import one projects file (JSON, JSONL or CSV); then index it for similar search."""
        report = import_file(
            self.settings,
            path,
            enrich=self.enrich if enrich else None,
            progress=progress,
            store=self.store,
            corpus=self.corpus,
            rules=self.rules,
        )
        if index:  # only after the store transaction succeeded (import_file raised otherwise)
            say = progress or (lambda _stage, _done, _total: None)
            projects = read_projects(path, corpus=self.corpus).projects
            self.index_projects(projects, lambda done, total: say("index", done, total))
        return report

    def submit_projects(self, projects: list[ProjectIn], owner: str | None = None) -> ImportReport:
        """Projects submitted through the API: an applicant (``owner``) owns what it submits, may only
        reuse its own ids, and learns which rule a batch breaks without seeing other applicants' ids."""
        owned = [p.model_copy(update={"owner": owner}) for p in projects] if owner else projects

        def authorize(existing: set[str]) -> None:
            if owner is not None:
                self._refuse_foreign_ids(sorted(existing), owner)

        try:
            report = import_projects(
                self.store, self.corpus, owned, enrich=self.enrich, source="api", rules=self.rules, authorize=authorize
            )
        except ShapeViolation as exc:
            if owner is not None and isinstance(exc.report, EligibilityReport):
                self._redact(exc.report, owner, {p.id for p in projects})
            raise
        self.index_projects(owned)  # similar-project search; only once the store transaction succeeded
        return report

    def _refuse_foreign_ids(self, existing: list[str], owner: str) -> None:
        """Re-submitting an id replaces that project, so an applicant may only reuse its own ids.
        Read without the project model, so an unreadable stored record can still be replaced by its owner."""
        for pid in existing:
            stored, stored_owner = project_owner(self.store, pid)
            if stored and stored_owner != owner:
                raise AccessDenied(
                    f"project id {pid} cannot be used; choose another id",
                    f"项目编号 {pid} 不可使用，请更换编号",
                    where=f"project/{pid}",
                )

    def _redact(self, report: EligibilityReport, owner: str, own_ids: set[str]) -> None:
        """An applicant learns which rule its file breaks, not the ids of other applicants' projects."""
        others = [p.id for p in self.list_projects() if p.owner != owner and p.id not in own_ids]
        if not others:
            return
        pattern = re.compile("|".join(re.escape(i) for i in sorted(others, key=len, reverse=True)))
        for v in report.violations:
            for field in ("found", "message_zh", "message_en", "where"):
                setattr(v, field, pattern.sub("（其他申报项目 / another application）", getattr(v, field)))

    def list_projects(self, owner: str | None = None) -> list[ProjectOut]:
        return list_projects(self.store, owner=owner)

    def get_project(self, project_id: str) -> ProjectOut:
        return get_project(self.store, project_id)

    def project_owner(self, project_id: str) -> tuple[bool, str | None]:
        """``(stored, owner)``, read without the project model (works for unreadable records too)."""
        return project_owner(self.store, project_id)

    # --- similar projects (pilotkg.projects.similar) ---
    def index_projects(self, projects: Sequence[ProjectIn], progress: Callable[[int, int], None] | None = None) -> int:
        """Put projects into the similar-project collection (re-indexing an id replaces its point), a
        small batch at a time through the encoder gate so that interactive requests get in between."""
        done = 0
        for k in range(0, len(projects), _INDEX_BATCH):
            with self.gate.batch():
                done += index_projects(self.index, self.embedder, self.tokenizer, projects[k : k + _INDEX_BATCH])
            if progress is not None:
                progress(min(k + _INDEX_BATCH, len(projects)), len(projects))
        return done

    def reindex_projects(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Index every stored project (e.g. ones imported before similar-project search existed)."""
        return self.index_projects(self.list_projects(), progress)

    def similar_to_text(
        self, text: str, filters: SimilarFilters | None = None, *, owner: str | None = None, limit: int = 10
    ) -> list[SimilarProject]:
        with self.gate.interactive():
            return similar_to_text(self.index, self.embedder, self.tokenizer, text, filters, owner=owner, limit=limit)

    def similar_to_project(
        self, project_id: str, filters: SimilarFilters | None = None, *, owner: str | None = None, limit: int = 10
    ) -> list[SimilarProject]:
        """From the project's stored vectors (no embedding). A stored project that is not indexed yet
        (imported before the collection existed, or its indexing failed) is indexed first."""
        if self.index.exists(PROJECTS):
            try:
                return similar_to_project(self.index, project_id, filters, owner=owner, limit=limit)
            except NotFoundError:
                pass  # not in the index: indexed below from the store (NotFoundError if not there either)
        index_projects(self.index, self.embedder, self.tokenizer, [self.get_project(project_id)])
        return similar_to_project(self.index, project_id, filters, owner=owner, limit=limit)

    # --- integrity (pilotkg doctor, and the server's start-up) ---
    def doctor(self, *, repair: bool = True, records: bool = True) -> DoctorReport:
        """Check the store and the index agree and answer right; with ``repair``, index the stored
        projects the similar-project index is missing (the store is the source of truth: a process killed
        between the store's commit and the indexing leaves exactly that). ``records`` also reads every
        stored project through today's model to list the ones it refuses (slow with many projects)."""
        checks: list[HealthCheck] = []

        def check(name: str, fn: Callable[[], tuple[bool, str, str]]) -> bool:
            try:
                ok, en, zh = fn()
            except PilotkgError as exc:
                ok, en, zh = False, exc.message_en, exc.message_zh
            checks.append(HealthCheck(name, ok, en, zh))
            return ok

        check("store", self._check_store)
        # each index check only makes sense once the one before it holds
        if check("index-metadata", self._check_index_metadata) and check("index-points", self._check_index_points):
            check("index-probe", self._check_index_probe)
        reindexed: list[str] = []
        unreadable: list[UnreadableProject] = []
        if all(c.ok for c in checks):

            def projects() -> tuple[bool, str, str]:
                missing = self._projects_missing_from_index()
                if missing and repair and not self.read_only:
                    self._reindex(missing)
                    reindexed.extend(missing)
                    missing = self._projects_missing_from_index()
                if missing:
                    return (
                        False,
                        f"{len(missing)} stored project(s) are not in the similar-project index",
                        f"{len(missing)} 个已存储项目不在相似项目索引中",
                    )
                return True, "every stored project is indexed", "所有已存储项目均已编入索引"

            check("projects-index", projects)
        if all(c.ok for c in checks) and records:
            unreadable = unreadable_projects(self.store)
            checks.append(
                HealthCheck(
                    "projects-readable",
                    True,  # reported, not fatal: the list leaves them out and their owners can re-submit
                    f"{len(unreadable)} stored project(s) fail today's checks",
                    f"{len(unreadable)} 个已存储项目未通过当前校验",
                )
            )
        return DoctorReport(checks, reindexed, unreadable)

    def _check_store(self) -> tuple[bool, str, str]:
        n = self.store.triple_count(iri.POLICY_GRAPH)
        if n == 0:
            return False, "the policy graph is empty: run `pilotkg build`", "政策图为空：请运行 `pilotkg build`"
        return True, f"policy graph: {n} triples", f"政策图：{n} 个三元组"

    def _check_index_metadata(self) -> tuple[bool, str, str]:
        info = self.index.info(POLICY)  # opening the index checks the model name and dimension
        return True, f"model {info.model_name}, {info.dim} dimensions", f"模型 {info.model_name}，{info.dim} 维"

    def _policy_gids(self) -> list[str]:
        c = self.corpus
        return (
            [iri.direction(d.number) for d in c.directions]
            + [iri.requirement(r.id) for r in c.requirements]
            + [iri.article(a.number) for a in c.articles]
        )

    def _check_index_points(self) -> tuple[bool, str, str]:
        gids = self._policy_gids()
        stored = self.index.get(POLICY, gids, with_vectors=True)
        found = {p.id for p in stored if p.dense is not None and p.dense.size == self.embedder.dim}
        missing = [g for g in gids if g not in found]
        if missing:
            return (
                False,
                f"{len(missing)} of {len(gids)} policy points are missing or have no vector (e.g. {missing[0]}): "
                "rebuild with `pilotkg build`",
                f"{len(gids)} 个政策向量点中有 {len(missing)} 个缺失或没有向量（如 {missing[0]}）："
                "请用 `pilotkg build` 重建",
            )
        return True, f"{len(gids)} policy points with vectors", f"{len(gids)} 个政策向量点均有向量"

    def _check_index_probe(self) -> tuple[bool, str, str]:
        """Known answers: each probed direction's own stored vector finds that direction first, with a
        cosine of ~1 (a damaged segment answers other points, or scores of 0)."""
        directions = self.corpus.directions
        probes = [directions[0], directions[len(directions) // 2], directions[-1]]
        gids = [iri.direction(d.number) for d in probes]
        vectors = {p.id: p.dense for p in self.index.get(POLICY, gids, with_vectors=True)}
        for gid in gids:
            vec = vectors.get(gid)
            hits = self.index.search(POLICY, dense=vec, mode="dense", limit=1, filters={"kind": "direction"})
            if vec is None or not hits or hits[0].id != gid or hits[0].score < 0.99:
                got = f"{hits[0].id} ({hits[0].score:.2f})" if hits else "nothing"
                return (
                    False,
                    f"probe search for {gid} answered {got}: the index is damaged, rebuild it with `pilotkg build`",
                    f"探测检索 {gid} 得到 {got}：索引已损坏，请用 `pilotkg build` 重建",
                )
        return True, f"{len(gids)} probe searches answered right", f"{len(gids)} 次探测检索结果正确"

    def _projects_missing_from_index(self) -> list[str]:
        ids = stored_project_ids(self.store)
        if not ids:
            return []
        if not self.index.exists(PROJECTS):
            return ids
        missing: list[str] = []
        for k in range(0, len(ids), _DOCTOR_CHUNK):
            chunk = ids[k : k + _DOCTOR_CHUNK]
            have = {p.id for p in self.index.get(PROJECTS, [iri.project(i) for i in chunk])}
            missing += [i for i in chunk if iri.project(i) not in have]
        return missing

    def _reindex(self, ids: list[str]) -> None:
        wanted = set(ids)
        projects = [p for p in self.list_projects() if p.id in wanted]
        for k in range(0, len(projects), _DOCTOR_CHUNK):
            self.index_projects(projects[k : k + _DOCTOR_CHUNK])

    def close(self) -> None:
        """Release the store and the index (their locks); the Pilot reopens them if used again."""
        with self._lock:
            if self._index is not None:
                self._index.close()
            if self._store is not None:
                self._store.close()
            self._index = self._store = None
            self._matcher = self._checker = None
            self._scenario_namer = None
