"""The search relevance floor, chosen by cross-validation (a script, not a test).

    .venv/bin/python benchmarks/search_floor.py [--data-dir DIR] [--folds 5]

Labelled queries written for this script: searches an applicant or reviewer would type about the
policy (relevant) and searches about nothing in it (irrelevant). A query's score is its best dense
cosine with a public point (direction, requirement, article). For each fold the floor that best
separates the training queries (balanced accuracy, the midpoint between neighbouring scores) is
applied to the held-out fold; the script prints the held-out accuracy and the floor chosen on all
queries. Builds graph + index into a temporary data dir unless ``--data-dir`` holds a built one.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
from pathlib import Path

from pilotkg.graph.rdf import build as build_graph
from pilotkg.matching.search import POLICY, PUBLIC_KINDS, RELEVANCE_FLOOR
from pilotkg.service import Pilot, build_index
from pilotkg.settings import Settings

REPO = Path(__file__).resolve().parents[1]

RELEVANT = [
    "报警响应时间",
    "尾矿库 溃坝",
    "森林火灾监测预警",
    "推荐名额",
    "申报截止日期",
    "联合单位数量",
    "瓦斯监测",
    "冲击地压预警",
    "危化品事故救援装备",
    "无人机巡查",
    "堰塞湖处置",
    "地震应急救援",
    "城市内涝",
    "安全应急教育培训",
    "矿山井下应急通讯",
    "示范工程有效期",
    "项目遴选",
    "跟踪评价",
    "评价认定",
    "化工园区安全风险监测",
    "高层建筑消防救援",
    "洪涝灾害抢险装备",
    "卫星遥感监测火情",
    "应急通信保障",
    "产品+服务+保险模式",
    "申报条件",
    "工业互联网安全生产",
    "人员定位与救援",
    "危险化学品泄漏处置",
    "地质灾害监测预警",
    "应急物资储备",
    "单兵防护装备",
]
IRRELEVANT = [
    "披萨外卖",
    "今晚的足球比赛",
    "股票行情",
    "红烧肉做法",
    "周末看电影",
    "手机壳",
    "宠物狗美容",
    "婚礼策划",
    "英语四级考试",
    "减肥食谱",
    "旅游攻略 三亚",
    "篮球鞋推荐",
    "奶茶店加盟",
    "钢琴培训班",
    "租房合同",
    "网络游戏充值",
    "咖啡豆烘焙",
    "口红色号",
    "相亲节目",
    "二手车报价",
    "明星八卦",
    "瑜伽课程",
    "蛋糕烘焙",
    "装修风格",
    "猫粮品牌",
    "演唱会门票",
    "考研复试",
    "电竞比赛",
    "美甲",
    "火锅底料",
]


def best_cosine(pilot: Pilot, q: str) -> float:
    dense = pilot.embedder.embed_queries([q])[0]
    hits = pilot.index.search(POLICY, dense=dense, mode="dense", limit=1, filters={"kind": list(PUBLIC_KINDS)})
    return hits[0].score if hits else 0.0


def fit(scores: list[tuple[float, bool]]) -> float:
    """The floor with the best balanced accuracy on ``scores``: a midpoint between two scores."""
    xs = sorted(s for s, _ in scores)
    cands = [(a + b) / 2 for a, b in itertools.pairwise(xs)] or xs
    return max(cands, key=lambda t: (balanced(scores, t), -abs(t - 0.8)))


def balanced(scores: list[tuple[float, bool]], t: float) -> float:
    pos = [s for s, y in scores if y]
    neg = [s for s, y in scores if not y]
    tpr = sum(s >= t for s in pos) / max(len(pos), 1)
    tnr = sum(s < t for s in neg) / max(len(neg), 1)
    return (tpr + tnr) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings()
        s = Settings(
            corpus_dir=REPO / "corpus",
            data_dir=args.data_dir or Path(tmp),
            model_dir=base.resolved_model_dir.resolve(),
        )
        if args.data_dir is None:
            build_graph(s)
            build_index(s)
        pilot = Pilot.open(s, read_only=True)
        try:
            scores = [(best_cosine(pilot, q), True) for q in RELEVANT]
            scores += [(best_cosine(pilot, q), False) for q in IRRELEVANT]
            floor = fit(scores)
            # End to end, as shipped: a hit also stays when it shares a term with the query (BM25).
            shown = {q: bool(pilot.search(q, limit=10)) for q in RELEVANT + IRRELEVANT}
        finally:
            pilot.close()
    rng = random.Random(15)
    order = list(range(len(scores)))
    rng.shuffle(order)
    held: list[bool] = []
    floors = []
    for k in range(args.folds):
        test = [scores[i] for i in order[k :: args.folds]]
        train = [scores[i] for j, i in enumerate(order) if j % args.folds != k]
        t = fit(train)
        floors.append(t)
        held += [(sc >= t) == y for sc, y in test]
    pos = sorted(s for s, y in scores if y)
    neg = sorted(s for s, y in scores if not y)
    print(f"{len(pos)} relevant, {len(neg)} irrelevant queries")
    print(f"relevant best cosine: min {pos[0]:.3f}, median {pos[len(pos) // 2]:.3f}, max {pos[-1]:.3f}")
    print(f"irrelevant best cosine: min {neg[0]:.3f}, median {neg[len(neg) // 2]:.3f}, max {neg[-1]:.3f}")
    print(f"{args.folds}-fold floors: {', '.join(f'{t:.3f}' for t in floors)}")
    print(f"held-out accuracy: {sum(held)}/{len(held)} = {sum(held) / len(held):.3f}")
    print(f"floor fitted on all queries: {floor:.3f} (shipped: RELEVANCE_FLOOR = {RELEVANCE_FLOOR})")
    ok_rel = sum(shown[q] for q in RELEVANT)
    ok_irr = sum(not shown[q] for q in IRRELEVANT)
    print(
        f"as shipped (floor or a shared term): {ok_rel}/{len(RELEVANT)} relevant queries get results, "
        f"{ok_irr}/{len(IRRELEVANT)} irrelevant get none"
    )
    print("  wrong:", ", ".join([q for q in RELEVANT if not shown[q]] + [q for q in IRRELEVANT if shown[q]]) or "-")
    near = [(sc, q) for (sc, _), q in zip(scores, RELEVANT + IRRELEVANT, strict=True) if abs(sc - floor) < 0.01]
    print("near the floor:", ", ".join(f"{q} {sc:.3f}" for sc, q in sorted(near)))


if __name__ == "__main__":
    main()
