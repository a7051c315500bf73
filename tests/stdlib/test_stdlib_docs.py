"""Every ```qadl block of docs/language.md and docs/tutorial.md checks and lowers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qadl.api import loads
from qadl.diagnostics import render_all
from qadl.errors import QadlError
from qadl.source import SourceMap

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```qadl\n(.*?)^```", re.S | re.M)


def blocks(name: str) -> list[tuple[str, str]]:
    """(id, code) of every qadl block of a document; id is ``name:line``."""
    path = DOCS / name
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text[: match.start()].count("\n") + 1
        found.append((f"{name}:{line}", match.group(1)))
    return found


CASES = blocks("language.md") + blocks("tutorial.md")


def test_reference_has_examples():
    """The reference really holds examples (the parametrization below is not empty)."""
    assert len(blocks("language.md")) >= 15


@pytest.mark.parametrize(("where", "code"), CASES, ids=[c[0] for c in CASES])
def test_doc_example_checks_and_lowers(where, code):
    """The block loads: parse, check and lowering of every model succeed."""
    sources = SourceMap()
    try:
        program = loads(code, path=where, sources=sources, real_path=DOCS / "example.qadl")
    except QadlError as error:
        pytest.fail(f"{where}:\n{render_all(error.diagnostics, sources)}")
    for model in program.models.values():
        assert model.circuit.readout is not None
