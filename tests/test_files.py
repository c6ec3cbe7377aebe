"""Shipped artefacts read back: a missing, unreadable or outdated one is a clear InputError naming the
command that rebuilds it (the product never falls back to a guess)."""

from __future__ import annotations

import pytest

from pilotkg.cutoffs import ARTEFACT, ARTEFACT_VERSION, Cutoffs
from pilotkg.errors import InputError
from pilotkg.files import read_artefact


def read(name: str, version: int) -> Cutoffs:
    return read_artefact(
        "pilotkg", name, Cutoffs, version=version, command="pilotkg judge calibrate", what=("fitted cut-offs", "阈值")
    )


def test_the_shipped_artefact_reads() -> None:
    assert read(ARTEFACT, ARTEFACT_VERSION).version == ARTEFACT_VERSION


@pytest.mark.parametrize(
    ("name", "version", "en", "zh"),
    [
        ("no-such-artefact.json", ARTEFACT_VERSION, "missing or unreadable", "缺失或无法读取"),
        ("__init__.py", ARTEFACT_VERSION, "missing or unreadable", "缺失或无法读取"),  # not the model's JSON
        (ARTEFACT, ARTEFACT_VERSION + 1, f"expected {ARTEFACT_VERSION + 1}", f"应为 {ARTEFACT_VERSION + 1}"),
    ],
)
def test_a_bad_artefact_names_the_command_that_rebuilds_it(name: str, version: int, en: str, zh: str) -> None:
    with pytest.raises(InputError) as err:
        read(name, version)
    assert en in err.value.message_en and "pilotkg judge calibrate" in err.value.message_en
    assert zh in err.value.message_zh and err.value.where == name
