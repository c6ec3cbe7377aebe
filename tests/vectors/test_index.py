"""The vector index: same semantics, same rankings from the embedded and the server adapter.

The server adapter runs on qdrant-client's local mode (in memory and on disk), which speaks the
server API; no Qdrant server binary is needed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from pilotkg.errors import InputError, ModelError, NotFoundError, StoreError
from pilotkg.settings import Settings
from pilotkg.vectors.index import Hit, IndexPoint, SearchRequest, SparseVec, VectorIndex, open_index, point_uuid
from pilotkg.vectors.index.edge import EdgeIndex
from pilotkg.vectors.index.server import QdrantServerIndex

# qdrant-client probes a server's version in a background thread when constructed; the one URL
# these tests use has nothing listening, and the warning lands in whichever test runs then.
pytestmark = pytest.mark.filterwarnings("ignore:Failed to obtain server version")

COLL = "policy"
MODEL = "test-model"
DIM = 4

# Term ids of the handmade sparse vectors. COMMON is in every document, RARE in one only.
COMMON, RARE, SAFETY, RESCUE, DRONE = 1, 2, 3, 4, 5


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def sv(terms: dict[int, float]) -> SparseVec:
    return SparseVec(list(terms), list(terms.values()))


def handmade() -> list[IndexPoint]:
    """Six nodes whose cosine to (1, 0, 0, 0) falls strictly in list order."""
    return [
        IndexPoint(
            "direction/8",
            "direction",
            unit(1.0, 0.05, 0, 0),
            sv({COMMON: 3.0, SAFETY: 1.0}),
            {"direction": 8, "region": "北京", "year": 2021, "mandatory": True, "tags": ["消防", "救援"]},
        ),
        IndexPoint(
            "requirement/d08-r03",
            "requirement",
            unit(1.0, 0.3, 0, 0),
            sv({COMMON: 1.0, RESCUE: 2.0}),
            {"direction": 8, "region": "上海", "year": 2021, "mandatory": False},
        ),
        IndexPoint(
            "article/12",
            "article",
            unit(1.0, 0.7, 0.1, 0),
            sv({COMMON: 1.0, RARE: 1.0}),
            {"region": "北京", "year": 2020},
        ),
        IndexPoint(
            "project/P-001",
            "project",
            unit(0.6, 1.0, 0.2, 0),
            sv({COMMON: 2.0, SAFETY: 2.0, DRONE: 1.0}),
            {"direction": 3, "region": "广东", "batch": 1, "year": 2022, "lead_unit": "甲公司"},
        ),
        IndexPoint(
            "project/P-002",
            "project",
            unit(0.1, 1.0, 0.5, 0.2),
            sv({COMMON: 1.0, DRONE: 2.0, RESCUE: 1.0}),
            {"direction": 8, "region": "上海", "batch": 2, "year": 2022, "lead_unit": "乙公司"},
        ),
        IndexPoint(
            "requirement/d03-r01",
            "requirement",
            unit(-0.2, 0.1, 1.0, 0.3),
            sv({COMMON: 1.0, SAFETY: 1.0}),
            {"direction": 3, "region": "广东", "year": 2020, "mandatory": True},
        ),
    ]


DENSE_ORDER = [p.id for p in handmade()]
Q_DENSE = unit(1.0, 0.0, 0.0, 0.0)


# --------------------------------------------------------------------------------------------------
# Fixtures: one test body, every adapter
# --------------------------------------------------------------------------------------------------

Opener = Callable[[], VectorIndex]
BACKENDS = ["edge", "local-memory", "local-path"]


def _open(backend: str, root: Path) -> VectorIndex:
    if backend == "edge":
        return EdgeIndex(root / "qdrant")
    if backend == "local-path":
        return QdrantServerIndex(path=root / "local")
    return QdrantServerIndex(location=":memory:")


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def shared(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VectorIndex]:
    """The handmade collection, built once per backend, for tests that only read."""
    idx = _open(backend, tmp_path_factory.mktemp(backend))
    idx.create(COLL, DIM, MODEL)
    idx.upsert(COLL, handmade())
    yield idx
    idx.close()


@pytest.fixture
def opener(backend: str, tmp_path: Path) -> Iterator[Opener]:
    """Opens the index; persistent backends reopen the same storage on every call."""
    opened: list[VectorIndex] = []

    def open_() -> VectorIndex:
        if backend == "local-memory" and opened:
            return opened[0]  # in-memory storage dies with its client: "reopening" reuses it
        opened.append(_open(backend, tmp_path))
        return opened[-1]

    open_.persistent = backend != "local-memory"  # type: ignore[attr-defined]
    yield open_
    for idx in opened:
        idx.close()


@pytest.fixture
def fresh(opener: Opener) -> VectorIndex:
    """The handmade collection in storage of its own, for tests that write."""
    idx = opener()
    idx.create(COLL, DIM, MODEL)
    idx.upsert(COLL, handmade())
    return idx


def ids(hits: list[Hit]) -> list[str]:
    return [h.id for h in hits]


def assert_same_ranking(a: list[Hit], b: list[Hit]) -> None:
    """Same scores in the same order; the same ids except among points tied at the cut-off."""
    np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=2e-3, atol=1e-5)
    if not a:
        return
    cutoff = a[-1].score
    strictly_above = [h.id for h in a if h.score > cutoff * (1 + 2e-3) + 1e-5]
    assert ids(b)[: len(strictly_above)] == strictly_above


def rrf(rankings: list[list[str]], k: int, weights: list[float] | None = None) -> dict[str, float]:
    """Qdrant's (weighted) reciprocal rank fusion, written out independently."""
    scores: dict[str, float] = {}
    for i, ranking in enumerate(rankings):
        w = weights[i] if weights else 1.0
        for pos, gid in enumerate(ranking):
            scores[gid] = scores.get(gid, 0.0) + 1.0 / ((pos + 1) / w + k - 1)
    return scores


