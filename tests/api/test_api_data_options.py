"""Every data-source option the checker accepts is one the loader applies and the
language reference documents (no option accepted and ignored)."""

from __future__ import annotations

from pathlib import Path

import qadl
from qadl.check.methods import DATA_SOURCES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "language.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = DOC.index(f"## {title}")
    return DOC[start : DOC.index("\n## ", start + 1)]


def test_every_data_option_is_documented_in_its_row():
    """Each option of each source appears in that source's row of the data table (§11)."""
    table = [line for line in _section("11 Data").splitlines() if line.startswith("| `")]
    missing = []
    for source, options in DATA_SOURCES.items():
        short = source.removeprefix("builtin.")
        row = next(r for r in table if f"`{source}" in r or f"`builtin.{short}`" in r)
        missing += [f"{source}: {o}" for o in options if f"`{o}" not in row]
    assert missing == []


def test_fixed_size_sources_refuse_samples(tmp_path):
    """`samples` was accepted (and ignored) by digits and files; it is refused now."""
    path = tmp_path / "p.qadl"
    path.write_text(
        "data d = builtin.digits(classes = [0, 1], size = 2x2, samples = 5)\n"
        "model clf(x: float[4]) on q[1] {\n    param θ[1]\n"
        "    ry(x[0] + x[1] + x[2] + x[3] + θ[0]) q[0]\n"
        "    readout probs(q[0]) -> classes 2\n}\n"
        "train clf on d.train { epochs 1 }\n"
    )
    (diag,) = qadl.diagnose(path)
    assert diag.code == "E0510" and "no option `samples`" in diag.message
