"""Vectors: the e5 embedder and its runtimes (:mod:`.embedder`, :mod:`.onnx`), the offline model build
(:mod:`.modelbuild`, :mod:`.q4file`) and the Qdrant index (:mod:`.index`)."""

from pilotkg.vectors.embedder import Embedder, get_embedder
from pilotkg.vectors.index import (
    Filters,
    Hit,
    IndexPoint,
    Payload,
    SearchRequest,
    SparseVec,
    VectorIndex,
    open_index,
)
from pilotkg.vectors.modelbuild import build_model, ensure_model

__all__ = [
    "Embedder",
    "Filters",
    "Hit",
    "IndexPoint",
    "Payload",
    "SearchRequest",
    "SparseVec",
    "VectorIndex",
    "build_model",
    "ensure_model",
    "get_embedder",
    "open_index",
]
