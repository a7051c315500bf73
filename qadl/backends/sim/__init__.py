"""The Numba statevector simulator: ``Simulator`` and ``Gradients`` (docs/api.md).

Importing this package imports no Numba; kernels compile (or load from the disk cache)
on the first simulation call.
"""

from __future__ import annotations

from qadl.backends.sim.gradients import Gradients
from qadl.backends.sim.noisy import NoisySimulator
from qadl.backends.sim.statevector import Simulator

__all__ = ["Gradients", "NoisySimulator", "Simulator"]
