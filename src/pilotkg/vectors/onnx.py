"""The encoder's transformer layers in ONNX Runtime: the hot path of matching.

A 300-character description is one pass of ~215 tokens through e5-small's 12 layers; on this
machine's two cores ONNX Runtime runs that pass in ~80 ms where eager torch takes ~110-150 ms
(README, Speed). The model stays the sentence-transformers folder. Only the layers after the
word-embedding lookup are exported, as ``onnx/encoder.onnx`` next to the weights (~90 MB instead of
~470 MB with the 250 037-row table). With this runtime nothing imports torch: the tokenizer is
``tokenizers`` on the folder's ``tokenizer.json`` and the table is a read-only memory map of its rows
in ``model.safetensors`` (:func:`word_embeddings`), so only the rows of tokens seen are paged in.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pilotkg.errors import ModelError
from pilotkg.files import atomic_path

ONNX_NAME = "onnx/encoder.onnx"
OPSET = 17


def onnx_path(model_dir: Path) -> Path:
    return Path(model_dir) / ONNX_NAME


def export_encoder(model_dir: Path) -> Path:
    """Write ``onnx/encoder.onnx`` for the folder (inputs: ``inputs_embeds`` float32 [b, n, 384],
    ``attention_mask`` int64 [b, n]; output: the last hidden state). Atomic: a half-written file
    never takes the final name. Imports torch, so it runs at set-up (``pilotkg model build``)."""
    import torch
    from transformers import BertModel

    model_dir = Path(model_dir)
    bert = BertModel.from_pretrained(str(model_dir), local_files_only=True)
    bert.eval()  # type: ignore[no-untyped-call]  # transformers' Module.eval is unannotated

    class Layers(torch.nn.Module):  # type: ignore[misc]  # torch is not analysed (mypy follow_imports=skip)
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state

    n = 16
    example = (torch.zeros((1, n, bert.config.hidden_size)), torch.ones((1, n), dtype=torch.long))
    out = onnx_path(model_dir)
    # The TorchScript exporter warns about its own deprecation and about tracing shape arithmetic;
    # what matters is that the graph computes what torch does, which the tests check.
    with atomic_path(out, ".encoder-", ".onnx") as tmp, torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Layers(),
            example,
            str(tmp),
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["hidden"],
            dynamic_axes={
                "inputs_embeds": {0: "b", 1: "n"},
                "attention_mask": {0: "b", 1: "n"},
                "hidden": {0: "b", 1: "n"},
            },
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles BertModel
        )
    return out


class OnnxLayers:
    """An ONNX Runtime session of the exported layers, sized like the torch side."""

    def __init__(self, model_dir: Path, *, threads: int, spin: bool) -> None:
        import onnxruntime as ort

        path = onnx_path(model_dir)
        if not path.is_file():
            raise ModelError(
                f"{path} is missing: run `pilotkg model build` (or set PILOTKG_ENCODER_RUNTIME=torch)",
                f"缺少 {path}：请运行 `pilotkg model build`（或设置 PILOTKG_ENCODER_RUNTIME=torch）",
                where=str(path),
            )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        # Same reasoning as OMP_WAIT_POLICY=PASSIVE for torch: spinning threads stall when another
        # process holds a core.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.threads = threads
        try:
            self._session: Any = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
            raise ModelError(
                f"cannot load {path}: {exc}; rebuild it with `pilotkg model build --force`",
                f"无法加载 {path}：{exc}；请运行 `pilotkg model build --force` 重新构建",
                where=str(path),
            ) from exc

    def hidden(self, embeds: np.ndarray) -> np.ndarray:
        """Last hidden state [n, dim] of one unpadded sequence given its word embeddings [n, dim]."""
        n = embeds.shape[0]
        feeds = {
            "inputs_embeds": np.ascontiguousarray(embeds, dtype=np.float32)[None],
            "attention_mask": np.ones((1, n), dtype=np.int64),
        }
        return np.asarray(self._session.run(None, feeds)[0][0])

    @property
    def batched(self) -> bool:
        """Whether the graph takes several sequences per call: exports before 6 Dec fixed the batch to 1
        (``pilotkg model build --force`` re-exports); those run the sequences one by one."""
        return not isinstance(self._session.get_inputs()[0].shape[0], int)

    def hidden_batch(self, embeds: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last hidden states [b, n, dim] of padded sequences: word embeddings [b, n, dim] and the
        attention mask [b, n] (1 for tokens, 0 for padding; padded rows equal their unpadded pass)."""
        if not self.batched:
            out = np.zeros(embeds.shape, dtype=np.float32)
            for r in range(embeds.shape[0]):
                n = int(mask[r].sum())
                out[r, :n] = self.hidden(embeds[r, :n])
            return out
        feeds = {
            "inputs_embeds": np.ascontiguousarray(embeds, dtype=np.float32),
            "attention_mask": np.ascontiguousarray(mask, dtype=np.int64),
        }
        return np.asarray(self._session.run(None, feeds)[0])


_SAFETENSORS_TYPES = {"F32": np.float32, "F16": np.float16}
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


def word_embeddings(model_dir: Path) -> np.ndarray:
    """The word-embedding table of ``model.safetensors`` as a read-only memory map (no copy, no torch)."""
    path = Path(model_dir) / "model.safetensors"
    try:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        entry = header[WORD_EMBEDDINGS]
        begin, end = (int(x) for x in entry["data_offsets"])
        dtype = np.dtype(_SAFETENSORS_TYPES[entry["dtype"]])
        rows, dim = (int(x) for x in entry["shape"])
        if end - begin != rows * dim * dtype.itemsize or path.stat().st_size < 8 + size + end:
            raise ValueError(f"{WORD_EMBEDDINGS} does not fit the file")
        table = np.memmap(path, dtype=dtype, mode="r", offset=8 + size + begin, shape=(rows, dim))
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"cannot read the word embeddings in {path}: {exc}; rebuild it with `pilotkg model build --force`",
            f"无法读取 {path} 中的词向量：{exc}；请运行 `pilotkg model build --force` 重新构建",
            where=str(model_dir),
        ) from exc
    return table
