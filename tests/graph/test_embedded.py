"""EmbeddedStore on its own: read-only opens beside a writer, the single-writer lock, closing."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest

from pilotkg.errors import StoreError
from pilotkg.graph.store import open_store
from pilotkg.graph.store.embedded import EmbeddedStore
from pilotkg.settings import Settings
from tests.graph.test_store import G1, people


def test_read_only_open_alongside_a_writer(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sparql_query_url=None)
    writer = open_store(settings)
    writer.replace_graph(G1, people(3))
    reader = open_store(settings, read_only=True)
    try:
        assert reader.triple_count(G1) == 6
        with pytest.raises(StoreError):
            reader.replace_graph(G1, people(1))
    finally:
        reader.close()
        writer.close()


def test_read_only_opens_while_the_writer_compacts(tmp_path: Path) -> None:
    # Without a retry, about one open in five failed here with RocksDB's "Corruption … No such file"
    # (the writer deleted an SST file listed in the MANIFEST the reader had just read).
    writer = EmbeddedStore(tmp_path)
    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set():
            writer.store.extend(
                ox.Quad(
                    ox.NamedNode(f"http://example.org/s{i}_{j}"),
                    ox.NamedNode("http://example.org/p"),
                    ox.Literal(str(j)),
                )
                for j in range(2000)
            )
            writer.store.flush()
            if i % 5 == 0:
                writer.store.optimize()
            i += 1

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(100):
            EmbeddedStore(tmp_path, read_only=True).close()
    finally:
        stop.set()
        thread.join()
        writer.close()


def test_second_writer_is_told_the_store_is_in_use(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sparql_query_url=None)
    writer = open_store(settings)
    try:
        with pytest.raises(StoreError) as err:
            open_store(settings)
        assert "pilotkg serve" in err.value.message_en and "HTTP API" in err.value.message_en
        code = (
            "import sys; from pathlib import Path; from pilotkg.settings import Settings\n"
            "from pilotkg.graph.store import open_store; from pilotkg.errors import StoreError\n"
            f"try: open_store(Settings(data_dir=Path({str(tmp_path)!r}), sparql_query_url=None))\n"
            "except StoreError as e: print(e.message_en); sys.exit(3)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3 and "pilotkg serve" in proc.stdout, proc.stderr
    finally:
        writer.close()
    reopened = open_store(settings)  # close() released the lock
    reopened.close()


def test_missing_store_read_only_says_build_first(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        open_store(Settings(data_dir=tmp_path / "nothing", sparql_query_url=None), read_only=True)
    assert "pilotkg build" in err.value.message_en


def test_closed_store_refuses_use(tmp_path: Path) -> None:
    s = EmbeddedStore(tmp_path / "db")
    s.close()
    with pytest.raises(StoreError):
        s.query("ASK {}")
