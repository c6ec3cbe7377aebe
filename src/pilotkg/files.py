"""Files written atomically (the model folder, fitted artefacts): a half-written file never takes the final name;
and the fitted artefacts shipped in the package, read back."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from pilotkg.errors import InputError

Artefact = TypeVar("Artefact", bound=BaseModel)


def read_artefact(
    package: str, name: str, model: type[Artefact], *, version: int, command: str, what: tuple[str, str]
) -> Artefact:
    """The artefact ``name`` shipped in ``package``, parsed and of ``version``; else an InputError that
    names the command rebuilding it (``what``: the artefact in English and Chinese)."""
    en, zh = what
    try:
        found = model.model_validate_json(resources.files(package).joinpath(name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"the {en} artefact is missing or unreadable ({exc}); run `{command}`",
            f"{zh}文件缺失或无法读取（{exc}）；请运行 `{command}`",
            where=name,
        ) from exc
    if (v := getattr(found, "version", None)) != version:
        raise InputError(
            f"{en} artefact version {v}, expected {version}; run `{command}`",
            f"{zh}文件版本为 {v}，应为 {version}；请运行 `{command}`",
            where=name,
        )
    return found


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
