"""Engine-neutral pieces between the shared Qdrant semantics and the two adapters.

:class:`pilotkg.vectors.index.qdrant.QdrantIndex` turns public requests into a :class:`QueryPlan` of :class:`FieldMatch`
conditions and records the model as a :class:`CollectionMeta`; an adapter translates these into its engine's
request types and hands back :class:`RawHit` results. The checks that do not depend on the engine
(collection names, filters, dense vectors) live here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from pilotkg.errors import InputError
from pilotkg.vectors.index.base import (
    DENSE,
    GID,
    KIND,
    LEX,
    META_VERSION,
    RESERVED_KEYS,
    Filters,
    Fusion,
    Mode,
    SparseVec,
)

# qdrant-edge-py 0.9.0 converts a Python bool in MatchValue to the integer 0/1, so a bool filter
# never matches a bool payload value. The edge adapter therefore mirrors every top-level bool into
# a hidden keyword field and filters on that instead. The shared checks reserve the prefix for both
# adapters: refused in payload keys and filter fields, stripped from returned payloads.
BOOL_SHADOW_PREFIX = "__pilotkg_bool__"

_COLLECTION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class FieldMatch:
    key: str
    value: str | int | bool | tuple[str, ...] | tuple[int, ...]


@dataclass(frozen=True)
class CollectionMeta:
    model_name: str
    dim: int

    def to_json(self) -> dict[str, Any]:
        return {
            "version": META_VERSION,
            "model_name": self.model_name,
            "dim": self.dim,
            "dense": DENSE,
            "sparse": LEX,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    @staticmethod
    def from_json(raw: Mapping[str, Any] | None) -> CollectionMeta | None:
        if not raw or "model_name" not in raw or "dim" not in raw:
            return None
        return CollectionMeta(model_name=str(raw["model_name"]), dim=int(raw["dim"]))


@dataclass(frozen=True)
class QueryPlan:
    dense: list[float] | None
    sparse: SparseVec | None
    mode: Mode
    limit: int
    prefetch_limit: int
    matches: tuple[FieldMatch, ...]
    exclude: tuple[str, ...]
    fusion: Fusion
    rrf_k: int
    weights: tuple[float, ...] | None
    score_threshold: float | None
    exact: bool
    fields: tuple[str, ...] | None  # payload keys to return (with GID and KIND); None: all

    @property
    def payload_keys(self) -> list[str] | None:
        return None if self.fields is None else [*self.fields, GID, KIND]


@dataclass(frozen=True)
class RawHit:
    """What an adapter hands back: engine payload plus, when asked, vectors."""

    payload: dict[str, Any]
    score: float = 0.0
    dense: list[float] | None = None
    sparse: SparseVec | None = None


def check_collection_name(collection: str) -> None:
    if not _COLLECTION_NAME.match(collection):
        raise InputError(
            "collection name must be 1-64 chars of letters, digits, '_' or '-'",
            "集合名须为 1-64 个字母、数字、'_' 或 '-'",
            where=f"collection {collection!r}",
        )


def normalise_filters(filters: Filters | None) -> tuple[FieldMatch, ...] | None:
    """Neutral conditions, or ``None`` when a condition can match nothing (empty any-of list)."""
    if not filters:
        return ()
    out: list[FieldMatch] = []
    for key, value in filters.items():
        where = f"filter {key!r}"
        if not isinstance(key, str) or not key or key.startswith(BOOL_SHADOW_PREFIX):
            raise InputError("invalid filter field name", "过滤字段名无效", where=where)
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            if not items:
                return None
            if all(isinstance(v, str) for v in items):
                out.append(FieldMatch(key, tuple(str(v) for v in items)))
            elif all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in items):
                out.append(FieldMatch(key, tuple(int(v) for v in items if isinstance(v, int | np.integer))))
            else:
                raise InputError(
                    "an any-of filter list must hold only strings or only integers",
                    "多值过滤列表只能全是字符串或全是整数",
                    where=where,
                )
        elif isinstance(value, str | int):  # bool is an int subclass and is kept as bool
            out.append(FieldMatch(key, value))
        elif isinstance(value, np.integer):
            out.append(FieldMatch(key, int(value)))
        else:
            raise InputError(
                f"filter values must be str, int, bool or a list of them, not {type(value).__name__}",
                f"过滤值须为字符串、整数、布尔或其列表，不能是 {type(value).__name__}",
                where=where,
            )
    return tuple(out)


def as_dense(vector: np.ndarray | Sequence[float], dim: int, where: str) -> list[float]:
    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim != 1 or arr.shape[0] != dim:
        raise InputError(
            f"dense vector has shape {arr.shape}, the index expects ({dim},)",
            f"稠密向量形状为 {arr.shape}，索引要求 ({dim},)",
            where=where,
        )
    if not np.all(np.isfinite(arr)) or not np.any(arr):
        raise InputError("dense vector must be finite and non-zero", "稠密向量须为有限值且非零向量", where=where)
    return [float(x) for x in arr]


def public_payload(stored: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k not in RESERVED_KEYS and not k.startswith(BOOL_SHADOW_PREFIX)}