# --------------------------------------------------------------------------------------------------
# Rankings
# --------------------------------------------------------------------------------------------------


def test_dense_ranking(shared: VectorIndex) -> None:
    hits = shared.search(COLL, dense=Q_DENSE, mode="dense", limit=10)
    assert ids(hits) == DENSE_ORDER
    assert hits[0].score == pytest.approx(float(unit(1.0, 0.05, 0, 0) @ Q_DENSE), abs=1e-5)
    assert hits[0].kind == "direction"
    assert hits[0].payload["region"] == "北京"
    assert "gid" not in hits[0].payload and "kind" not in hits[0].payload
    assert ids(shared.search(COLL, dense=Q_DENSE, mode="dense", limit=2)) == DENSE_ORDER[:2]


def test_sparse_ranking_idf_rare_term_outranks_common(shared: VectorIndex) -> None:
    # direction/8 has the common term three times, article/12 has the rare term once: IDF wins.
    hits = shared.search(COLL, sparse=sv({COMMON: 1.0, RARE: 1.0}), mode="sparse")
    assert hits[0].id == "article/12"
    assert hits[1].id == "direction/8"
    # Every document holds COMMON, so all six match, but with IDF≈0.07 it barely scores.
    assert len(hits) == 6
    common_only = shared.search(COLL, sparse=sv({COMMON: 1.0}), mode="sparse")
    assert common_only[0].id == "direction/8"
    assert common_only[0].score < hits[0].score / 3


def test_sparse_unknown_or_empty_terms(shared: VectorIndex) -> None:
    assert shared.search(COLL, sparse=sv({999: 1.0}), mode="sparse") == []
    assert shared.search(COLL, sparse=SparseVec([], []), mode="sparse") == []


def test_hybrid_is_rrf_of_dense_and_sparse(shared: VectorIndex) -> None:
    q_sparse = sv({DRONE: 1.0, RESCUE: 1.0})
    dense = ids(shared.search(COLL, dense=Q_DENSE, mode="dense", limit=50))
    sparse = ids(shared.search(COLL, sparse=q_sparse, mode="sparse", limit=50))
    for k, weights in [(2, None), (2, [1.0, 3.0]), (60, [2.0, 0.5])]:
        expected = rrf([dense, sparse], k, weights)
        hits = shared.search(
            COLL,
            dense=Q_DENSE,
            sparse=q_sparse,
            rrf_k=k,
            dense_weight=weights[0] if weights else 1.0,
            sparse_weight=weights[1] if weights else 1.0,
        )
        assert ids(hits) == sorted(expected, key=lambda g: (-expected[g], g))
        for h in hits:
            assert h.score == pytest.approx(expected[h.id], rel=1e-5)
    # The fusion really mixes: project/P-002 is 5th by dense alone but 1st by sparse.
    default = ids(shared.search(COLL, dense=Q_DENSE, sparse=q_sparse, limit=3))
    assert "project/P-002" in default


