"""The matcher on the real model and index (built once per session in a tmp data dir)."""

from __future__ import annotations

import numpy as np

FIRE = (
    "在林区瞭望塔部署AI烟火识别摄像机和卫星遥感热点监测，发现烟点后自动定位火点，"
    "报警信息经5G网络实时推送到森林防火指挥中心。"
)


def test_forest_fire_ranks_direction_8_first(pilot) -> None:  # type: ignore[no-untyped-def]
    res = pilot.match(FIRE, top=3)
    assert not res.out_of_scope
    assert res.directions[0].number == 8
    assert res.directions[0].name == "森林草原火灾监测预警系统"
    assert res.directions[0].score > res.directions[1].score
    assert 0 < res.confidence <= 1


def test_evidence_points_into_the_original_text(pilot) -> None:  # type: ignore[no-untyped-def]
    text = "  煤矿井下部署瓦斯、一氧化碳传感器。\n数据接入工业互联网平台，AI模型实时预警顶板与瓦斯灾害。"
    res = pilot.match(text)
    assert res.directions[0].number in (1, 2)
    for e in res.directions[0].evidence:
        assert text[e.start : e.end] == e.text and e.text.strip()


def test_traditional_characters(pilot) -> None:  # type: ignore[no-untyped-def]
    res = pilot.match("森林草原火災監測預警：無人機巡護與衛星遙感，火情自動識別與定位，告警即時推送。")
    assert res.directions[0].number == 8


def test_out_of_scope(pilot) -> None:  # type: ignore[no-untyped-def]
    for text in (
        "医院病房配送机器人，自动运送药品和标本，减少护士往返。",
        "城市道路交通事故快速救援工具包，供交警和救护车使用。",
    ):
        res = pilot.match(text)
        assert res.out_of_scope, text
        assert res.confidence < 0.5


def test_lexical_and_dense_modes_differ_but_rank(pilot) -> None:  # type: ignore[no-untyped-def]
    dense = pilot.matcher.match(FIRE, mode="dense")
    lexical = pilot.matcher.match(FIRE, mode="lexical")
    assert dense.directions[0].number == 8
    assert lexical.directions[0].number == 8
    assert dense.directions[0].similarity != lexical.directions[0].similarity


def test_search_joins_back_to_graph(pilot) -> None:  # type: ignore[no-untyped-def]
    from pilotkg import iri

    hits = pilot.search("尾矿库漫顶溃坝", limit=5)
    assert hits and hits[0].iri == iri.iri(hits[0].id)
    assert any(h.direction in (1, 4) for h in hits)
    arts = pilot.search("公示时长不少于15个工作日", limit=3, kinds=["article"])
    assert arts[0].id == "article/13"


def test_sentence_scores_equal_qdrant_scores_of_every_requirement(pilot) -> None:  # type: ignore[no-untyped-def]
    # The matcher scores sentences against the requirement vectors it read from the index once; the
    # result must be what asking Qdrant for every requirement gives (its best per direction).
    from pilotkg.matching.search import POLICY

    m = pilot.matcher
    ms = m.scores("井下部署微震与应力传感器。平台识别冲击地压前兆并自动分级预警。无人机巡查尾矿库坝体。")
    clause_best, clauses = ms.clause_best, ms.clauses
    assert clause_best.shape == (3, len(m.numbers))
    _, sent_v = m.embedder.embed_query_spans(ms.mapped.text, [(s.start, s.end) for s in ms.sentences])
    n_req = len(pilot.corpus.requirements)
    for si, v in enumerate(sent_v):
        expected = np.zeros(len(m.numbers))
        for h in m.index.search(POLICY, dense=v, mode="dense", limit=n_req, filters={"kind": "requirement"}):
            j = m.numbers.index(int(h.payload["direction"]))
            expected[j] = max(expected[j], h.score)
        assert np.allclose(clause_best[si], expected, atol=1e-5)
    assert np.allclose(clauses, clause_best.mean(axis=0))
