"""``import qadl`` (and the public API, and ``qadl.interop``) never imports torch or ART."""

from __future__ import annotations

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
print(",".join(m for m in ("torch", "art") if m in sys.modules))
"""


def test_qadl_does_not_import_torch_or_art():
    """A fresh interpreter: load, classify, import qadl.interop; neither library is loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(TINY)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_the_probe_would_see_torch():
    """The check can fail: importing the torch adapter does put torch in sys.modules."""
    import pytest

    pytest.importorskip("torch")
    probe = "import sys, qadl.interop.torch; print('torch' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300
    )
    assert done.stdout.strip() == "True", done.stderr