def test_hybrid_dbsf_and_fallbacks(shared: VectorIndex) -> None:
    q_sparse = sv({DRONE: 1.0, RESCUE: 1.0})
    hits = shared.search(COLL, dense=Q_DENSE, sparse=q_sparse, fusion="dbsf")
    assert set(ids(hits)) == set(DENSE_ORDER)
    assert hits == sorted(hits, key=lambda h: -h.score)
    with pytest.raises(InputError):
        shared.search(COLL, dense=Q_DENSE, sparse=q_sparse, fusion="dbsf", sparse_weight=2.0)
    # No known query terms: hybrid degrades to the dense prefetch alone, in dense order.
    assert ids(shared.search(COLL, dense=Q_DENSE, sparse=SparseVec([], []))) == DENSE_ORDER
    assert ids(shared.search(COLL, dense=Q_DENSE)) == DENSE_ORDER


def test_search_batch_equals_single_searches_in_order(shared: VectorIndex) -> None:
    q_sparse = sv({DRONE: 1.0, RESCUE: 1.0})
    requests = [
        SearchRequest(dense=Q_DENSE, mode="dense", limit=3),
        SearchRequest(sparse=SparseVec([], []), mode="sparse"),  # nothing can score: an empty page
        SearchRequest(sparse=q_sparse, mode="sparse", filters={"kind": "project"}),
        SearchRequest(dense=Q_DENSE, sparse=q_sparse, dense_weight=2.0, exclude_ids=["direction/8"]),
        SearchRequest(dense=Q_DENSE, mode="dense", filters={"region": []}),  # no value allowed: empty
        SearchRequest(dense=unit(0, 0, 1, 0), mode="dense", limit=1),
    ]
    pages = shared.search_batch(COLL, requests)
    fused = shared.search(COLL, dense=Q_DENSE, sparse=q_sparse, dense_weight=2.0, exclude_ids=["direction/8"])
    assert [ids(p) for p in pages] == [
        DENSE_ORDER[:3],
        [],
        ["project/P-002", "project/P-001"],
        ids(fused),
        [],
        ["requirement/d03-r01"],
    ]
    assert pages[3] == fused and len(fused) == 5
    assert shared.search_batch(COLL, []) == []
    with pytest.raises(InputError):  # one bad request fails the batch before the engine runs
        shared.search_batch(COLL, [requests[0], SearchRequest(dense=Q_DENSE, limit=0)])


def test_search_returns_only_the_payload_fields_asked_for(shared: VectorIndex) -> None:
    full = shared.search(COLL, dense=Q_DENSE, mode="dense", limit=1)[0]
    assert {"direction", "region", "year", "mandatory", "tags"} <= set(full.payload)
    hit = shared.search(COLL, dense=Q_DENSE, mode="dense", limit=1, fields=["direction", "mandatory"])[0]
    assert (hit.id, hit.kind, hit.score) == (full.id, full.kind, full.score)
    assert hit.payload == {"direction": 8, "mandatory": True}
    none = shared.search(COLL, dense=Q_DENSE, sparse=sv({SAFETY: 1.0}), limit=2, fields=[])
    assert [h.payload for h in none] == [{}, {}] and all(h.id for h in none)


# --------------------------------------------------------------------------------------------------
# Filters, exclusions, "more like this"
# --------------------------------------------------------------------------------------------------


def test_filters(shared: VectorIndex) -> None:
    def dense(filters: dict) -> list[str]:  # type: ignore[type-arg]
        return ids(shared.search(COLL, dense=Q_DENSE, mode="dense", filters=filters))

    assert dense({"kind": "project"}) == ["project/P-001", "project/P-002"]
    assert dense({"direction": 8}) == ["direction/8", "requirement/d08-r03", "project/P-002"]
    assert dense({"kind": ["article", "project"]}) == ["article/12", "project/P-001", "project/P-002"]
    assert dense({"year": [2020, 2022]}) == [
        "article/12",
        "project/P-001",
        "project/P-002",
        "requirement/d03-r01",
    ]
    assert dense({"direction": 8, "region": "上海"}) == ["requirement/d08-r03", "project/P-002"]
    assert dense({"mandatory": True}) == ["direction/8", "requirement/d03-r01"]
    assert dense({"mandatory": False}) == ["requirement/d08-r03"]
    assert dense({"tags": "救援"}) == ["direction/8"]  # a list payload matches any of its items
    assert dense({"lead_unit": "甲公司"}) == ["project/P-001"]
    assert dense({"region": []}) == []
    assert dense({"region": "nowhere"}) == []
    hybrid = shared.search(COLL, dense=Q_DENSE, sparse=sv({SAFETY: 1.0}), filters={"kind": "requirement"})
    assert {h.kind for h in hybrid} == {"requirement"}
    assert ids(shared.search(COLL, sparse=sv({SAFETY: 1.0}), mode="sparse", filters={"direction": 3})) == [
        "project/P-001",
        "requirement/d03-r01",
    ]
    with pytest.raises(InputError):
        dense({"year": 2020.5})
    with pytest.raises(InputError):
        dense({"direction": [1, "a"]})


