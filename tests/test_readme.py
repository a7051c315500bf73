"""The README's program excerpt is valid qadl, and its quickstart names real commands."""

from __future__ import annotations

import re
from pathlib import Path

import qadl

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_program_checks() -> None:
    block = next(b for b in re.findall(r"```text\n(.*?)```", README, re.S) if "model " in b)
    program = qadl.loads(block, "README.md", real_path=ROOT / "README.md")
    model = program.models["classifier"]
    assert (model.num_qubits, model.num_params, model.num_features) == (10, 260, 256)
    assert [d.result for d in program.defences] == ["robust"]
    assert set(program.attacks) == {"ren"}


def test_quickstart_runs_the_flagship_and_the_test_suite() -> None:
    quickstart = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    assert "qadl run examples/ren2022_images.qadl" in quickstart
    assert (ROOT / "examples" / "ren2022_images.qadl").exists()
    assert 'python -m pytest -q -m "not slow"' in quickstart
    assert 'python -m pytest -q -m "not slow"' in (ROOT / ".ci" / "run").read_text()
