"""Files written atomically (the model folder, fitted artefacts): a half-written file never takes the final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(out: Path, prefix: str, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``out`` to write; when the block ends without an error it becomes ``out``
    (readable by the API's user too), otherwise it is removed."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