def test_exclude_ids(shared: VectorIndex) -> None:
    hits = shared.search(COLL, dense=Q_DENSE, mode="dense", exclude_ids=["direction/8", "article/12"])
    assert ids(hits) == [g for g in DENSE_ORDER if g not in {"direction/8", "article/12"}]
    hybrid = shared.search(COLL, dense=Q_DENSE, sparse=sv({SAFETY: 1.0}), exclude_ids=["direction/8"])
    assert "direction/8" not in ids(hybrid)


def test_search_by_id_excludes_self(shared: VectorIndex) -> None:
    hits = shared.search_by_id(COLL, "direction/8", limit=10)
    assert "direction/8" not in ids(hits)
    assert ids(hits) == DENSE_ORDER[1:]  # direction/8 ≈ the query axis, so the order carries over
    assert ids(shared.search_by_id(COLL, "direction/8", filters={"kind": "project"})) == [
        "project/P-001",
        "project/P-002",
    ]
    assert ids(shared.search_by_id(COLL, "direction/8", limit=2, exclude_ids=["requirement/d08-r03"])) == [
        "article/12",
        "project/P-001",
    ]
    with pytest.raises(NotFoundError):
        shared.search_by_id(COLL, "article/999")


# --------------------------------------------------------------------------------------------------
# Writes, counts, metadata
# --------------------------------------------------------------------------------------------------


def test_count(shared: VectorIndex) -> None:
    assert shared.count(COLL) == 6
    assert shared.count(COLL, {"kind": "requirement"}) == 2
    assert shared.count(COLL, {"direction": [3, 8]}) == 5
    assert shared.count(COLL, {"kind": []}) == 0
    assert shared.info(COLL).points == 6


def test_delete(fresh: VectorIndex) -> None:
    fresh.delete(COLL, ["direction/8", "no/such-id"])
    assert fresh.count(COLL) == 5
    assert "direction/8" not in ids(fresh.search(COLL, dense=Q_DENSE, mode="dense"))
    assert fresh.get(COLL, ["direction/8"]) == []
    # Its sparse terms left the IDF statistics: SAFETY is now rarer, so its score rises.
    assert fresh.search(COLL, sparse=sv({SAFETY: 1.0}), mode="sparse")[0].id == "project/P-001"


def test_reupsert_same_id_updates_not_duplicates(fresh: VectorIndex) -> None:
    moved = IndexPoint(
        "requirement/d03-r01",
        "requirement",
        unit(1.0, 0.0, 0.0, 0.0),
        sv({RARE: 1.0}),
        {"direction": 3, "region": "广东", "year": 2023},
    )
    fresh.upsert(COLL, [moved])
    assert fresh.count(COLL) == 6
    hits = fresh.search(COLL, dense=Q_DENSE, mode="dense", limit=1)
    assert hits[0].id == "requirement/d03-r01"
    assert hits[0].payload == {"direction": 3, "region": "广东", "year": 2023}
    assert fresh.count(COLL, {"year": 2023}) == 1


def test_get_returns_payload_and_vectors(shared: VectorIndex) -> None:
    got = shared.get(COLL, ["project/P-001", "missing/1", "direction/8"], with_vectors=True)
    assert [p.id for p in got] == ["project/P-001", "direction/8"]
    p = got[0]
    assert p.kind == "project"
    assert p.payload["lead_unit"] == "甲公司" and "gid" not in p.payload
    assert p.dense is not None
    np.testing.assert_allclose(p.dense, unit(0.6, 1.0, 0.2, 0), atol=1e-6)
    assert p.sparse is not None
    assert dict(zip(p.sparse.indices, p.sparse.values, strict=True)) == {COMMON: 2.0, SAFETY: 2.0, DRONE: 1.0}
    assert shared.get(COLL, ["direction/8"])[0].dense is None


