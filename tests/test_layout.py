"""The import graph check that ``make lint`` runs: the real tree passes, and it catches what it should."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]


def load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_imports", REPO / "scripts" / "check_imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_imports"] = module
    spec.loader.exec_module(module)
    return module


def test_the_tree_has_no_cycle_no_shim_no_private_import(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_checker().main() == 0
    out = capsys.readouterr().out
    matching = ", ".join(f"pilotkg.{m}" for m in ("cutoffs", "errors", "files", "graph", "iri", "policy", "vectors"))
    assert f"pilotkg.matching → {matching}" in out


def test_the_checker_flags_cycles_layers_shims_and_private_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = tmp_path / "pilotkg"
    for sub in ("policy", "graph"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "policy" / "a.py").write_text("from pilotkg.policy import b\n")
    (pkg / "policy" / "b.py").write_text("def f():\n    from pilotkg.policy.a import _x\n")
    (pkg / "policy" / "c.py").write_text("from pilotkg.graph import d\n")  # a lower layer importing a higher one
    (pkg / "graph" / "d.py").write_text("def __getattr__(name):\n    return name\n")
    checker = load_checker()
    monkeypatch.setattr(checker, "SOURCES", {"pilotkg": pkg})
    assert checker.main() == 1
    out = capsys.readouterr().out
    assert "import cycle: pilotkg.policy.a ↔ pilotkg.policy.b" in out
    assert "imports the underscore name _x" in out
    assert "pilotkg.graph comes after pilotkg.policy" in out
    assert "module-level __getattr__" in out
