"""mypy --strict over the installed ``pilotkg`` package: run by ``make lint``.

``pilotkg.api`` and ``pilotkg.indexers`` live in top-level folders (pyproject's package-dir), which mypy
cannot map from an editable install, so this lays the package out as it is installed, with symlinks
under build/typecheck/, and checks that tree (errors name the files through those links).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "typecheck"


def main() -> int:
    if TREE.exists():
        shutil.rmtree(TREE)
    pkg = TREE / "pilotkg"
    pkg.mkdir(parents=True)
    for entry in (ROOT / "src" / "pilotkg").iterdir():
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    (pkg / "api").symlink_to(ROOT / "api")
    (pkg / "indexers").symlink_to(ROOT / "indexers")
    os.environ["MYPYPATH"] = str(TREE)  # imports of pilotkg.* resolve in the laid-out tree
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "-p", "pilotkg"])
    sys.stdout.write(out.replace(str(TREE) + "/", "").replace("build/typecheck/", ""))
    sys.stderr.write(err)
    return status


if __name__ == "__main__":
    sys.exit(main())
