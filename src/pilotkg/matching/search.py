"""The policy's search index: directions, requirements and articles as hybrid points in Qdrant.

Points carry the graph id (``direction/8``, ``requirement/d08-r06``, ``article/12``), so every hit
joins back to the graph. Dense vectors come from the embedder, sparse vectors are the BM25
term-frequency part from our own jieba tokenizer; Qdrant applies the IDF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pilotkg import iri
from pilotkg.cutoffs import shipped_cutoffs
from pilotkg.matching.base import SearchHit
from pilotkg.policy import Corpus, Tokenizer, bm25_doc_vector, bm25_query_vector, domain_terms_from
from pilotkg.vectors import Embedder, IndexPoint, SearchRequest, SparseVec, VectorIndex

POLICY = "policy"
# The kinds a search may return. The policy collection also holds internal points (the matcher's
# out-of-scope anchors), which no route or command may show: search asks for these kinds only.
PUBLIC_KINDS: tuple[str, ...] = ("direction", "requirement", "article")
# Below this dense cosine (e5 query vs. passage) a hit is not shown unless it shares a term with the
# query. Chosen by 5-fold cross-validation on labelled queries in `pilotkg judge calibrate` and read
# from its artefact (README).
RELEVANCE_FLOOR = shipped_cutoffs().search_floor.value


@dataclass(frozen=True)
class Passage:
    gid: str
    kind: str
    title: str
    text: str  # what is embedded and tokenised
    direction: int | None


def tokenizer_for(corpus: Corpus) -> Tokenizer:
    """A tokenizer whose dictionary holds the corpus's own terms (冲击地压, 尾矿库, 堰塞湖 …)."""
    texts = [d.name for d in corpus.directions]
    texts += [s.text for d in corpus.directions for s in (d.effect, d.demand) if s is not None]
    terms = domain_terms_from(texts) | {d.name for d in corpus.directions}
    return Tokenizer(terms)


def direction_text(corpus: Corpus, number: int) -> str:
    d = corpus.direction(number)
    parts = [d.name]
    parts += [s.text for s in (d.effect, d.demand) if s is not None]
    return "\n".join(parts)


def passage_text(direction_name: str, requirement_text: str) -> str:
    # The direction name gives a short clause ("准确定位") the context it needs to be found.
    return f"{direction_name}：{requirement_text}"


def requirement_vectors(index: VectorIndex, corpus: Corpus) -> dict[str, np.ndarray]:
    """The stored passage vectors of the requirements, keyed by requirement id."""
    by_gid = {iri.requirement(r.id): r.id for r in corpus.requirements}
    return {
        by_gid[p.id]: p.dense
        for p in index.get(POLICY, list(by_gid), with_vectors=True)
        if p.dense is not None and p.id in by_gid
    }


def passages(corpus: Corpus) -> list[Passage]:
    out: list[Passage] = []
    for d in corpus.directions:
        out.append(Passage(iri.direction(d.number), "direction", d.name, direction_text(corpus, d.number), d.number))
        for r in d.requirements:
            gid = iri.requirement(r.id)
            out.append(Passage(gid, "requirement", r.text, passage_text(d.name, r.text), d.number))
    for a in corpus.articles:
        out.append(Passage(iri.article(a.number), "article", a.label, f"{a.label} {a.text}", None))
    return out


def build_policy_index(
    corpus: Corpus,
    embedder: Embedder,
    index: VectorIndex,
    tokenizer: Tokenizer,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """(Re)create the policy collection from the corpus; returns the number of points."""
    ps = passages(corpus)
    token_lists = [tokenizer.tokens(p.text) for p in ps]
    avg = sum(len(t) for t in token_lists) / max(len(token_lists), 1)
    index.create(POLICY, embedder.dim, embedder.name, recreate=True)
    batch = 32
    for i in range(0, len(ps), batch):
        chunk = ps[i : i + batch]
        vecs = embedder.embed_passages([p.text for p in chunk])
        points = []
        for p, v, toks in zip(chunk, vecs, token_lists[i : i + batch], strict=True):
            ids, vals = bm25_doc_vector(toks, avg)
            points.append(
                IndexPoint(
                    id=p.gid,
                    kind=p.kind,
                    dense=np.asarray(v, dtype=np.float32),
                    sparse=SparseVec(ids, vals),
                    payload={"title": p.title, "text": p.text, "direction": p.direction},
                )
            )
        index.upsert(POLICY, points)
        if progress:
            progress(min(i + batch, len(ps)), len(ps))
    return len(ps)


def query_sparse(tokenizer: Tokenizer, text: str) -> SparseVec:
    ids, vals = bm25_query_vector(tokenizer.tokens(text))
    return SparseVec(ids, vals)


def search(
    text: str,
    embedder: Embedder,
    index: VectorIndex,
    tokenizer: Tokenizer,
    *,
    limit: int = 10,
    kinds: Sequence[str] | None = None,
    floor: float = RELEVANCE_FLOOR,
) -> list[SearchHit]:
    """The portal's search box: hybrid (dense + BM25, RRF in Qdrant) over the policy.

    RRF scores are ranks, not relevance, so a query about nothing in the policy still gets ``limit``
    hits. A hit is kept when its dense cosine reaches ``floor`` or it shares a term with the query
    (a BM25 match); nonsense ("披萨外卖") gets no results. Only :data:`PUBLIC_KINDS` are searched."""
    wanted = [k for k in (kinds or PUBLIC_KINDS) if k in PUBLIC_KINDS]
    if not wanted:
        return []
    dense = embedder.embed_queries([text])[0]
    sparse = query_sparse(tokenizer, text)
    filters = {"kind": wanted}
    pool = max(limit, 50)
    hybrid, dense_hits, lexical_hits = index.search_batch(
        POLICY,
        [
            SearchRequest(dense=dense, sparse=sparse, mode="hybrid", limit=limit, filters=filters),
            SearchRequest(dense=dense, mode="dense", limit=pool, filters=filters, fields=()),
            SearchRequest(sparse=sparse, mode="sparse", limit=pool, filters=filters, fields=()),
        ],
    )
    cosine = {h.id: h.score for h in dense_hits}
    lexical = {h.id for h in lexical_hits if h.score > 0}
    return [
        SearchHit(
            id=h.id,
            iri=iri.iri(h.id),
            kind=h.kind,
            title=str(h.payload.get("title", "")),
            text=str(h.payload.get("text", "")),
            score=h.score,
            direction=h.payload.get("direction"),
        )
        for h in hybrid
        if h.kind in PUBLIC_KINDS and (cosine.get(h.id, 0.0) >= floor or h.id in lexical)
    ]
