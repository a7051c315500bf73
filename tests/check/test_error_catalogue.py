"""Every error code the front end, checker and lowering can raise is in docs/errors.md."""

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


FRONT_END = (
    "frontend",
    "check",
    "ir/lower.py",
    "ir/evaluate/",
    "ir/unroll/",
    "ir/kernel.py",
    "api.py",
    "cli.py",
    "cli_compile.py",
    "program.py",
)


def _run_time_rows() -> set[str]:
    """E05xx codes whose catalogue row says they are raised by ``qadl run`` (training options)."""
    doc = (REPO / "docs" / "errors.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| (E05\d{2}) \| `qadl run`", doc, re.MULTILINE))


def test_language_codes_come_only_from_the_front_end():
    """E00xx-E05xx belong to the front end and checker; later stages use E06xx/E07xx.

    Keeps two stages from giving one code two meanings (it happened once: see git log).
    The exceptions are E05xx codes catalogued as raised by `qadl run` (a training option
    that only the data or the run can refute): one row, one meaning.
    """
    allowed = _run_time_rows()
    offenders = []
    for path in (REPO / "qadl").rglob("*.py"):
        rel = path.relative_to(REPO / "qadl").as_posix()
        if rel.startswith(FRONT_END):
            continue
        for code in re.findall(r'"(E0[0-5]\d{2})"', path.read_text(encoding="utf-8")):
            if code not in allowed:
                offenders.append(f"{rel}: {code}")
    assert offenders == []
