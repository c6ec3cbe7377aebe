"""pilotkg.vectors"""

from pilotkg.vectors.embedder import Embedder, get_embedder
from pilotkg.vectors.index import Filters, Hit, IndexPoint, SearchRequest, SparseVec, VectorIndex, open_index
from pilotkg.vectors.modelbuild import build_model

__all__ = [
    "Embedder",
    "Filters",
    "Hit",
    "IndexPoint",
    "SearchRequest",
    "SparseVec",
    "VectorIndex",
    "build_model",
    "get_embedder",
    "open_index",
]
