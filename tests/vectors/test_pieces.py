"""The SentencePiece tokenizer of the ONNX runtime gives the ids and offsets that ``tokenizers`` gives on
tokenizer.json, in ~50 MB instead of ~270 MB."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from pilotkg.vectors.modelbuild import QUERY_PROMPT
from pilotkg.vectors.pieces import PieceTokenizer, pieces_path, write_pieces_model

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pair(e5_model_dir: Path) -> tuple[Tokenizer, PieceTokenizer]:
    return Tokenizer.from_file(str(e5_model_dir / "tokenizer.json")), PieceTokenizer(e5_model_dir)


def corpus_texts() -> list[str]:
    texts = []
    for f in sorted((ROOT / "corpus").rglob("*")):
        if f.suffix in (".txt", ".md", ".csv", ".tsv"):
            texts += [line.strip() for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts


WRITTEN = [
    "本项目综合运用卫星遥感、无人机和物联网技术，报警响应时间45分钟。",
    "工作温度-20℃至50℃，覆盖面积3000㎡，精度±0.5ｍｍ，Ｗｉ－Ｆｉ６与5G双链路。",
    "一、项目背景\n\n二、建设内容：部署 IoT  传感器\t与 AI 平台（Ver.2）",
    "ﬁ ligature, café, naïve — “quotes” …… ①②③",
]


def test_same_ids_and_offsets_as_tokenizers_on_corpus_and_written_texts(pair: tuple[Tokenizer, PieceTokenizer]) -> None:
    hf, sp = pair
    texts = corpus_texts() + WRITTEN
    assert len(texts) > 100
    for t in texts:
        q = QUERY_PROMPT + t
        want = hf.encode(q, add_special_tokens=False)
        got = sp.encode(q)
        assert got.ids == list(want.ids), q
        assert got.offsets == [tuple(o) for o in want.offsets], q


def test_same_ids_on_random_strings(pair: tuple[Tokenizer, PieceTokenizer]) -> None:
    hf, sp = pair
    rng = random.Random(7)
    # No combining marks: after a character they do not compose with (：+ U+0301), ``tokenizers`` reads
    # the pair as one grapheme where SentencePiece, XLM-R's own tokenizer, maps code point by code point.
    alphabet = "的一是了安全应急装备ABCxyz0123456789，。；：、（）() \t\n①%℃㎡ｍ３😀ﬁÅé·—…“”《》【】"
    for _ in range(500):
        q = QUERY_PROMPT + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert sp.encode(q).ids == list(hf.encode(q, add_special_tokens=False).ids), q


def test_special_tokens_resolve_and_unknown_pieces_do_not(pair: tuple[Tokenizer, PieceTokenizer]) -> None:
    hf, sp = pair
    for name in ("<s>", "</s>", "<pad>", "<unk>"):
        assert sp.token_to_id(name) == hf.token_to_id(name)
    assert sp.token_to_id("no-such-piece-⟂") is None


def test_the_model_file_is_derived_from_tokenizer_json(e5_model_dir: Path, tmp_path: Path) -> None:
    out = write_pieces_model(e5_model_dir / "tokenizer.json", tmp_path / "m.model")
    assert out.read_bytes() == pieces_path(e5_model_dir).read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": {"type": "BPE"}, "normalizer": {"normalizers": []}}), encoding="utf-8")
    from pilotkg.errors import ModelError

    with pytest.raises(ModelError):
        write_pieces_model(bad, tmp_path / "x.model")
