"""Scale-out at N projects: embedded Oxigraph vs `oxigraph serve` vs Virtuoso 7, plus similar-project
search in the embedded Qdrant. A script that prints a markdown table, not a test.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_scale.py 100000
    .venv/bin/python benchmarks/bench_scale.py --quick          # 20 000 projects, reviewer queries only

``--quick`` (about 5 minutes): embedded Oxigraph only, no vectors; the reviewer queries on the layout
before the triples written for them (``PREVIOUS_QUERIES``) and on the current one, same data, one run,
with a check that both give the same answers.

What is measured, and how (the printed notes repeat the figures that are extrapolated or synthetic):

* N synthetic projects that keep the notice's rules (≤ 2 per lead unit and batch, ≤ 5 recommended per
  direction and region); Chinese descriptions composed from each direction's vocabulary; ``--dup-share``
  of them are recycled copies of an earlier project (clauses rotated, words swapped, a new sentence,
  a new name, another applicant).
* Graph: the product builds the projects graph (``project_graph`` + ``enrichment_graph`` with a fake
  matcher) once, serialised to N-Triples in files of 1 000 projects. Each engine then bulk-loads the
  files through its own loader (embedded: pyoxigraph ``bulk_load``; servers: Graph Store Protocol
  POST, which pilotkg uses when ``sparql_gsp_url`` is set), within ``--load-budget-min``. On top, one
  more file of ``--import-size`` projects goes through the product's full import (eligibility rules
  against everything stored, enrichment, one SPARQL Update transaction).
* Vectors: e5 on 2 CPU cores is far too slow for N descriptions, so only the near-duplicate pairs
  and a rate sample are embedded with e5; every other project gets a synthetic vector (a real vector
  of its direction plus noise, cosine 0.95 to it). Sparse vectors are real (BM25 of every text).
  Points are upserted with the product's layout (``similar.project_point``), then HNSW is built
  (``index.optimize``).
* Latency: the ``ontology/queries/reviewer-*.rq`` queries through ``sparql.run_query``; similar-project
  search by stored project (``similar.similar_to_project``: stored vector, no embedding) without and
  with filters; the route's path (``get_project`` from the graph store + the search) per engine.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyoxigraph as ox
from rdflib import Graph

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests" / "graph"), str(ROOT / "benchmarks")]

from backends import Server, oxigraph_server, virtuoso_server  # noqa: E402
from bench_projects import REGIONS, TYPES, fake_enrich, percentile  # noqa: E402

from pilotkg import graph, iri  # noqa: E402
from pilotkg.graph.sparql import run_query  # noqa: E402
from pilotkg.graph.store import GraphStore, open_store  # noqa: E402
from pilotkg.graph.store.base import to_oxigraph  # noqa: E402
from pilotkg.graph.store.embedded import EmbeddedStore  # noqa: E402
from pilotkg.matching.search import tokenizer_for  # noqa: E402
from pilotkg.policy.base import Corpus  # noqa: E402
from pilotkg.policy.corpus import load_corpus  # noqa: E402
from pilotkg.projects.base import ProjectIn  # noqa: E402
from pilotkg.projects.importer import import_projects  # noqa: E402
from pilotkg.projects.rdf import enrichment_graph, get_project, project_graph, reviewer_graph  # noqa: E402
from pilotkg.projects.similar import (  # noqa: E402
    PROJECTS,
    SimilarFilters,
    doc_sparse,
    project_point,
    project_text,
    similar_to_project,
)
from pilotkg.settings import Settings  # noqa: E402
from pilotkg.vectors.embedder import get_embedder  # noqa: E402
from pilotkg.vectors.index.edge import EdgeIndex  # noqa: E402

CHUNK = 1000
# Per direction: scenes, equipment / technology, what it does, the result. Composed at random.
VOCAB: dict[int, tuple[list[str], list[str], list[str], list[str]]] = {
    1: (
        ["井工煤矿", "露天矿采场", "尾矿库", "金属矿井下"],
        ["微震监测系统", "应力传感器", "瓦斯浓度传感器", "GNSS位移监测站", "边坡雷达"],
        ["实时监控矿压与瓦斯灾害", "分级预警尾矿库漫顶溃坝风险", "在线监测边坡位移"],
        ["以产品加服务模式驻矿运维", "实现灾害智能化监测预警"],
    ),
    2: (
        ["煤矿", "非煤矿山", "矿山集团"],
        ["地理信息系统", "三维建模平台", "隐患排查移动终端", "人员定位系统"],
        ["实现风险分级管控与隐患排查闭环", "可视化展示紧急避险路线", "集中管理设备台账与巡检记录"],
        ["提升矿山安全管理信息化水平", "提高抗灾能力"],
    ),
    3: (
        ["综采工作面", "掘进巷道", "井下运输系统"],
        ["电液控制支架", "智能采煤机", "掘进机器人", "远程操控中心", "无人值守排水泵站"],
        ["实现采掘支护运输协同作业", "远程操控解危作业", "自动化运行通风排水"],
        ["减少井下作业人员", "提升本质安全水平"],
    ),
    4: (
        ["矿山救护队", "煤矿井下", "矿山事故现场"],
        ["防爆救援机器人", "井下自组网通信设备", "大流量排水泵组", "应急救援指挥车"],
        ["在事故后开展侦测和通信中继", "快速排水缩短救援时间", "支持救援决策指挥"],
        ["提升矿山事故应急救援效能", "推广轻型化救援装备"],
    ),
    5: (
        ["化工园区", "精细化工企业", "危化品仓库"],
        ["可燃有毒气体探测器", "重大危险源在线监测", "视频智能分析", "人员定位基站"],
        ["汇聚安全数据并精准预测风险", "智能预警并联动应急处置", "监控危化品运输全过程"],
        ["提升危化品安全风险管控水平", "实现园区风险一张图"],
    ),
    6: (
        ["硝化工艺生产线", "氯碱装置", "氟化反应工段"],
        ["自动控制系统", "安全仪表系统", "防爆巡检机器人", "数字孪生模型"],
        ["实施全流程自动化改造", "实现装置区无人值守巡检", "减少危险岗位操作人员"],
        ["实现机械化换人自动化减人", "提升生产过程安全水平"],
    ),
    7: (
        ["化工救援编队", "园区专职消防队", "危化品运输事故现场"],
        ["举高喷射消防车", "超大流量移动炮", "堵漏输转装备", "化学洗消系统"],
        ["开展模块化编组训练", "快速处置泄漏和火灾", "提供远程供水和洗消"],
        ["提升危化品事故应急救援能力", "提高现场处置自动化水平"],
    ),
    8: (
        ["林区", "草原牧场", "国有林场", "自然保护区"],
        ["卫星遥感", "无人机巡检", "双光谱摄像机", "火险因子物联网传感器", "瞭望塔视频监控"],
        ["快速识别并准确定位火情", "实时采集分析火险因子", "灾情实时传输至指挥中心"],
        ["报警响应时间少于30分钟", "实现灾前早期预警"],
    ),
    9: (
        ["高海拔林区", "山地林区", "森林消防队"],
        ["全地形灭火车", "高压细水雾灭火装备", "卫星通信终端", "直升机吊桶"],
        ["构建空天地一体扑救指挥体系", "实现人员装备快速投送", "扑救地下火和树冠火"],
        ["提高森林草原火灾扑救效率", "推动灭火装备升级迭代"],
    ),
    10: (
        ["地震台网", "近海海域", "中小学校"],
        ["强震仪", "地震烈度仪", "井下地震传感器", "预警信息接收终端"],
        ["构建立体监测网络", "实现秒级地震预警发布", "联动校园广播疏散"],
        ["提升地震监测预警服务能力", "实现站点无人化观测"],
    ),
    11: (
        ["山区滑坡隐患点", "泥石流沟道", "崩塌危岩体"],
        ["北斗形变监测站", "裂缝计", "雨量计", "次声传感器"],
        ["毫米级监测地质体形变", "自动识别灾害发生", "向下游村庄发布预警"],
        ["预警响应时间达到亚分钟级", "支撑应急处置方案制定"],
    ),
    12: (
        ["城市低洼区", "江河堤防", "水库大坝"],
        ["大流量排涝车", "管涌探测仪", "救援无人艇", "水下搜救机器人"],
        ["快速排涝和封堵决口", "开展堤防巡查抢险", "协同搜救与快速打捞"],
        ["提升洪涝灾害处置效率", "实现安全高效救援"],
    ),
    13: (
        ["安全应急科普馆", "社区体验教室", "交通安全体验基地"],
        ["VR灾害模拟设备", "体感互动平台", "应急救护实训设施"],
        ["开展沉浸式安全教育", "面向学生和职工体验培训", "展示安全文化知识"],
        ["提升公众安全意识和应急能力", "提高人口覆盖率"],
    ),
    14: (
        ["高危行业企业", "建筑施工企业", "安全培训机构"],
        ["在线培训平台", "人脸识别考勤", "移动学习应用", "在线考试系统"],
        ["实现实名制学习和考试", "分析学习行为精准培训", "共建共享课程资源"],
        ["促进培训规范化标准化", "提升安全培训服务水平"],
    ),
    15: (
        ["省级工信部门", "安全应急产业园", "行业协会"],
        ["产业资源目录", "公共资源数字地图", "供需对接平台"],
        ["汇聚企业产品和技术方案", "提供政策发布与商务拓展服务", "动态监测应急物资产能"],
        ["服务安全应急产业行业管理", "助力先进装备推广应用"],
    ),
    16: (
        ["化工企业", "安全生产月活动", "新媒体平台"],
        ["公益广告", "短视频作品", "安全文化读本"],
        ["开展安全宣传五进活动", "总结企业安全文化典型模式", "推广传播安全文化成果"],
        ["提升社会公众安全素质", "推动文化产业与安全应急产业融合"],
    ),
}
SWAP = [("实现", "达到"), ("监测", "监控"), ("提升", "提高"), ("快速", "迅速"), ("开展", "进行"), ("平台", "系统")]
SCALE = [
    "覆盖{n}个重点区域",
    "首期投入{n}台套装备",
    "建设周期{k}年",
    "服务{n}家用户单位",
    "培训{n}名运维人员",
    "与{k}家合作单位联合实施",
]
RECYCLED_SENTENCE = "项目由牵头单位负责后期运维，形成可复制推广的经验。"


# The reviewer queries as they were before the materialised triples (main at 50ff0df), measured in
# `--quick` on a store without those triples: the previous layout, in the same run.
PREVIOUS_QUERIES: dict[str, str] = {  # comments left out
    "reviewer-d8-alarm-response-missing": (
        "PREFIX pk:      <https://w3id.org/pilotkg/def#>\n"
        "PREFIX skos:    <http://www.w3.org/2004/02/skos/core#>\n"
        "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
        "SELECT ?id ?name ?region ?requirement ?requirementText ?project\n"
        "WHERE {\n"
        "  ?direction a pk:Direction ; skos:notation 8 .\n"
        "  ?requirement a pk:ThresholdRequirement ; pk:direction ?direction ; pk:text ?requirementText ;\n"
        '               pk:quantity/pk:dimension "duration" .\n'
        "  ?statement pk:requirement ?requirement ; pk:status pk:missing .\n"
        "  ?project pk:coverage ?statement ; pk:direction ?direction ;\n"
        "           dcterms:identifier ?id ; dcterms:title ?name ; pk:region ?r .\n"
        '  OPTIONAL { ?r skos:prefLabel ?region FILTER(LANG(?region) = "zh") }\n'
        "}\n"
        "ORDER BY ?id\n"
    ),
    "reviewer-lead-units-over-2": (
        "PREFIX pk:      <https://w3id.org/pilotkg/def#>\n"
        "PREFIX skos:    <http://www.w3.org/2004/02/skos/core#>\n"
        "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
        'SELECT ?leadUnit ?name ?count (GROUP_CONCAT(?id; SEPARATOR=", ") AS ?projects)\n'
        "WHERE {\n"
        "  { SELECT ?leadUnit (COUNT(DISTINCT ?p) AS ?count) WHERE { ?p pk:leadUnit ?leadUnit }\n"
        "    GROUP BY ?leadUnit HAVING (COUNT(DISTINCT ?p) > 2) }\n"
        "  ?leadUnit skos:prefLabel ?name .\n"
        "  ?project pk:leadUnit ?leadUnit ; dcterms:identifier ?id .\n"
        "}\n"
        "GROUP BY ?leadUnit ?name ?count\n"
        "ORDER BY DESC(?count) ?name\n"
    ),
    "reviewer-matched-direction-differs": (
        "PREFIX pk:      <https://w3id.org/pilotkg/def#>\n"
        "PREFIX skos:    <http://www.w3.org/2004/02/skos/core#>\n"
        "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
        "SELECT ?id ?name ?chosen ?chosenName ?matched ?matchedName ?confidence ?project\n"
        "WHERE {\n"
        "  { SELECT ?project ?m WHERE { ?project pk:matchedDirection ?m . MINUS { ?project pk:direction ?m } } }\n"
        "  ?project dcterms:identifier ?id ; dcterms:title ?name ; pk:direction ?c .\n"
        "  OPTIONAL { ?project pk:matchConfidence ?confidence }\n"
        '  ?c skos:notation ?chosen ; skos:prefLabel ?chosenName FILTER(LANG(?chosenName) = "zh")\n'
        '  ?m skos:notation ?matched ; skos:prefLabel ?matchedName FILTER(LANG(?matchedName) = "zh")\n'
        "}\n"
        "ORDER BY DESC(?confidence) ?id\n"
    ),
    "reviewer-projects-per-direction-region": (
        "PREFIX pk:   <https://w3id.org/pilotkg/def#>\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "SELECT ?directionNumber ?direction ?regionCode ?region ?projects ?recommendedProjects\n"
        "WHERE {\n"
        "  { SELECT ?d ?r (COUNT(?project) AS ?projects) (SUM(IF(?recommended, 1, 0)) AS ?recommendedProjects)\n"
        "    WHERE { ?project pk:direction ?d ; pk:region ?r ; pk:recommended ?recommended }\n"
        "    GROUP BY ?d ?r }\n"
        '  ?d skos:notation ?directionNumber ; skos:prefLabel ?direction FILTER(LANG(?direction) = "zh")\n'
        '  OPTIONAL { ?r pk:regionCode ?regionCode ; skos:prefLabel ?region FILTER(LANG(?region) = "zh") }\n'
        "}\n"
        "ORDER BY ?directionNumber ?regionCode\n"
    ),
}


# --- synthetic projects ----------------------------------------------------------------------------


def describe(rnd: random.Random, d: int, region: str) -> tuple[str, str]:
    scenes, techs, does, effects = VOCAB[d]
    scene = rnd.choice(scenes)
    tech = rnd.sample(techs, min(len(techs), rnd.randint(2, 4)))
    name = f"{region}{scene}{rnd.choice(tech)}{rnd.choice(['应用示范', '示范工程', '推广项目', '建设项目'])}"
    scale = rnd.choice(SCALE).format(n=rnd.randint(2, 60), k=rnd.randint(2, 5))
    text = (
        f"在{region}{scene}部署{'、'.join(tech[:-1])}和{tech[-1]}，{rnd.choice(does)}，"
        f"{'并' + rnd.choice(does) + '，' if rnd.random() < 0.5 else ''}{scale}，{rnd.choice(effects)}。"
    )
    return name, text


def recycle(rnd: random.Random, name: str, text: str) -> tuple[str, str]:
    clauses = [c for c in text.rstrip("。").split("，") if c]
    text = "，".join(clauses[1:] + clauses[:1]) + "。" + RECYCLED_SENTENCE
    for a, b in rnd.sample(SWAP, 3):
        text = text.replace(a, b)
    return "新" + name[2:], text


@dataclass
class Synthetic:
    projects: list[ProjectIn]
    duplicates: dict[str, str] = field(default_factory=dict)  # copy id → original id


def generate(n: int, corpus: Corpus, dup_share: float, seed: int = 11, start: int = 0) -> Synthetic:
    rnd = random.Random(seed + start)
    # the earlier (兵团) dates, which every region keeps: 兵团 projects are held to their own notice
    deadlines = {1: date(2021, 3, 20), 2: date(2021, 9, 20)}
    partners = [f"合作单位{i:06d}有限公司" for i in range(max(50, n // 4))]
    recommended: dict[tuple[int, str], int] = {}
    out = Synthetic([])
    for k in range(n):
        i = start + k
        batch = 1 + (i // 2) % 2
        region = rnd.choice(REGIONS)
        if out.projects and rnd.random() < dup_share:
            src = rnd.choice(out.projects[-5000:])
            while src.id in out.duplicates:  # copy an original, not a copy
                src = rnd.choice(out.projects[-5000:])
            d = src.direction
            name, text = recycle(rnd, src.name, src.description)
            out.duplicates[f"S-{i:07d}"] = src.id
        else:
            d = rnd.randint(1, 16)
            name, text = describe(rnd, d, region)
        rec = rnd.random() < 0.03 and recommended.get((d, region), 0) < 5
        recommended[(d, region)] = recommended.get((d, region), 0) + rec
        out.projects.append(
            ProjectIn.model_validate(
                {
                    "id": f"S-{i:07d}",
                    "name": name,
                    "description": text,
                    "direction": d,
                    "lead_unit": {
                        "name": f"牵头企业{i // 2:07d}股份有限公司",
                        "type": rnd.choice(TYPES),
                        "region": region,
                    },
                    "partners": [
                        {"name": p, "type": rnd.choice(TYPES)} for p in rnd.sample(partners, rnd.randint(1, 6))
                    ],
                    "region": region,
                    "batch": batch,
                    "submitted": (deadlines[batch] - timedelta(days=rnd.randint(0, 60))).isoformat(),
                    "recommended": rec,
                    "owner": f"applicant-{i // 2:07d}",
                }
            )
        )
    return out


# --- helpers ---------------------------------------------------------------------------------------


def du(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout.split()[0])


def timed(fn: Callable[[], Any], repeat: int, budget_s: float) -> list[float]:
    """Latencies of ``fn``: ``repeat`` runs, fewer if they exceed ``budget_s`` (at least 3)."""
    xs: list[float] = []
    t_end = time.perf_counter() + budget_s
    while len(xs) < repeat and (len(xs) < 3 or time.perf_counter() < t_end):
        t = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t)
    return xs


def ms(xs: list[float]) -> str:
    return f"{percentile(xs, 0.5) * 1000:.1f} / {percentile(xs, 0.95) * 1000:.1f}"


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- graph -----------------------------------------------------------------------------------------


def write_ntriples(
    synth: Synthetic, corpus: Corpus, out_dir: Path, *, materialised: list[Path] | None = None
) -> tuple[list[Path], int, float]:
    """The projects graph as N-Triples files, as the importer writes it. With ``materialised``, the
    triples written for the reviewer queries (``reviewer_graph``) go to their own files, appended to
    that list, so one build serves both the previous layout (without them) and the current one."""
    enrich = fake_enrich(corpus)
    files, triples, t0 = [], 0, time.perf_counter()
    for k in range(0, len(synth.projects), CHUNK):
        chunk = synth.projects[k : k + CHUNK]
        g = project_graph(chunk, corpus)
        extra = g if materialised is None else Graph()
        for p in chunk:
            e = enrich(p)  # type: ignore[operator]
            enrichment_graph(p.id, e, corpus, into=g)
            reviewer_graph(p, e, into=extra)
        f = out_dir / f"projects-{k // CHUNK:05d}.nt"
        f.write_bytes(ox.serialize(to_oxigraph(g), format=ox.RdfFormat.N_TRIPLES))
        files.append(f)
        triples += len(g)
        if materialised is not None:
            f = out_dir / f"reviewer-{k // CHUNK:05d}.nt"
            f.write_bytes(ox.serialize(to_oxigraph(extra), format=ox.RdfFormat.N_TRIPLES))
            materialised.append(f)
            triples += len(extra)
        if k // CHUNK % 10 == 0:
            say(f"graph {k + len(chunk)}/{len(synth.projects)}")
    return files, triples, time.perf_counter() - t0


@dataclass
class Engine:
    name: str
    settings: Settings
    server: Server | None
    data: Path  # what `du` measures
    loaded: int = 0
    size: int = 0  # bytes on disk after the run
    figures: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def bulk_load(engine: Engine, store: GraphStore, files: list[Path], budget_s: float) -> None:
    t0 = time.perf_counter()
    client = httpx.Client(timeout=600, auth=engine.server.auth() if engine.server else None)
    # oxigraph serve's bulk loader, like pyoxigraph's bulk_load: not transactional, several times faster
    params = {"graph": iri.PROJECTS_GRAPH} | ({"no_transaction": ""} if engine.name == "oxigraph-server" else {})
    for f in files:
        if time.perf_counter() - t0 > budget_s:
            say(f"{engine.name}: load budget spent after {engine.loaded} projects")
            break
        if isinstance(store, EmbeddedStore):
            store.store.bulk_load(path=str(f), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(iri.PROJECTS_GRAPH))
        else:
            assert engine.server is not None and engine.server.gsp_url
            r = client.post(
                engine.server.gsp_url,
                params=params,
                content=f.read_bytes(),
                headers={"Content-Type": "application/n-triples"},
            )
            r.raise_for_status()
        engine.loaded += CHUNK
    if isinstance(store, EmbeddedStore):
        store.store.flush()
    client.close()
    engine.seconds["load"] = time.perf_counter() - t0


@contextmanager
def engines(names: list[str], work: Path) -> Iterator[list[Engine]]:
    with ExitStack() as stack:
        out = []
        for name in names:
            d = work / name
            d.mkdir(parents=True, exist_ok=True)
            base = {"corpus_dir": ROOT / "corpus", "data_dir": d}
            if name == "embedded":
                out.append(Engine(name, Settings(**base), None, d / "oxigraph"))  # type: ignore[arg-type]
                continue
            start = oxigraph_server if name == "oxigraph-server" else virtuoso_server
            srv = stack.enter_context(start(d))
            out.append(Engine(name, srv.settings(**base), srv, d / "db" if name == "oxigraph-server" else d))
        yield out


# --- quick: the reviewer queries, previous layout vs current, in one run ---------------------------


def answers(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, str], ...]]:
    """Rows as comparable values (GROUP_CONCAT lists sorted: their order is not defined)."""

    def cell(v: str) -> str:
        return ", ".join(sorted(v.split(", "))) if ", " in v else v

    return sorted(tuple(sorted((k, cell(t.value)) for k, t in r.items())) for r in rows)


def quick(args: argparse.Namespace) -> None:
    """Embedded Oxigraph only, no vectors: N projects bulk-loaded twice, without and with the triples
    written for the reviewer queries; each layout answers its own queries (PREVIOUS_QUERIES / the
    packaged ones). The answers must be equal; the table gives p50 / p95 and their ratios."""
    tmp = tempfile.TemporaryDirectory(prefix="pilotkg-scale-quick-", dir=args.workdir)
    work = Path(tmp.name)
    t_start = time.perf_counter()
    corpus = load_corpus(ROOT / "corpus")
    say(f"generating {args.n} projects")
    synth = generate(args.n, corpus, 0.0)
    nt_dir = work / "nt"
    nt_dir.mkdir()
    materialised: list[Path] = []
    files, triples, graph_s = write_ntriples(synth, corpus, nt_dir, materialised=materialised)
    extra = sum(len(f.read_bytes().splitlines()) for f in materialised)
    current = {
        q.stem: q.read_text(encoding="utf-8") for q in sorted((ROOT / "ontology" / "queries").glob("reviewer-*.rq"))
    }
    # a query this work did not change runs as it is on both layouts
    previous = {stem: PREVIOUS_QUERIES.get(stem, text) for stem, text in current.items()}
    layouts = {"previous": (files, previous), "current": (files + materialised, current)}
    graphs = [iri.POLICY_GRAPH, iri.PROJECTS_GRAPH]
    figures: dict[str, dict[str, list[float]]] = {}
    rows: dict[str, dict[str, list[tuple[tuple[str, str], ...]]]] = {}
    load_s: dict[str, float] = {}
    for name, (fs, texts) in layouts.items():
        settings = Settings(corpus_dir=ROOT / "corpus", data_dir=work / name)  # type: ignore[call-arg]
        graph.build(settings)
        store = open_store(settings)
        assert isinstance(store, EmbeddedStore)
        try:
            say(f"{name}: bulk load of {len(fs)} files")
            t = time.perf_counter()
            for f in fs:
                store.store.bulk_load(
                    path=str(f), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(iri.PROJECTS_GRAPH)
                )
            store.store.flush()
            load_s[name] = time.perf_counter() - t
            figures[name], rows[name] = {}, {}
            for stem, text in texts.items():
                say(f"{name}: {stem}")
                rows[name][stem] = answers(run_query(store, text, timeout_s=300, allowed_graphs=graphs).rows)
                figures[name][stem] = timed(
                    lambda t=text, st=store: run_query(st, t, timeout_s=300, allowed_graphs=graphs),
                    args.repeat,
                    args.query_budget_s,
                )
        finally:
            store.close()
    print(f"\n### Reviewer queries at {args.n} projects, embedded Oxigraph: previous layout vs current, one run\n")
    print("| query | rows | same answers | previous p50 / p95 ms | current p50 / p95 ms | p50 ratio |")
    print("|---|---:|---|---:|---:|---:|")
    for stem in current:
        old, new = figures["previous"][stem], figures["current"][stem]
        same = "yes" if rows["previous"][stem] == rows["current"][stem] else "**NO**"
        ratio = percentile(new, 0.5) / percentile(old, 0.5)
        print(f"| {stem} | {len(rows['current'][stem])} | {same} | {ms(old)} | {ms(new)} | ×{ratio:.2f} |")
    print(
        f"\nProjects graph: {triples - extra:,} triples, plus {extra:,} written for the reviewer queries "
        f"(+{extra / (triples - extra):.1%}), built in {graph_s:.0f} s. Bulk load: previous "
        f"{load_s['previous']:.0f} s, current {load_s['current']:.0f} s. Up to {args.repeat} runs per query "
        f"(≥ 3, fewer once {args.query_budget_s:g} s are spent). "
        f"Wall time {(time.perf_counter() - t_start) / 60:.1f} min."
    )
    tmp.cleanup()


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, nargs="?", default=None, help="projects (100 000; 20 000 with --quick)")
    ap.add_argument("--backends", nargs="+", default=["embedded", "oxigraph-server", "virtuoso"])
    ap.add_argument("--dup-share", type=float, default=0.005)
    ap.add_argument("--rate-sample", type=int, default=200, help="texts embedded with e5 to measure its rate")
    ap.add_argument("--load-budget-min", type=float, default=8.0, help="per engine, for the bulk load")
    ap.add_argument("--import-size", type=int, default=500)
    ap.add_argument("--queries", type=int, default=200, help="similar-project searches per variant")
    ap.add_argument("--repeat", type=int, default=10, help="runs per reviewer query (fewer if slow)")
    ap.add_argument("--query-budget-s", type=float, default=30.0, help="per reviewer query and engine")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument(
        "--quick",
        action="store_true",
        help="embedded store only, reviewer queries of the previous layout vs the current (n defaults to 20 000)",
    )
    args = ap.parse_args()
    args.n = args.n or (20_000 if args.quick else 100_000)
    if args.quick:
        quick(args)
        return
    tmp = tempfile.TemporaryDirectory(prefix="pilotkg-scale-", dir=args.workdir)
    work = Path(tmp.name)
    t_start = time.perf_counter()
    corpus = load_corpus(ROOT / "corpus")
    tokenizer = tokenizer_for(corpus)
    notes: list[str] = []

    say(f"generating {args.n} projects")
    t = time.perf_counter()
    synth = generate(args.n, corpus, args.dup_share)
    # not recommended: the per-direction-and-region cap counts the stored projects too
    extra = [
        p.model_copy(update={"recommended": False})
        for p in generate(args.import_size, corpus, 0.0, start=args.n + 1_000_000).projects
    ]
    gen_s = time.perf_counter() - t
    by_id = {p.id: p for p in synth.projects}

    # --- vectors ---
    say("embedding the rate sample and the near-duplicate pairs with e5")
    embedder = get_embedder(Settings())  # the configured model folder (PILOTKG_MODEL_DIR or the per-user cache)
    rnd = np.random.default_rng(5)
    sample_ids = [p.id for p in random.Random(3).sample(synth.projects, min(args.rate_sample, args.n))]
    pair_ids = sorted(set(synth.duplicates) | set(synth.duplicates.values()))
    real_ids = list(dict.fromkeys(sample_ids + pair_ids))
    t = time.perf_counter()
    real = embedder.embed_passages([project_text(by_id[i].name, by_id[i].description) for i in real_ids])
    embed_rate = len(real_ids) / (time.perf_counter() - t)
    real_vec = dict(zip(real_ids, real, strict=True))
    per_dir: dict[int, list[np.ndarray]] = {}
    for i, v in real_vec.items():
        per_dir.setdefault(by_id[i].direction, []).append(v)
    eps = np.tan(np.arccos(0.95))

    def vector(p: ProjectIn) -> np.ndarray:
        if p.id in real_vec:
            return real_vec[p.id]
        pool = per_dir.get(p.direction) or list(real_vec.values())
        noise = rnd.normal(size=embedder.dim)
        v = pool[int(rnd.integers(len(pool)))] + eps * noise / np.linalg.norm(noise)
        return (v / np.linalg.norm(v)).astype(np.float32)

    index = EdgeIndex(work / "qdrant")
    index.create(PROJECTS, embedder.dim, embedder.name)
    t = time.perf_counter()
    sparse_s = 0.0
    for k in range(0, args.n, CHUNK):
        chunk = synth.projects[k : k + CHUNK]
        t_sp = time.perf_counter()
        sparse = [doc_sparse(tokenizer, project_text(p.name, p.description)) for p in chunk]
        sparse_s += time.perf_counter() - t_sp
        index.upsert(PROJECTS, [project_point(p, vector(p), s) for p, s in zip(chunk, sparse, strict=True)])
        if k // CHUNK % 20 == 0:
            say(f"vectors {k + len(chunk)}/{args.n}")
    upsert_s = time.perf_counter() - t
    t = time.perf_counter()
    index.optimize(PROJECTS)
    optimize_s = time.perf_counter() - t
    index_bytes = du(work / "qdrant")
    notes.append(
        f"Vectors: {len(real_ids)} texts embedded with e5 at {embed_rate:.1f} texts/s on this machine (so "
        f"{args.n} would take ≈ {args.n / embed_rate / 3600:.1f} h); the other {args.n - len(real_ids)} vectors "
        "are synthetic (a real vector of the same direction plus noise, cosine 0.95). Sparse vectors are real."
    )

    # --- similar-project search (index only, the same for every graph engine) ---
    say("similar-project search")
    qrnd = random.Random(7)
    probes = [p.id for p in qrnd.sample(synth.projects, min(args.queries, args.n))]
    variants: dict[str, Callable[[str], SimilarFilters]] = {
        "no filter": lambda _i: SimilarFilters(),
        "direction filter": lambda i: SimilarFilters(direction=by_id[i].direction),
        "direction + region filter": lambda i: SimilarFilters(direction=by_id[i].direction, region=by_id[i].region),
    }
    sim: dict[str, list[float]] = {}
    for label, flt in variants.items():
        sim[label] = []
        for i in probes:
            tq = time.perf_counter()
            similar_to_project(index, i, flt(i), limit=10)
            sim[label].append(time.perf_counter() - tq)
    sim["applicant (owner filter), as shipped"] = timed_each(
        lambda i: similar_to_project(index, i, owner=by_id[i].owner, limit=10), probes[:30]
    )
    found = flagged = false_flags = 0
    for copy, original in synth.duplicates.items():
        hits = similar_to_project(index, copy, limit=10)
        found += bool(hits) and hits[0].id == original
        flagged += any(h.id == original and h.duplicate for h in hits)
        false_flags += sum(h.duplicate and h.id != original for h in hits)
    quality = (
        f"Near-duplicates at N = {args.n}: the original is the first hit for {found} of "
        f"{len(synth.duplicates)} recycled copies and flagged for {flagged}; {false_flags} other hits flagged "
        "in those top-10 lists (other synthetic projects recycled from the same original count as such)."
    )

    # --- graph engines ---
    say("building the projects graph (product code) once")
    nt_dir = work / "nt"
    nt_dir.mkdir()
    files, triples, graph_s = write_ntriples(synth, corpus, nt_dir)
    queries = sorted((ROOT / "ontology" / "queries").glob("reviewer-*.rq"))
    enrich = fake_enrich(corpus)
    graphs = [iri.POLICY_GRAPH, iri.PROJECTS_GRAPH]
    results: list[Engine] = []
    with engines(args.backends, work) as started:
        for eng in started:
            say(f"{eng.name}: policy graph + bulk load")
            graph.build(eng.settings)
            store = open_store(eng.settings)
            try:
                bulk_load(eng, store, files, args.load_budget_min * 60)
                t = time.perf_counter()
                import_projects(store, corpus, extra, enrich=enrich, source="bench")  # type: ignore[arg-type]
                eng.seconds["import"] = time.perf_counter() - t
                stored = [i for i in probes if int(i[2:]) < eng.loaded]
                eng.figures["route"] = ms(
                    timed_each(
                        lambda i, st=store: (get_project(st, i), similar_to_project(index, i, limit=10)), stored[:50]
                    )
                )
                for q in queries:
                    text = q.read_text(encoding="utf-8")
                    say(f"{eng.name}: {q.stem}")
                    xs = timed(
                        lambda t=text, st=store: run_query(st, t, timeout_s=300, allowed_graphs=graphs),
                        args.repeat,
                        args.query_budget_s,
                    )
                    eng.figures[q.stem] = f"{ms(xs)} (n={len(xs)})"
            finally:
                store.close()
            eng.size = du(eng.data)
            results.append(eng)

    # the index an applicant's owner filter needs (proposed for index.INDEXED_FIELDS; added here by hand)
    import qdrant_edge as qe

    index._shard(PROJECTS).update(qe.UpdateOperation.create_field_index("owner", qe.PayloadSchemaType.Keyword))
    sim["applicant (owner filter), with an owner payload index"] = timed_each(
        lambda i: similar_to_project(index, i, owner=by_id[i].owner, limit=10), probes
    )
    index.close()
    report(
        args,
        results,
        sim,
        notes,
        quality,
        gen_s=gen_s,
        graph_s=graph_s,
        triples=triples,
        upsert_s=upsert_s,
        optimize_s=optimize_s,
        sparse_s=sparse_s,
        index_bytes=index_bytes,
        queries=queries,
        total=time.perf_counter() - t_start,
    )
    tmp.cleanup()


def timed_each(fn: Callable[[str], Any], ids: list[str]) -> list[float]:
    xs = []
    for i in ids:
        t = time.perf_counter()
        fn(i)
        xs.append(time.perf_counter() - t)
    return xs


def report(
    args: argparse.Namespace,
    results: list[Engine],
    sim: dict[str, list[float]],
    notes: list[str],
    quality: str,
    *,
    gen_s: float,
    graph_s: float,
    triples: int,
    upsert_s: float,
    optimize_s: float,
    sparse_s: float,
    index_bytes: int,
    queries: list[Path],
    total: float,
) -> None:
    base = results[0]

    def row(label: str, values: list[str], numbers: list[float] | None = None, higher_is_better: bool = False) -> str:
        cells = []
        for k, v in enumerate(values):
            if numbers and k and numbers[0] > 0 and numbers[k] > 0:
                v += f" (×{numbers[k] / numbers[0]:.2f})"
            cells.append(v)
        return f"| {label} | " + " | ".join(cells) + " |"

    def p50(fig: str) -> float:
        return float(fig.split(" / ")[0])

    print(f"\n### {args.n} projects — graph engines ({', '.join(e.name for e in results)})\n")
    print("| | " + " | ".join(e.name for e in results) + " |")
    print("|---|" + "---|" * len(results))
    print(row("projects bulk-loaded", [f"{e.loaded}" for e in results]))
    rates = [e.loaded * triples / args.n / e.seconds["load"] for e in results]
    print(row("bulk load, triples/s", [f"{r:,.0f}" for r in rates], rates))
    prates = [e.loaded / e.seconds["load"] for e in results]
    print(row("bulk load, projects/s", [f"{r:,.0f}" for r in prates], prates))
    irates = [args.import_size / e.seconds["import"] for e in results]
    print(
        row(
            f"full import of {args.import_size} more (rules + enrich + transaction), projects/s",
            [f"{r:,.1f}" for r in irates],
            irates,
        )
    )
    sizes = [e.size / 2**20 for e in results]
    print(row("store size on disk, MiB", [f"{s:,.0f}" for s in sizes], sizes))
    for q in queries:
        vals = [e.figures[q.stem] for e in results]
        print(row(f"{q.stem} p50 / p95 ms", vals, [p50(v) for v in vals]))
    vals = [e.figures["route"] for e in results]
    print(
        row("similar by stored project, route path (get_project + search) p50 / p95 ms", vals, [p50(v) for v in vals])
    )
    print(f"\n### Similar-project search, embedded Qdrant, {args.n} points (the same for every graph engine)\n")
    print("| search by stored project (limit 10, no embedding) | p50 ms | p95 ms | runs |\n|---|---:|---:|---:|")
    for label, xs in sim.items():
        print(f"| {label} | {percentile(xs, 0.5) * 1000:.1f} | {percentile(xs, 0.95) * 1000:.1f} | {len(xs)} |")
    req = percentile(sim["direction filter"], 0.5) * 1000
    print(
        f"\nRequirement (stored project + filter, p50 ≤ 20 ms at {args.n}): {req:.1f} ms — "
        f"{'met' if req <= 20 else 'NOT met'}.\n"
    )
    print("| vector index | value |\n|---|---|")
    print(
        f"| upsert (product point layout, incl. BM25 of every text {sparse_s:.0f} s) | "
        f"{args.n / upsert_s:,.0f} points/s ({upsert_s:.0f} s) |"
    )
    print(f"| HNSW build (`index.optimize`) | {optimize_s:.0f} s |")
    print(f"| size on disk | {index_bytes / 2**20:,.0f} MiB |")
    print(
        f"\nGenerating {args.n} projects: {gen_s:.0f} s. Projects graph built once by the product "
        f"(rdflib + N-Triples): {triples:,} triples in {graph_s:.0f} s ({triples / graph_s:,.0f} triples/s). "
        f"Wall time of the run: {total / 60:.1f} min.\n"
    )
    for n in [*notes, quality]:
        print(f"- {n}")
    print(
        f"- Reviewer queries: up to {args.repeat} runs each, fewer (≥ 3) once {args.query_budget_s:g} s are "
        "spent; ratios are vs "
        f"{base.name}. Bulk load: pyoxigraph bulk_load (embedded) / Graph Store Protocol POST (servers) of "
        f"N-Triples files of {CHUNK} projects, budget {args.load_budget_min:g} min per engine."
    )


if __name__ == "__main__":
    main()
