"""The evaluation harness on a handful of labelled cases written for this test (not the eval data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pilotkg.evaluate import (
    PROTOTYPE_GRID,
    CaseData,
    EvalReport,
    Feedback,
    Harness,
    PrototypeSums,
    Tally,
    cross_validate,
    fit,
    folds,
    harness,
    load_cases,
    prepare,
    render,
)
from pilotkg.matching import CoverageChecker, Judgments, load_judgments

CASES = [
    (8, "AI摄像机识别烟火，起火后5分钟内报警推送。", ["8.identify", "8.response"], [], []),
    (8, "护林员巡山，从起火到上报平均约1小时。", [], ["8.identify"], ["8.response"]),
    (8, "林区部署红外热成像相机，自动识别火点并10分钟内告警。", ["8.identify", "8.response"], [], []),
    (8, "建设林区防火道路和蓄水池。", [], ["8.identify", "8.response"], []),
    (8, "卫星热点每天推送两次，由人工核查是否为火情。", [], ["8.identify", "8.response"], []),
    (8, "无人机挂载双光吊舱，识别烟点后两分钟内回传坐标。", ["8.identify", "8.response"], [], []),
    (0, "城市道路交通信号灯配时优化。", [], [], []),
    (0, "医院门诊挂号排队叫号系统。", [], [], []),
    (0, "银行柜面反欺诈培训课程。", [], [], []),
    (0, "高速公路桥梁支座更换工程。", [], [], []),
]


def _prepared(pilot, tmp_path: Path) -> tuple[Harness, list[CaseData]]:  # type: ignore[no-untyped-def]
    """CASES as a labelled JSONL file, read and encoded by the harness as `pilotkg eval` does."""
    path = tmp_path / "cases.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"id": f"t{i}", "direction": d, "text": t, "addressed": a, "missing": m, "violated": v})
            for i, (d, t, a, m, v) in enumerate(CASES)
        ),
        encoding="utf-8",
    )
    keys = {"8.identify": (8, "火情快速识别"), "8.response": (8, "报警响应时间少于30分钟")}
    h = harness(pilot)
    return h, prepare(h, load_cases(path), keys, lambda _m: None)


def test_cross_validation_is_grouped_by_case_and_reports_writeups(pilot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h, data = _prepared(pilot, tmp_path)
    split = folds(data, 3)
    held = [i for f in split for i in f]
    assert sorted(held) == list(range(len(data)))  # every case in exactly one fold, with all its keys
    assert all(any(data[i].case.direction == 0 for i in f) for f in split)  # stratified: each fold has OOS cases
    reports = cross_validate(h, data, 3, lambda _m: None)
    assert [r.title.split("— ")[1] for r in reports] == ["all cases", "application write-ups"]
    all_cases = reports[0]
    assert all_cases.matching[0].cases == len(CASES) and all_cases.coverage[0].keys == 12
    assert 0.0 <= all_cases.coverage[0].accuracy <= 1.0
    assert "| learned |" in render(all_cases)
    j = fit(h, data, created="2026-01-01", data_digest={"cases.jsonl": "0" * 64})
    assert j.cases == len(CASES) and set(j.threshold_confidence) <= {"addressed", "missing", "violated", "uncertain"}
    for cut in (j.scope_cut, j.capability_cut):  # fitted on a grid: no cut-off with more than two digits
        assert 0.3 <= cut <= 0.7 and round(cut, 2) == cut


def test_a_prototype_moves_towards_the_addressing_clauses_shrunk_by_count() -> None:
    q = np.array([1.0, 0.0, 0.0])
    clause = np.array([0.0, 1.0, 0.0])
    none = Feedback(np.zeros(3), 0, np.zeros(3), 0)
    assert none.prototype(q, 2.0).vector == [1.0, 0.0, 0.0] and none.prototype(q, 2.0).probe == []
    one = none.add(clause, addressed=True)
    many = one.add(clause, addressed=True).add(clause, addressed=True)
    # q + β · n/(n+1) · mean: one case moves q less than three that agree
    assert 0 < one.prototype(q, 2.0).vector[1] < many.prototype(q, 2.0).vector[1]
    assert abs(float(np.linalg.norm(many.prototype(q, 2.0).vector)) - 1.0) < 1e-3
    assert many.prototype(q, 2.0).probe == []  # no missing case: no difference vector
    both = many.add(np.array([0.0, 0.0, 1.0]), addressed=False)
    probe = both.prototype(q, 2.0).probe
    assert probe[1] > 0 > probe[2]  # towards what addressing texts say, away from what missing ones say
    left = both.add(np.array([0.0, 0.0, 1.0]), addressed=False, sign=-1)  # leave a case out
    assert left.prototype(q, 2.0) == many.prototype(q, 2.0)


def test_the_product_answers_as_the_harness_does(pilot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # fitted judgments go through the artefact's text and back; the product's checker with them and the
    # harness with the fitted object give the same rows, and the shipped artefact is read the same way too
    h, data = _prepared(pilot, tmp_path)
    j = fit(h, data, created="2026-01-01")
    assert j.prototypes and j.prototype_beta > 0  # the requirement holding 火情快速识别 was taught
    text = "在林场制高点架设热成像云台，识别烟点后自动推送坐标给值班员，巡护员携带终端核实。"
    shipped = Judgments.model_validate_json(j.to_json())
    product = CoverageChecker(pilot.corpus, pilot.embedder, pilot.tokenizer, judgments=shipped).check(text, 8)
    harnessed = h.checker.report(h.checker.reader.read(text), 8, judgments=j)
    assert [(r.id, r.status, r.score) for r in product.requirements] == [
        (r.id, r.status, r.score) for r in harnessed.requirements
    ]
    served = pilot.check(text, 8)[0]
    harnessed = h.checker.report(h.checker.reader.read(text), 8, judgments=load_judgments())
    assert [(r.id, r.status, r.score) for r in served.requirements] == [
        (r.id, r.status, r.score) for r in harnessed.requirements
    ]


def test_decided_accuracy_leaves_out_only_the_uncertain_keys() -> None:
    # 10 keys: 6 right, 2 answered uncertain, 1 the checker could not judge (a failure, not a doubt)
    t = Tally(keys=10, right=6, uncertain=2, unjudged=1, kinds={"capability": [8, 4, 2], "means": [2, 2, 0]})
    c = t.coverage_figures("learned")
    assert c.accuracy == 0.6
    assert c.decided_accuracy == 6 / 8
    assert c.uncertain_share == 2 / 9
    # by kind: where the checker is weak shows (capability 4 of 8, 4 of 6 decided; means 2 of 2)
    assert c.by_kind["capability"].accuracy == 0.5 and c.by_kind["capability"].decided_accuracy == 4 / 6
    assert c.by_kind["means"].accuracy == 1.0 and c.by_kind["means"].uncertain_share == 0.0
    text = render(EvalReport(matching=[], coverage=[c]))
    assert "| 0.750 |" in text and "| learned | capability | 8 | 0.500 | 0.250 | 0.667 |" in text


def test_prototypes_are_learned_from_the_training_descriptions_leaving_each_case_out(pilot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    h, data = _prepared(pilot, tmp_path)
    j = fit(h, data)
    dp = j.direction_prototypes
    assert dp is not None and dp.weight in PROTOTYPE_GRID
    directions, domains = (np.array(m, dtype=np.float64) for m in dp.matrices())
    base_d, base_o = h.matcher.base_vectors()
    assert directions.shape == base_d.shape and domains.shape == base_o.shape
    assert np.allclose(np.linalg.norm(directions, axis=1), 1.0, atol=1e-3)
    # only direction 8 has descriptions here: the others keep the guide's own vector
    moved = np.einsum("ij,ij->i", directions, base_d) < 0.999
    assert moved.tolist() == [n == 8 for n in h.matcher.numbers]
    # the other domains nearest to the out-of-scope descriptions move, the rest keep their passage's vector
    nearest = {int(np.argmax(d.scores.domain_whole)) for d in data if d.case.direction == 0}
    assert set(np.flatnonzero(np.einsum("ij,ij->i", domains, base_o) < 0.999)) == nearest
    # a fire description written like the training ones is nearer direction 8's prototype than its guide text
    new = h.matcher.scores("林场瞭望塔加装热成像摄像机，识别到烟点后3分钟内把火点坐标推送给护林员。").vec_whole
    assert new is not None and float(directions[7] @ new) > float(base_d[7] @ new)
    # a training case is scored against prototypes learned without it, as a held-out case would be
    sums = PrototypeSums(h, data)
    for i in (0, len(data) - 1):  # one in scope, one out of scope
        rest = PrototypeSums(h, data[:i] + data[i + 1 :])
        for a, b in zip(sums.matrices(1.0, leave_out=i), rest.matrices(1.0), strict=True):
            assert np.allclose(a, b, atol=1e-9)
