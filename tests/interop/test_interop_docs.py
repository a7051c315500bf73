"""docs/api.md with its adapter examples: every ```python, ```python art and ```python torch
block runs, in order, in one namespace (tests/api/test_api_docs.py runs the plain ones)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def test_api_page_with_adapters_runs(tmp_path, monkeypatch, capsys):
    """The page's program, then each Python block in document order, ART and torch included."""
    pytest.importorskip("art")
    pytest.importorskip("torch")
    text = DOC.read_text(encoding="utf-8")
    (program,) = re.findall(r"```qadl\n(.*?)```", text, re.S)
    (tmp_path / "tiny.qadl").write_text(program, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```(python(?: art| torch)?)\n(.*?)```", text, re.S)
    kinds = [kind for kind, _ in blocks]
    assert "python art" in kinds and "python torch" in kinds
    namespace: dict[str, object] = {"__name__": "api_md"}
    for index, (kind, block) in enumerate(blocks):
        try:
            exec(compile(block, f"docs/api.md {kind} block {index + 1}", "exec"), namespace)
        except Exception as err:  # name the block that failed
            raise AssertionError(f"docs/api.md {kind} block {index + 1} failed: {err!r}") from err
    printed = capsys.readouterr().out
    assert "{'lr': " in printed and "(2, 2)" in printed
