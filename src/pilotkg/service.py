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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pilotkg import iri
from pilotkg.errors import NotFoundError, ShapeViolation
from pilotkg.matching import (
    POLICY,
    CoverageChecker,
    CoverageReport,
    Matcher,
    MatchResult,
    SearchHit,
    build_policy_index,
    requirement_vectors,
    search,
    tokenizer_for,
)
from pilotkg.policy import Article, Corpus, Direction, Tokenizer, load_corpus
from pilotkg.projects import Enrichment, ImportReport, ProjectIn, ProjectOut
from pilotkg.settings import Settings
from pilotkg.vectors import Embedder, VectorIndex, get_embedder, open_index

if TYPE_CHECKING:
    from pilotkg.projects import SimilarFilters, SimilarProject

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
    finally:
        index.close()
    where = settings.qdrant_url or str(settings.index_dir)
    return IndexSummary(n + len(anchors), embedder.name, embedder.dim, where, time.perf_counter() - t0)


class Pilot:
    def __init__(self, settings: Settings, corpus: Corpus, embedder: Embedder, index: VectorIndex) -> None:
        self.settings = settings
        self.corpus = corpus
        self.embedder = embedder
        self.index = index
        self.tokenizer: Tokenizer = tokenizer_for(corpus)
        index.check_model(POLICY, embedder.name, embedder.dim)
        vectors = requirement_vectors(index, corpus)  # read once, shared by matcher and checker
        self.matcher = Matcher(corpus, embedder, index, self.tokenizer, vectors=vectors)
        self.checker = CoverageChecker(corpus, embedder, self.tokenizer, vectors=vectors)
        self._store: Any = None
        self._store_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> Pilot:
        corpus = load_corpus(settings.corpus_dir)
        return cls(settings, corpus, get_embedder(settings), open_index(settings))

    @property
    def store(self) -> Any:
        """The RDF store, opened read-write on first use: a server is the one writer."""
        with self._store_lock:  # concurrent first requests must not race to take the store's lock
            if self._store is None:
                from pilotkg.graph import open_store

                self._store = open_store(self.settings)
            return self._store

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
        return result

    def check(self, text: str, direction: int | None = None, top: int = 1) -> list[CoverageReport]:
        if direction is not None:
            self.corpus.direction(direction)  # NotFoundError for a number the guide doesn't have
            numbers = [direction]
        else:
            found = self.match(text, top=top)
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
        return [self.checker.report(analysis, n) for n in numbers]

    def search(self, q: str, limit: int = 10, kinds: list[str] | None = None) -> list[SearchHit]:
        return search(q, self.embedder, self.index, self.tokenizer, limit=limit, kinds=kinds)

    # --- SPARQL ---
    def sparql(self, query: str, *, include_projects: bool, timeout_s: float | None = None) -> Any:
        from pilotkg.graph import run_query

        graphs = [iri.POLICY_GRAPH, iri.PROJECTS_GRAPH] if include_projects else [iri.POLICY_GRAPH]
        return run_query(
            self.store, query, timeout_s=timeout_s or self.settings.sparql_timeout_s, allowed_graphs=graphs
        )

    # --- projects ---
    def enrich(self, project: ProjectIn) -> Enrichment:
        """The matcher's best direction and the checklist of the chosen direction, stored with a project."""
        best = self.match(project.description, top=1)
        report = self.checker.check(project.description, project.direction)
        return Enrichment(
            matched_direction=best.directions[0].number,
            confidence=best.confidence,
            statuses={r.id: r.status for r in report.requirements},
        )

    def submit_projects(self, projects: list[ProjectIn], owner: str | None = None) -> ImportReport:
        from pilotkg.projects import import_projects

        owned = [p.model_copy(update={"owner": owner}) for p in projects] if owner else projects
        try:
            report = import_projects(self.store, self.corpus, owned, enrich=self.enrich, source="api")
        except ShapeViolation as exc:
            if owner is not None and exc.report is not None:
                self._redact(exc.report, owner, {p.id for p in projects})
            raise
        self.index_projects(owned)  # similar-project search; only once the store transaction succeeded
        return report

    def _redact(self, report: Any, owner: str, own_ids: set[str]) -> None:
        """An applicant learns which rule its file breaks, not the ids of other applicants' projects."""
        others = [p.id for p in self.list_projects() if p.owner != owner and p.id not in own_ids]
        if not others:
            return
        pattern = re.compile("|".join(re.escape(i) for i in sorted(others, key=len, reverse=True)))
        for v in report.violations:
            for field in ("found", "message_zh", "message_en", "where"):
                setattr(v, field, pattern.sub("（其他申报项目 / another application）", getattr(v, field)))

    def list_projects(self, owner: str | None = None) -> list[ProjectOut]:
        from pilotkg.projects import list_projects

        return list_projects(self.store, owner=owner)

    def get_project(self, project_id: str) -> ProjectOut:
        from pilotkg.projects import get_project

        return get_project(self.store, project_id)

    # --- similar projects (pilotkg.projects.similar) ---
    def index_projects(self, projects: Sequence[ProjectIn], progress: Callable[[int, int], None] | None = None) -> int:
        """Put projects into the similar-project collection (re-indexing an id replaces its point)."""
        from pilotkg.projects import index_projects

        return index_projects(self.index, self.embedder, self.tokenizer, projects, progress=progress)

    def index_project_file(self, path: Path, progress: Callable[[int, int], None] | None = None) -> int:
        """Index the projects of a file that was just imported (the store already holds them)."""
        from pilotkg.projects import read_projects

        return self.index_projects(read_projects(path, corpus=self.corpus).projects, progress)

    def reindex_projects(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Index every stored project (e.g. ones imported before similar-project search existed)."""
        return self.index_projects(self.list_projects(), progress)

    def similar_to_text(
        self, text: str, filters: SimilarFilters | None = None, *, owner: str | None = None, limit: int = 10
    ) -> list[SimilarProject]:
        from pilotkg.projects import similar_to_text

        return similar_to_text(self.index, self.embedder, self.tokenizer, text, filters, owner=owner, limit=limit)

    def similar_to_project(
        self, project_id: str, filters: SimilarFilters | None = None, *, owner: str | None = None, limit: int = 10
    ) -> list[SimilarProject]:
        """From the project's stored vectors (no embedding). A stored project that is not indexed yet
        (imported before the collection existed, or its indexing failed) is indexed first."""
        from pilotkg.projects import PROJECTS, index_projects, similar_to_project

        if self.index.exists(PROJECTS):
            try:
                return similar_to_project(self.index, project_id, filters, owner=owner, limit=limit)
            except NotFoundError:
                pass  # not in the index: indexed below from the store (NotFoundError if not there either)
        index_projects(self.index, self.embedder, self.tokenizer, [self.get_project(project_id)])
        return similar_to_project(self.index, project_id, filters, owner=owner, limit=limit)

    def close(self) -> None:
        self.index.close()
        if self._store is not None:
            self._store.close()
