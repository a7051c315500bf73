"""``import qadl`` (and the public API, and ``qadl.interop``) never imports torch or ART."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from .conftest import TINY

PROBE = """
import sys
import qadl
import qadl.interop
program = qadl.load(sys.argv[1])
clf = program.classifier("tiny")
clf.predict_proba(program.data("digits")[1].x[:2])
print("before:" + ",".join(m for m in ("torch", "art") if m in sys.modules))
for adapter in sys.argv[2:]:  # the probe can fail: the adapters do import their library
    __import__("qadl.interop." + adapter)
print("after:" + ",".join(m for m in ("torch", "art") if m in sys.modules))
"""


def test_qadl_does_not_import_torch_or_art():
    """A fresh interpreter: load, classify, import qadl.interop; neither library is loaded
    until its adapter is imported."""
    present = [name for name in ("torch", "art") if importlib.util.find_spec(name) is not None]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(TINY), *present],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split()
    assert before == "before:"
    assert after == "after:" + ",".join(present)
