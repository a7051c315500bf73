"""Every error code the front end, checker and lowering can raise is catalogued in docs/errors.md."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_code_is_documented():
    doc = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| (E\d{4}) \|", doc, re.MULTILINE))
    used: set[str] = set()
    for path in (REPO / "qadl").rglob("*.py"):
        used |= set(re.findall(r'"(E\d{4})"', path.read_text(encoding="utf-8")))
    used |= {"E0508", "E0608"}  # built from the schema's unknown-option code
    assert sorted(used - documented) == []
