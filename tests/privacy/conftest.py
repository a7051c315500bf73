"""The privacy tests simulate 2-3 qubit batches of a few states: one kernel thread is
faster than waking several (and keeps the suite quick on a busy machine)."""

from __future__ import annotations

import pytest

from qadl.backends.sim.hessian import serial


@pytest.fixture(autouse=True)
def _one_kernel_thread():
    with serial():
        yield
