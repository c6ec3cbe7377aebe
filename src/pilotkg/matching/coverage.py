"""Which of a direction's requirements a description addresses, misses or fails.

* threshold requirements: quantities the text states (Arabic or Chinese numerals, ranges, levels)
  of the same dimension, near words of the requirement, are compared with the threshold parsed
  from the corpus — the verdict follows the corpus, nothing is hard-coded;
* means requirements: which of the listed technologies the text uses (Chinese or English names);
* capabilities: the best-matching clause of the text by embedding similarity, backed by lexical
  overlap; weak evidence is reported as ``uncertain`` rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pilotkg.matching.base import CoverageReport, Evidence, RequirementCheck, Status
from pilotkg.matching.search import passage_text
from pilotkg.policy import (
    Corpus,
    MappedText,
    Quantity,
    Requirement,
    Sentence,
    Tokenizer,
    compare,
    extract_quantities,
    prepare_query,
    split_clauses,
    split_sentences,
)
from pilotkg.vectors import Embedder

# English and Chinese names of the same technology: applicants mix them freely.
ALIASES: dict[str, tuple[str, ...]] = {
    "人工智能": ("ai", "人工智能", "深度学习", "机器学习", "神经网络", "智能识别", "算法模型", "大模型"),
    "大数据": ("大数据", "big data", "数据中台", "数据湖", "数据仓库"),
    "云计算": ("云计算", "云平台", "云端", "cloud", "上云", "私有云", "公有云"),
    "5g": ("5g",),
    "物联网": ("物联网", "iot", "nb-iot", "lora", "传感网", "zigbee"),
    "工业互联网": ("工业互联网", "iiot", "industrial iot", "industrial internet", "工业物联网"),
    "互联网": ("互联网", "internet", "移动互联", "app", "小程序", "web"),
    "无人机": ("无人机", "uav", "drone", "航拍", "航测"),
    "卫星遥感": ("卫星遥感", "遥感", "卫星", "insar", "satellite"),
    "图像识别": (
        "图像识别",
        "视频识别",
        "视觉识别",
        "计算机视觉",
        "图像分析",
        "image recognition",
        "红外识别",
    ),
    "虚拟现实": ("虚拟现实", "vr", "ar", "混合现实", "mr", "元宇宙"),
    "数字孪生": ("数字孪生", "digital twin", "孪生"),
    "工业机器人": ("工业机器人", "机器人", "robot", "机械臂"),
    "地理信息技术": ("地理信息", "gis", "北斗", "gnss", "三维地图"),
    "新型传感器": ("传感器", "sensor", "mems", "光纤传感"),
    "先进传感技术": ("传感", "sensor", "检测仪", "探测器"),
    "自动控制技术": ("自动控制", "plc", "dcs", "sis", "自控", "联锁"),
    "特种装备": ("特种装备", "特种车辆", "抢险车", "特种设备"),
}


# Words that stand for each other around a stated value (告警 for 报警, 发布 for 响应 …).
SYNONYMS: tuple[frozenset[str], ...] = (
    frozenset({"报警", "告警", "预警", "警报", "报警响应", "预警响应"}),
    frozenset({"响应", "发布", "推送", "发出", "送达", "触发", "产出"}),
    frozenset({"精度", "误差", "分辨率", "准确度", "偏差"}),
    frozenset({"时间", "时长", "耗时", "延迟", "时延", "用时"}),
)


@dataclass(frozen=True)
class Thresholds:
    # A capability's evidence score = best clause similarity
    #   + lexical * share of the requirement's character bigrams found in the text
    #   + spread * its z-score among the direction's requirements
    #   + focus * (its similarity − the best similarity of that clause to ANY requirement of the guide),
    # i.e. a clause really addresses a requirement when that requirement is what the clause is
    # closest to. Weights and cut-offs are set by the figures of `pilotkg eval` (README).
    lexical: float = 0.2
    spread: float = 0.02
    focus: float = 2.0
    addressed: float = 0.9115  # at or above: addressed
    missing: float = 0.9105  # below: missing; in between: uncertain
    lexical_support: float = 0.5  # lexical-only checker: share of bigrams that counts as addressed
    quantity_window: int = 24  # characters around a stated value searched for the requirement's words


_BIGRAM_STOP = set("的和与及等在对为是或并将其中上下各个实现提升提高进行开展运用应用采用利用基于具有能力水平技术系统")


def bigrams(text: str) -> set[str]:
    s = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", text.lower())
    return {s[i : i + 2] for i in range(len(s) - 1) if not (s[i] in _BIGRAM_STOP and s[i + 1] in _BIGRAM_STOP)}


def _related_words(words: list[str]) -> set[str]:
    out = set(words)
    for group in SYNONYMS:
        if any(w in group for w in words):
            out |= group
    return out


@dataclass
class _Units:
    """Evidence units of the text: sentences and their clauses, with offsets into the original."""

    texts: list[str]
    spans: list[tuple[int, int]]
    vecs: np.ndarray


def _units(mapped: MappedText, sentences: list[Sentence], embedder: Embedder) -> _Units:
    texts: list[str] = []
    spans: list[tuple[int, int]] = []
    for s in sentences:
        texts.append(s.text)
        spans.append(mapped.span(s.start, s.end))
        parts = split_clauses(s.text)
        if len(parts) > 1:
            for a, b in parts:
                if b - a >= 4:
                    texts.append(s.text[a:b])
                    spans.append(mapped.span(s.start + a, s.start + b))
    vecs = embedder.embed_queries(texts) if texts else np.zeros((0, 1))
    return _Units(texts, spans, vecs)


class CoverageChecker:
    def __init__(
        self,
        corpus: Corpus,
        embedder: Embedder,
        tokenizer: Tokenizer,
        thresholds: Thresholds | None = None,
        lexical_only: bool = False,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> None:
        """``vectors`` (requirement id → passage vector) saves re-embedding what the index holds."""
        self.corpus = corpus
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.t = thresholds or Thresholds()
        self.lexical_only = lexical_only
        reqs = corpus.requirements
        if vectors is None or any(r.id not in vectors for r in reqs):
            names = {d.number: d.name for d in corpus.directions}
            vecs = embedder.embed_passages([passage_text(names[r.direction], r.text) for r in reqs])
            vectors = {r.id: v for r, v in zip(reqs, vecs, strict=True)}
        self._vec = {r.id: np.asarray(vectors[r.id], dtype=np.float32) for r in reqs}
        self._all = np.stack([self._vec[r.id] for r in reqs])

    def check(self, text: str, direction: int) -> CoverageReport:
        d = self.corpus.direction(direction)
        mapped = prepare_query(text)
        sentences = split_sentences(mapped.text)
        units = _units(mapped, sentences, self.embedder)
        norm = mapped.text.lower()
        text_bigrams = bigrams(mapped.text)
        quantities = extract_quantities(mapped.text)
        sims = {r.id: self._best(r, units) for r in d.requirements}
        # for each clause of the text: its similarity to the requirement of the guide it is closest to
        unit_best = (units.vecs @ self._all.T).max(axis=1) if units.texts else np.zeros(0)
        vals = np.array([v for _, v in sims.values()])
        mean, sd = float(vals.mean()), float(vals.std()) or 1.0
        checks = [
            self._one(
                r,
                text,
                mapped,
                norm,
                text_bigrams,
                units,
                quantities,
                sims[r.id],
                (sims[r.id][1] - mean) / sd,
                float(unit_best[sims[r.id][0]]) if sims[r.id][0] >= 0 else 0.0,
            )
            for r in d.requirements
        ]
        counts = {s: sum(1 for c in checks if c.status == s) for s in ("addressed", "missing", "violated", "uncertain")}
        return CoverageReport(direction=d.number, direction_name=d.name, requirements=checks, counts=counts)

    def _best(self, r: Requirement, units: _Units) -> tuple[int, float]:
        if not units.texts:
            return -1, 0.0
        sims = units.vecs @ self._vec[r.id]
        i = int(np.argmax(sims))
        return i, float(sims[i])

    def _evidence(self, original: str, units: _Units, i: int, score: float) -> list[Evidence]:
        if i < 0:
            return []
        s, e = units.spans[i]
        return [Evidence(text=original[s:e], start=s, end=e, score=round(score, 4))]

    def _one(
        self,
        r: Requirement,
        original: str,
        mapped: MappedText,
        norm: str,
        text_bigrams: set[str],
        units: _Units,
        quantities: list[Quantity],
        best: tuple[int, float],
        z: float,
        unit_best: float,
    ) -> RequirementCheck:
        base = {"id": r.id, "text": r.span.text, "kind": r.kind, "section": r.section}
        req_tokens = [t for t in self.tokenizer.tokens(r.text) if len(t) > 1]
        rb = bigrams(r.text)
        overlap = len(rb & text_bigrams) / max(len(rb), 1)
        i, sim = best
        if self.lexical_only:
            score = 1.0 if overlap >= self.t.lexical_support else 0.0
            i = -1
        else:
            score = sim + self.t.lexical * overlap + self.t.spread * z + self.t.focus * (sim - unit_best)
        if r.kind == "threshold" and r.quantity is not None:
            return self._threshold(r, base, original, mapped, quantities, req_tokens)
        if r.kind == "means":
            used = [m for m in r.means if _uses(m, norm)]
            status: Status = "addressed" if used else "missing"
            return RequirementCheck(
                **base,
                status=status,
                score=round(len(used) / max(len(r.means), 1), 4),
                means_used=used,
                means_listed=list(r.means),
                evidence=self._evidence(original, units, *self._means_unit(used, units)) if used else [],
            )
        if self.lexical_only:
            status = "addressed" if score >= 1.0 else "missing"
        elif score >= self.t.addressed:
            status = "addressed"
        elif score < self.t.missing:
            status = "missing"
        else:
            status = "uncertain"
        ev = self._evidence(original, units, i, sim) if status != "missing" else []
        return RequirementCheck(**base, status=status, score=round(score, 4), evidence=ev)

    @staticmethod
    def _means_unit(used: list[str], units: _Units) -> tuple[int, float]:
        for i, t in enumerate(units.texts):
            if any(_uses(m, t.lower()) for m in used):
                return i, 1.0
        return -1, 0.0

    def _threshold(
        self,
        r: Requirement,
        base: dict[str, str],
        original: str,
        mapped: MappedText,
        quantities: list[Quantity],
        req_tokens: list[str],
    ) -> RequirementCheck:
        assert r.quantity is not None
        q_req = r.quantity
        words = _related_words([t for t in req_tokens if not re.search(r"\d", t) and t not in q_req.text])
        w = self.t.quantity_window
        stated = [
            q
            for q in quantities
            if q.dimension == q_req.dimension
            and any(word in mapped.text[max(0, q.start - w) : q.end + w] for word in words)
        ]
        if not stated:
            return RequirementCheck(**base, status="missing", score=0.0, required=q_req.describe_zh())
        verdicts = [(compare(q_req, q), q) for q in stated]
        # The worst stated value decides: one failing figure is enough to fail the threshold.
        order = {"violated": 0, "unknown": 1, "satisfied": 2}
        verdict, q = min(verdicts, key=lambda vq: order[vq[0]])
        statuses: dict[str, Status] = {"violated": "violated", "unknown": "uncertain", "satisfied": "addressed"}
        status = statuses[verdict]
        s, e = mapped.span(q.start, q.end)
        ev = [Evidence(text=original[s:e], start=s, end=e, score=1.0)]
        return RequirementCheck(
            **base, status=status, score=1.0, evidence=ev, required=q_req.describe_zh(), stated=q.text
        )


def _uses(means: str, norm_text: str) -> bool:
    key = means.lower()
    names = (*ALIASES.get(key, ()), key)
    for alias in ALIASES:
        if alias in key:  # "人工智能分析处理技术" uses the aliases of 人工智能
            names += ALIASES[alias]
    for n in names:
        if n.isascii():
            if re.search(rf"(?<![a-z]){re.escape(n)}(?![a-z])", norm_text):
                return True
        elif n in norm_text:
            return True
    return False