def test_model_record_and_mismatch(fresh: VectorIndex) -> None:
    info = fresh.info(COLL)
    assert (info.model_name, info.dim, info.points) == (MODEL, DIM, 6)
    fresh.check_model(COLL, MODEL, DIM)
    with pytest.raises(ModelError) as err:
        fresh.check_model(COLL, "other-model", DIM)
    assert err.value.message_zh != err.value.message_en and "other-model" in err.value.message_en
    with pytest.raises(ModelError):
        fresh.check_model(COLL, MODEL, 8)
    with pytest.raises(StoreError):
        fresh.check_model("absent", MODEL, DIM)
    fresh.create(COLL, DIM, MODEL)  # same model: no-op, points kept
    assert fresh.count(COLL) == 6
    with pytest.raises(ModelError):
        fresh.create(COLL, 8, "other-model")
    fresh.create(COLL, 8, "other-model", recreate=True)
    assert fresh.info(COLL).points == 0
    fresh.check_model(COLL, "other-model", 8)


def test_input_validation(fresh: VectorIndex) -> None:
    with pytest.raises(InputError):
        fresh.search(COLL, dense=np.ones(8, dtype=np.float32), mode="dense")
    with pytest.raises(InputError):
        fresh.upsert(COLL, [IndexPoint("x/1", "x", np.zeros(DIM, dtype=np.float32), SparseVec([], []), {})])
    with pytest.raises(InputError):
        SparseVec([1, 1], [1.0, 2.0])
    with pytest.raises(InputError):
        fresh.create("bad name/..", DIM, MODEL)
    with pytest.raises(StoreError):
        fresh.search("absent", dense=Q_DENSE)


@pytest.mark.parametrize("store", ["edge", "local-path"])  # in-memory storage cannot outlive its client
def test_reopen_keeps_points(store: str, tmp_path: Path) -> None:
    first = _open(store, tmp_path)
    first.create(COLL, DIM, MODEL)
    first.upsert(COLL, handmade())
    first.close()
    second = _open(store, tmp_path)
    try:
        assert second.count(COLL) == 6
        second.check_model(COLL, MODEL, DIM)
        assert ids(second.search(COLL, dense=Q_DENSE, mode="dense")) == DENSE_ORDER
        assert second.search(COLL, sparse=sv({COMMON: 1.0, RARE: 1.0}), mode="sparse")[0].id == "article/12"
    finally:
        second.close()


def test_read_only_refuses_writes(tmp_path: Path) -> None:
    with EdgeIndex(tmp_path / "q") as writer:
        writer.create(COLL, DIM, MODEL)
        writer.upsert(COLL, handmade())
    with EdgeIndex(tmp_path / "q", read_only=True) as reader:
        assert reader.count(COLL) == 6
        with pytest.raises(StoreError):
            reader.upsert(COLL, handmade()[:1])
        with pytest.raises(StoreError):
            reader.delete(COLL, ["direction/8"])
        with pytest.raises(StoreError):
            reader.create(COLL, DIM, MODEL, recreate=True)
        assert reader.count(COLL) == 6


# --------------------------------------------------------------------------------------------------
# Embedded store specifics
# --------------------------------------------------------------------------------------------------


