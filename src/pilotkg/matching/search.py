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
from pilotkg.matching.base import SearchHit
from pilotkg.policy import Corpus, Tokenizer, bm25_doc_vector, bm25_query_vector, domain_terms_from
from pilotkg.vectors import Embedder, IndexPoint, SparseVec, VectorIndex

POLICY = "policy"


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
) -> list[SearchHit]:
    """The portal's search box: hybrid (dense + BM25, RRF in Qdrant) over the policy."""
    dense = embedder.embed_queries([text])[0]
    hits = index.search(
        POLICY,
        dense=dense,
        sparse=query_sparse(tokenizer, text),
        mode="hybrid",
        limit=limit,
        filters={"kind": list(kinds)} if kinds else None,
    )
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
        for h in hits
    ]
