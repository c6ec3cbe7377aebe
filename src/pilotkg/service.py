"""The application facade: everything the CLI and the API do goes through one ``Pilot``.

It loads the corpus, the RDF store, the embedder and the vector index once, so a running server
pays for them at start-up and not per request.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import pyoxigraph as ox

from pilotkg import iri
from pilotkg.errors import AccessDenied, NotFoundError, ShapeViolation
from pilotkg.graph import (
    BuildSummary,
    ExportFormat,
    GraphStore,
    QueryResult,
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
    OtherDomain,
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
    ProjectOut,
    RuleSet,
    SimilarFilters,
    SimilarProject,
    Unit,
    compile_rules,
    get_project,
    import_file,
    import_projects,
    index_projects,
    list_projects,
    policy_text,
    precheck_projects,
    read_projects,
    similar_to_project,
    similar_to_text,
)
from pilotkg.settings import Settings
from pilotkg.vectors import Embedder, VectorIndex, build_model, ensure_model, get_embedder, open_index

Progress = Callable[[str], None]


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

    def __init__(self, settings: Settings, *, read_only: bool = False) -> None:
        self.settings = settings
        self.read_only = read_only
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

    @classmethod
    def open(cls, settings: Settings, *, read_only: bool = False) -> Pilot:
        return cls(settings, read_only=read_only)

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
                self._store = open_store(self.settings, read_only=self.read_only)
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
        result = self.matcher.match(text, top=top)
        for d in result.directions:  # evidence quotes the user's own text, not the normalised one
            for e in d.evidence:
                e.text = text[e.start : e.end]
        if result.out_of_scope and result.nearest_domain is None:
            result.nearest_domain = self._nearest_domain(text)
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

    def _nearest_domain(self, text: str) -> OtherDomain | None:
        """The nearest out-of-scope anchor, for a matcher that does not name it (issue 14's matcher
        names it in every result; this is then never reached)."""
        hits = self.index.search(
            POLICY, dense=self.embedder.embed_queries([text])[0], mode="dense", limit=1, filters={"kind": "anchor"}
        )
        if not hits:
            return None
        label = str(hits[0].payload.get("text", ""))
        return OtherDomain(id=hits[0].id, label_zh=label, label_en="", similarity=round(hits[0].score, 4))

    def check(
        self, text: str, direction: int | None = None, top: int = 1, *, by_attention: bool = False
    ) -> list[CoverageReport]:
        """Checklists whose rows carry their display text, the clause that states them and a hint for
        what is missing; in the guide's order, or (``by_attention``, as the page, the API and the CLI
        show them) violated, missing, uncertain, addressed."""
        if direction is not None:
            self.corpus.direction(direction)  # NotFoundError for a number the guide doesn't have
            numbers = [direction]
        else:
            numbers = [d.number for d in self.match(text, top=top).directions[:top]]
        reports = [self._for_applicant(self.checker.check(text, n)) for n in numbers]
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
        report = precheck_projects(self.corpus, [project], rules=self.rules)
        for v in report.violations:  # one form, not a project: no placeholder id in the messages
            v.message_zh = v.message_zh.removeprefix(f"项目 {project.id}：")
            v.message_en = v.message_en.removeprefix(f"project {project.id}: ")
            v.where = "precheck"
        return report

    def search(self, q: str, limit: int = 10, kinds: list[str] | None = None) -> list[SearchHit]:
        return search(q, self.embedder, self.index, self.tokenizer, limit=limit, kinds=kinds)

    # --- SPARQL ---
    def sparql(self, query: str, *, include_projects: bool, timeout_s: float | None = None) -> QueryResult:
        graphs = [iri.POLICY_GRAPH, iri.PROJECTS_GRAPH] if include_projects else [iri.POLICY_GRAPH]
        return run_query(
            self.store, query, timeout_s=timeout_s or self.settings.sparql_timeout_s, allowed_graphs=graphs
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

    # --- projects ---
    def enrich(self, project: ProjectIn) -> Enrichment:
        """The matcher's best direction and the checklist of the chosen direction, stored with a project."""
        best = self.match(project.description, top=1)
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
        if owner is not None:
            self._refuse_foreign_ids(projects, owner)
        owned = [p.model_copy(update={"owner": owner}) for p in projects] if owner else projects
        try:
            report = import_projects(self.store, self.corpus, owned, enrich=self.enrich, source="api", rules=self.rules)
        except ShapeViolation as exc:
            if owner is not None and isinstance(exc.report, EligibilityReport):
                self._redact(exc.report, owner, {p.id for p in projects})
            raise
        self.index_projects(owned)  # similar-project search; only once the store transaction succeeded
        return report

    def _refuse_foreign_ids(self, projects: list[ProjectIn], owner: str) -> None:
        """Re-submitting an id replaces that project, so an applicant may only reuse its own ids."""
        for p in projects:
            try:
                existing = self.get_project(p.id)
            except NotFoundError:
                continue
            if existing.owner != owner:
                raise AccessDenied(
                    f"project id {p.id} is already used by another applicant; choose another id",
                    f"项目编号 {p.id} 已被其他申报单位使用，请更换编号",
                    where=f"project/{p.id}",
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

    # --- similar projects (pilotkg.projects.similar) ---
    def index_projects(self, projects: Sequence[ProjectIn], progress: Callable[[int, int], None] | None = None) -> int:
        """Put projects into the similar-project collection (re-indexing an id replaces its point)."""
        return index_projects(self.index, self.embedder, self.tokenizer, projects, progress=progress)

    def reindex_projects(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Index every stored project (e.g. ones imported before similar-project search existed)."""
        return self.index_projects(self.list_projects(), progress)

    def similar_to_text(
        self, text: str, filters: SimilarFilters | None = None, *, owner: str | None = None, limit: int = 10
    ) -> list[SimilarProject]:
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
