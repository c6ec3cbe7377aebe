"""Import graph of pilotkg, checked: run by ``make lint``.

Prints the package-level graph and exits 1 when any of these holds:
- an import cycle between modules (imports inside functions count; ``if TYPE_CHECKING:`` ones do not;
  a module's implicit import of its parent package does not, as in import-linter);
- a package imports a package that comes later in the data flow (``LAYERS``);
- a module imports another module's underscore name;
- a module defines a module-level ``__getattr__`` (a lazy re-export shim).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Where each installed package's files live (pyproject's package-dir).
SOURCES = {"pilotkg": ROOT / "src" / "pilotkg", "pilotkg.api": ROOT / "api", "pilotkg.indexers": ROOT / "indexers"}
# The data flow, lowest first: a unit may import only units before it (and itself).
LAYERS = [
    {"pilotkg.settings", "pilotkg.errors", "pilotkg.iri", "pilotkg.files", "pilotkg.cutoffs"},
    {"pilotkg.policy"},
    {"pilotkg.graph"},
    {"pilotkg.vectors"},
    {"pilotkg.matching"},
    {"pilotkg.projects"},
    {"pilotkg.service"},
    {"pilotkg.evaluate", "pilotkg.calibration", "pilotkg.api", "pilotkg.indexers"},
    {"pilotkg.cli"},
]


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for prefix, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([prefix, *parts]) if parts else prefix
            if "__pycache__" in path.parts:
                continue
            found[name] = path
    return found


def runtime_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    out: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.orelse:
                visit(sub)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def unit_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def layer_of(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise KeyError(unit)


def main() -> int:
    mods = modules()
    edges: dict[str, set[str]] = defaultdict(set)
    problems: list[str] = []
    for name, path in sorted(mods.items()):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
                problems.append(f"{path}:{node.lineno}: module-level __getattr__ (a lazy re-export shim)")
        for node in runtime_imports(tree):
            targets: list[tuple[str, str | None]] = []
            if isinstance(node, ast.Import):
                targets = [(a.name, None) for a in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: drop level - 1 trailing parts of the package
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [(base, a.name) for a in node.names]
            for module, attr in targets:
                if not module.startswith("pilotkg"):
                    continue
                if attr is not None and f"{module}.{attr}" in mods:
                    target = f"{module}.{attr}"
                else:
                    target = module
                    if attr and attr.startswith("_") and not attr.startswith("__"):
                        problems.append(f"{path}:{node.lineno}: imports the underscore name {attr} from {module}")
                if target != name and target in mods:
                    edges[name].add(target)
    # cycles (Tarjan's strongly connected components)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    sccs: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(mods):
        if v not in index:
            strong(v)
    problems += [f"import cycle: {' ↔ '.join(c)}" for c in sccs]
    # layering between units
    units: dict[str, set[str]] = defaultdict(set)
    for src, targets in edges.items():
        for dst in targets:
            a, b = unit_of(src), unit_of(dst)
            if a != b:
                units[a].add(b)
                if layer_of(b) > layer_of(a):
                    problems.append(f"{src} imports {dst}: {b} comes after {a} in the data flow")
    print("package imports (data flow, lowest first):")
    for layer in LAYERS:
        for unit in sorted(layer):
            print(f"  {unit} → {', '.join(sorted(units.get(unit, ()))) or '–'}")
    print(f"{len(mods)} modules, {sum(len(t) for t in edges.values())} imports between them")
    for p in problems:
        print(f"error: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
