"""The e5 tokenizer for the ONNX runtime, as a SentencePiece model.

multilingual-e5-small tokenizes with XLM-R's Unigram SentencePiece. The folder's ``tokenizer.json``
(Hugging Face ``tokenizers``) holds it as a vocabulary of 250 002 scored pieces and the normaliser's
precompiled character map; ``tokenizers`` builds a trie of hash maps from it that keeps ~270 MB resident
in the server. ``pilotkg model build`` writes the same model as a SentencePiece proto
(``sentencepiece.model``, the pieces, scores and character map of ``tokenizer.json``, nothing else),
which the ``sentencepiece`` library holds in ~50 MB.

Both give the same ids (for trailing whitespace, which SentencePiece drops, the "▁" token that
``tokenizers`` emits is added), and the same character
offsets on the eval and corpus texts (tested). They differ only on a combining mark after a character it
does not compose with (：+ U+0301), which ``tokenizers`` reads as one grapheme and SentencePiece, XLM-R's
own tokenizer, maps code point by code point. Offsets are given as ``tokenizers`` gives them: a piece
that starts after a run of whitespace starts at the run's last character (the one the normaliser keeps),
and a piece that holds part of a character the normaliser expanded (℃ → °C, ㎡ → m2) spans all of it.
"""

from __future__ import annotations

import base64
import importlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilotkg.errors import ModelError
from pilotkg.files import atomic_path

PIECES_NAME = "sentencepiece.model"
_SPACE = "\u2581"  # SentencePiece's visible space
_CONTROL = ("<s>", "</s>", "<pad>")


def pieces_path(model_dir: Path) -> Path:
    return Path(model_dir) / PIECES_NAME


def write_pieces_model(tokenizer_json: Path, out: Path) -> Path:
    """Write the SentencePiece proto of a Unigram ``tokenizer.json`` (atomically)."""
    # generated protobuf code: its classes are made at import, so no type checker sees them
    pb: Any = importlib.import_module("sentencepiece.sentencepiece_model_pb2")

    where = str(tokenizer_json)
    try:
        spec = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
        model = spec["model"]
        normalizers = spec["normalizer"]["normalizers"]
        charsmap = next(n["precompiled_charsmap"] for n in normalizers if n["type"] == "Precompiled")
        if model["type"] != "Unigram":
            raise ValueError(f"a {model['type']} model, not Unigram")
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
        raise ModelError(
            f"cannot read the Unigram tokenizer in {tokenizer_json}: {exc}",
            f"无法读取 {tokenizer_json} 中的 Unigram 分词器：{exc}",
            where=where,
        ) from exc
    proto = pb.ModelProto()
    kind = pb.ModelProto.SentencePiece
    unk = int(model["unk_id"])
    for i, (piece, score) in enumerate(model["vocab"]):
        p = proto.pieces.add()
        p.piece, p.score = piece, float(score)
        if i == unk:
            p.type = kind.UNKNOWN
        elif piece in _CONTROL:
            p.type = kind.CONTROL
        elif piece == "<mask>":
            p.type = kind.USER_DEFINED
        else:
            p.type = kind.NORMAL
    ids = {piece: i for i, (piece, _) in enumerate(model["vocab"])}
    trainer = proto.trainer_spec
    trainer.model_type = pb.TrainerSpec.UNIGRAM
    trainer.vocab_size = len(proto.pieces)
    trainer.unk_id, trainer.bos_id, trainer.eos_id, trainer.pad_id = unk, ids["<s>"], ids["</s>"], ids["<pad>"]
    norm = proto.normalizer_spec
    norm.name = "user_defined"
    norm.precompiled_charsmap = base64.b64decode(charsmap)
    # tokenizer.json's Metaspace (prefix space) and Replace(" {2,}" → " ") normalisers
    norm.add_dummy_prefix = True
    norm.remove_extra_whitespaces = True
    norm.escape_whitespaces = True
    with atomic_path(out, ".pieces-") as tmp:
        tmp.write_bytes(proto.SerializeToString())
    return out


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    offsets: list[tuple[int, int]]  # character offsets into the text, as ``tokenizers`` gives them


class PieceTokenizer:
    """The part of ``tokenizers.Tokenizer`` the ONNX embedder uses, on ``sentencepiece.model``."""

    def __init__(self, model_dir: Path) -> None:
        import sentencepiece

        path = pieces_path(model_dir)
        try:
            self._sp: Any = sentencepiece.SentencePieceProcessor(model_file=str(path))
        except (OSError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load {path}: {exc}; run `pilotkg model build`",
                f"无法加载 {path}：{exc}；请运行 `pilotkg model build`",
                where=str(path),
            ) from exc
        self._unk = int(self._sp.unk_id())
        self._space = int(self._sp.piece_to_id(_SPACE))

    def token_to_id(self, piece: str) -> int | None:
        i = int(self._sp.piece_to_id(piece))
        return None if i == self._unk and piece != self._sp.id_to_piece(self._unk) else i

    def encode(self, text: str, add_special_tokens: bool = False) -> Encoded:
        """Content ids and offsets (``add_special_tokens`` is accepted for the ``tokenizers`` signature;
        the embedder adds <s> and </s> per window itself)."""
        proto = self._sp.encode(text, return_type="proto")
        data = text.encode("utf-8")
        # the character index of every byte offset
        char_at = [0] * (len(data) + 1)
        k = 0
        for i, ch in enumerate(text):
            n = len(ch.encode("utf-8"))
            char_at[k : k + n] = [i] * n
            k += n
        char_at[len(data)] = len(text)
        ids: list[int] = []
        offsets: list[tuple[int, int]] = []
        for p in proto.pieces:
            a, e = char_at[p.begin], char_at[p.end]
            while a + 1 < e and text[a].isspace() and text[a + 1].isspace():
                a += 1
            shown = p.piece.replace(_SPACE, " ").strip()
            if shown and e < len(text) and len(unicodedata.normalize("NFKC", text[a:e]).strip()) < len(shown):
                e += 1
            ids.append(int(p.id))
            offsets.append((a, e))
        if text[-1:].isspace() and text.strip():
            # tokenizers' Metaspace keeps trailing whitespace as a "▁" of its own; SentencePiece drops it
            ids.append(self._space)
            offsets.append((len(text) - 1, len(text)))
        return Encoded(ids, offsets)

    def encode_batch(self, texts: list[str], add_special_tokens: bool = False) -> list[Encoded]:
        return [self.encode(t) for t in texts]
