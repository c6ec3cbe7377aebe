"""Description → the directions ranked, with a calibrated confidence, evidence, and out-of-scope.

Scores per direction (from Qdrant, joined by the direction number in the payload):

* ``whole``: cosine of the whole description with the direction's text (name + 应用成效 + 示范要求);
* ``clauses``: for each sentence of the description, its best requirement of that direction,
  averaged over sentences — what makes long, multi-topic texts rank right (against the requirement
  vectors stored in Qdrant, read once);
* ``lexical``: BM25 (jieba tokens, IDF from Qdrant) of the description against the direction text.

Each score is standardised across the directions of the query and combined with weights chosen
by the ablation in ``pilotkg eval`` (README). e5 similarities are compressed (right ≈ 0.88,
wrong ≈ 0.85), so no fixed cosine cut-off decides out-of-scope: the best direction has to beat
the nearest of a set of *other* safety domains (traffic, hospitals, gas mains, …) that the
programme's guide does not cover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pilotkg.matching.base import DirectionScore, Evidence, MatchResult
from pilotkg.matching.search import POLICY, query_sparse, requirement_vectors
from pilotkg.policy import Corpus, MappedText, Sentence, Tokenizer, prepare_query, split_sentences
from pilotkg.vectors import Embedder, IndexPoint, SearchRequest, SparseVec, VectorIndex

Mode = Literal["hybrid", "dense", "lexical"]

# Safety and emergency domains outside the guide's 16 directions. A description nearer to one of
# these than to any direction is out of scope. Written for the product, not taken from test data.
OTHER_DOMAINS: tuple[str, ...] = (
    "道路交通事故救援与高速公路交通安全管理",
    "铁路与城市轨道交通运营安全",
    "民航机场与航空器运行安全",
    "海上船舶搜救与水上交通安全",
    "城市燃气管网泄漏监测与供热管网安全",
    "建筑施工工地安全与高处作业防护",
    "电力电网输变电设施运行安全",
    "电梯、锅炉、压力容器等特种设备安全监管",
    "医院医疗服务与医疗机器人",
    "传染病疫情防控与公共卫生应急",
    "食品药品安全检测与追溯",
    "社会治安、公安执法与反恐安防",
    "校园安全与学生安全管理",
    "城市高层建筑与商业综合体火灾消防",
    "城市隧道、桥梁、地铁等基础设施结构健康监测",
    "网络安全与信息系统安全防护",
    "金融风险控制与保险理赔",
    "农业生产与病虫害防治",
    "大气、水质等生态环境污染监测",
    "气象观测与天气预报服务",
    "医护人员医学继续教育培训",
)


@dataclass(frozen=True)
class Weights:
    whole: float = 1.0
    clauses: float = 0.5
    lexical: float = 0.1
    # best whole-text similarity minus the nearest other domain's; below this → out of scope
    scope_margin: float = -0.006
    scope_scale: float = 0.01  # logistic scale of the in-scope probability
    temperature: float = 0.5  # softmax temperature over fused z-scores


WEIGHTS: dict[Mode, Weights] = {
    "hybrid": Weights(),
    "dense": Weights(lexical=0.0),
    "lexical": Weights(whole=0.0, clauses=0.0, lexical=1.0),
}


_DIR = ("direction",)  # the only payload field scoring reads


def _z(x: np.ndarray) -> np.ndarray:
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


class Matcher:
    def __init__(
        self,
        corpus: Corpus,
        embedder: Embedder,
        index: VectorIndex,
        tokenizer: Tokenizer,
        *,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> None:
        """``vectors``: the stored requirement vectors by requirement id, when the caller already read
        them (default: read from the index)."""
        self.corpus = corpus
        self.embedder = embedder
        self.index = index
        self.tokenizer = tokenizer
        self.numbers = [d.number for d in corpus.directions]
        self._pos = {n: i for i, n in enumerate(self.numbers)}
        self._groups = {g.number: g.name for g in corpus.groups}
        # Every sentence is scored against every requirement (the best one per direction counts), an
        # exhaustive product rather than a nearest-neighbour query: the stored requirement vectors are
        # read from the index once, and one matrix product replaces returning all of them per sentence
        # (10 ms of a 300-character match went to materialising those hits).
        stored = vectors if vectors is not None else requirement_vectors(index, corpus)
        reqs = [r for r in corpus.requirements if r.id in stored]
        self._req_matrix = (
            np.stack([stored[r.id] for r in reqs]).astype(np.float32) if reqs else np.zeros((0, embedder.dim))
        )
        self._req_direction = np.array([self._pos[r.direction] for r in reqs], dtype=np.int64)

    @staticmethod
    def anchor_points(embedder: Embedder) -> list[IndexPoint]:
        vecs = embedder.embed_passages(list(OTHER_DOMAINS))
        return [
            IndexPoint(id=f"anchor/{i}", kind="anchor", dense=v, sparse=SparseVec([], []), payload={"text": t})
            for i, (t, v) in enumerate(zip(OTHER_DOMAINS, vecs, strict=True))
        ]

    def _scores(
        self, text: str, sentences: list[Sentence]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
        n = len(self.numbers)
        spans_of = getattr(self.embedder, "embed_query_spans", None)
        if spans_of is not None and len(sentences) > 1:
            whole_v, sent_v = spans_of(text, [(s.start, s.end) for s in sentences])
        else:
            vecs = self.embedder.embed_queries([text, *[s.text for s in sentences]])
            whole_v, sent_v = vecs[0], vecs[1:]
        sparse = query_sparse(self.tokenizer, text)
        # One engine call: the whole text, the lexical query (empty when no term is known) and the
        # nearest other domain.
        results = self.index.search_batch(
            POLICY,
            [
                SearchRequest(dense=whole_v, mode="dense", limit=n, filters={"kind": "direction"}, fields=_DIR),
                SearchRequest(sparse=sparse, mode="sparse", limit=n, filters={"kind": "direction"}, fields=_DIR),
                SearchRequest(dense=whole_v, mode="dense", limit=1, filters={"kind": "anchor"}, fields=()),
            ],
        )
        whole, lexical = np.zeros(n), np.zeros(n)
        for h in results[0]:
            whole[self._pos[int(h.payload["direction"])]] = h.score
        for h in results[1]:
            lexical[self._pos[int(h.payload["direction"])]] = h.score
        other = results[2][0].score if results[2] else 0.0
        # Best requirement of each direction per sentence (cosine of unit vectors; floor 0 as before).
        clause_best = np.zeros((len(sentences), n))
        if len(sentences) and len(self._req_matrix):
            sims = np.asarray(sent_v, dtype=np.float32) @ self._req_matrix.T
            for si in range(len(sentences)):
                np.maximum.at(clause_best[si], self._req_direction, sims[si])
        clauses = clause_best.mean(axis=0) if len(sentences) else whole.copy()
        return whole, clauses, lexical, other, clause_best

    def match(self, text: str, top: int = 3, mode: Mode = "hybrid") -> MatchResult:
        mapped = prepare_query(text)
        sentences = split_sentences(mapped.text)
        whole, clauses, lexical, other, clause_best = self._scores(mapped.text, sentences)
        w = WEIGHTS[mode]
        fused = w.whole * _z(whole) + w.clauses * _z(clauses) + w.lexical * _z(lexical)
        probs = np.exp((fused - fused.max()) / w.temperature)
        probs /= probs.sum()
        if mode == "lexical":
            margin = 1.0 if lexical.max() > 0 else -1.0
            p_in = 1.0 if margin > 0 else 0.0
        else:
            margin = float(whole.max()) - other
            p_in = 1.0 / (1.0 + math.exp(-(margin - w.scope_margin) / w.scope_scale))
        order = np.argsort(-fused, kind="stable")
        directions = []
        for j in order[: max(top, 1)]:
            d = self.corpus.directions[j]
            directions.append(
                DirectionScore(
                    number=d.number,
                    name=d.name,
                    group=self._groups.get(d.group, ""),
                    score=round(float(probs[j] * p_in), 4),
                    similarity=round(float(fused[j]), 4),
                    evidence=self._evidence(mapped, sentences, clause_best[:, j]),
                )
            )
        return MatchResult(out_of_scope=p_in < 0.5, confidence=directions[0].score, directions=directions)

    @staticmethod
    def _evidence(mapped: MappedText, sentences: list[Sentence], scores: np.ndarray, k: int = 2) -> list[Evidence]:
        out = []
        for i in np.argsort(-scores)[:k]:
            s = sentences[int(i)]
            start, end = mapped.span(s.start, s.end)
            out.append(Evidence(text=s.text, start=start, end=end, score=round(float(scores[int(i)]), 4)))
        return out