def test_edge_second_open_is_refused_and_harmless(tmp_path: Path) -> None:
    """qdrant-edge corrupts a live shard when a second loader touches it; the lock prevents that."""
    root = tmp_path / "q"
    holder = EdgeIndex(root)
    holder.create(COLL, DIM, MODEL)
    holder.upsert(COLL, handmade()[:3])
    # Same process, another handle.
    with pytest.raises(StoreError, match="another process"):
        EdgeIndex(root, read_only=True).count(COLL)
    # Another process.
    code = textwrap.dedent(
        f"""
        from pilotkg.vectors.index import EdgeIndex
        from pilotkg.errors import StoreError
        try:
            EdgeIndex({str(root)!r}, read_only=True).count({COLL!r})
        except StoreError as exc:
            print("refused:", exc.message_en)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("refused:")
    # The holder still writes and flushes fine.
    holder.upsert(COLL, handmade()[3:])
    assert holder.count(COLL) == 6
    holder.close()
    with EdgeIndex(root, read_only=True) as reader:
        assert reader.count(COLL) == 6


def test_edge_process_exit_leaves_readable_index(tmp_path: Path) -> None:
    root = tmp_path / "q"
    code = textwrap.dedent(
        f"""
        import os
        import numpy as np
        from pilotkg.vectors.index import EdgeIndex, IndexPoint, SparseVec
        idx = EdgeIndex({str(root)!r})
        idx.create("c", 4, "m")
        vec = np.ones(4, dtype=np.float32)
        pts = [IndexPoint(f"n/{{i}}", "n", vec + i, SparseVec([i], [1.0]), {{}}) for i in range(20)]
        idx.upsert("c", pts)
        os._exit(0)  # no close(): the upsert's flush must already have made the points durable
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with EdgeIndex(root) as idx:
        assert idx.count("c") == 20
        idx.check_model("c", "m", 4)


def test_edge_layout_and_ids(tmp_path: Path) -> None:
    with EdgeIndex(tmp_path / "q") as idx:
        idx.create(COLL, DIM, MODEL)
        idx.upsert(COLL, handmade())
        assert idx.optimize(COLL) in (True, False)
        assert ids(idx.search(COLL, dense=Q_DENSE, mode="dense")) == DENSE_ORDER
    cdir = tmp_path / "q" / COLL
    assert (cdir / "meta.json").is_file() and (cdir / "shard").is_dir()
    assert point_uuid("direction/8") == point_uuid("direction/8") != point_uuid("direction/9")


def test_open_index_picks_adapter(tmp_path: Path) -> None:
    edge = open_index(Settings(data_dir=tmp_path, qdrant_url=None))
    assert isinstance(edge, EdgeIndex) and edge.root == tmp_path / "qdrant"
    edge.close()
    server = open_index(Settings(data_dir=tmp_path, qdrant_url="http://127.0.0.1:9"))
    assert isinstance(server, QdrantServerIndex)
    with pytest.raises(StoreError):
        server.exists(COLL)  # nothing listens on port 9
    server.close()


def test_the_index_package_exposes_both_adapters_without_loading_qdrant_client() -> None:
    """The package's public surface holds both adapters; qdrant-client loads only when a server adapter is built."""
    code = textwrap.dedent(
        """
        import sys
        from pilotkg.vectors.index import EdgeIndex, QdrantServerIndex
        from pilotkg.vectors.index.edge import EdgeIndex as Edge
        from pilotkg.vectors.index.server import QdrantServerIndex as Server
        assert EdgeIndex is Edge and QdrantServerIndex is Server
        assert "qdrant_client" not in sys.modules
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "ok\n"


# --------------------------------------------------------------------------------------------------
# Both adapters agree on random data
# --------------------------------------------------------------------------------------------------


def test_adapters_agree_on_random_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    dim, n = 16, 300
    points = []
    for i in range(n):
        v = rng.normal(size=dim).astype(np.float32)
        terms = sorted(set(rng.zipf(1.3, size=8).clip(1, 400).tolist()))
        points.append(
            IndexPoint(
                f"project/P-{i:03d}",
                ["direction", "requirement", "article", "project"][i % 4],
                v / np.linalg.norm(v),
                SparseVec(terms, rng.uniform(0.5, 3.0, size=len(terms)).round(4).tolist()),
                {"direction": int(i % 12), "year": 2020 + i % 3},
            )
        )
    edge = EdgeIndex(tmp_path / "q")
    local = QdrantServerIndex(location=":memory:")
    for idx in (edge, local):
        idx.create(COLL, dim, MODEL)
        idx.upsert(COLL, points, batch_size=64)
    for _ in range(5):
        q = rng.normal(size=dim).astype(np.float32)
        terms = sorted(set(rng.zipf(1.3, size=4).clip(1, 400).tolist()))
        qs = SparseVec(terms, [1.0] * len(terms))
        for kwargs in (
            {"mode": "dense"},
            {"mode": "sparse"},
            {"mode": "hybrid"},
            {"mode": "hybrid", "dense_weight": 1.0, "sparse_weight": 2.5, "rrf_k": 10},
            {"mode": "hybrid", "fusion": "dbsf"},
            {"mode": "hybrid", "filters": {"kind": ["project", "article"], "year": 2021}},
        ):
            a = edge.search(COLL, dense=q, sparse=qs, limit=20, **kwargs)  # type: ignore[arg-type]
            b = local.search(COLL, dense=q, sparse=qs, limit=20, **kwargs)  # type: ignore[arg-type]
            assert a, kwargs
            assert_same_ranking(a, b)
    assert edge.count(COLL, {"direction": [1, 2]}) == local.count(COLL, {"direction": [1, 2]})
    edge.close()
    local.close()
