"""The simulator's OpenMP runtime starts PASSIVE with a short spin unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_START = """
import qadl.backends.sim.kernels  # the kernels' pre-import settings
import numba
print(numba.get_num_threads(), numba.threading_layer())  # starts the threading layer
"""


def test_unset_policy_starts_the_runtime_passive() -> None:
    """GNU OpenMP reports its settings when it starts (OMP_DISPLAY_ENV), in a fresh process.

    Its displayed OMP_WAIT_POLICY reads PASSIVE when unset too; the spin count tells
    them apart (300000 unset, 0 under PASSIVE alone, qadl's 1000 here).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"
    done = subprocess.run([sys.executable, "-c", _START], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    if done.stdout.split()[-1] != "omp":
        pytest.skip("Numba did not pick the OpenMP threading layer here")
    lines = [ln for ln in done.stderr.splitlines() if "GOMP_SPINCOUNT" in ln]
    if not lines:
        pytest.skip("the OpenMP runtime does not display its settings (not GNU OpenMP)")
    assert lines[0].split("=", 1)[1].strip().strip("'") == "1000"


def test_default_wait_policy_keeps_the_users_value(monkeypatch) -> None:
    from qadl.backends.sim.openmp import default_wait_policy

    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert default_wait_policy() == "ACTIVE" == os.environ["OMP_WAIT_POLICY"]
    assert "GOMP_SPINCOUNT" not in os.environ  # the user's policy alone decides
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert default_wait_policy() == "PASSIVE" == os.environ["OMP_WAIT_POLICY"]
    assert os.environ["GOMP_SPINCOUNT"] == "1000"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "0")
    assert default_wait_policy() == "PASSIVE" and os.environ["GOMP_SPINCOUNT"] == "0"
