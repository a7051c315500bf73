"""docs/api.md is executable: its program checks, and its Python blocks run in order."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_api_page_runs(tmp_path, monkeypatch, capsys):
    """Every ```python block, in one namespace, in a directory holding the page's program."""
    (program,) = _blocks("qadl")
    (tmp_path / "tiny.qadl").write_text(program, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    blocks = _blocks("python")
    assert len(blocks) >= 8
    namespace: dict[str, object] = {"__name__": "api_md"}
    for index, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/api.md python block {index + 1}", "exec"), namespace)
        except Exception as err:  # name the block that failed
            raise AssertionError(f"docs/api.md python block {index + 1} failed: {err!r}") from err
    printed = capsys.readouterr().out
    assert "4 24 16 2" in printed and "(0.05, 0.2)" in printed  # the page's stated outputs
    assert (tmp_path / "runs" / "tiny" / "tiny.params.npz").is_file()
