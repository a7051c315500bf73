"""UI tests (rustc style): each broken program's exact stderr, exit 1, a location, no traceback.

Cases are ``tests/ui/<group>/<case>.qadl`` with the expected ``<case>.stderr`` beside them;
``_helpers/`` folders hold files the cases import. Regenerate with ``--update-golden``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from qadl.cli import main

UI = Path(__file__).resolve().parent
REPO = UI.parent.parent
CASES = sorted(p for p in UI.glob("*/*.qadl") if not p.parent.name.startswith("_"))
# the error's own location, or (for an error inside an imported block) the call site in the case
LOCATION = re.compile(
    r"^(tests/ui/[\w/]+\.qadl:\d+:\d+: error\[E\d{4}\]: |\s+::: tests/ui/[\w/]+\.qadl:\d+:\d+$)",
    re.MULTILINE,
)


def test_enough_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_ui_case(case: Path, capsys, monkeypatch, update_golden):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("QADL_BACKTRACE", raising=False)
    rel = os.path.relpath(case, REPO)
    code = main(["check", rel])
    err = capsys.readouterr().err
    expected_path = case.with_suffix(".stderr")
    if update_golden:
        expected_path.write_text(err, encoding="utf-8")
    assert code == 1, err
    assert "Traceback" not in err
    assert LOCATION.search(err), err
    assert expected_path.exists(), f"missing {expected_path.name}; run pytest --update-golden"
    assert err == expected_path.read_text(encoding="utf-8")
