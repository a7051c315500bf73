"""OpenMP's wait policy for the simulator kernels, chosen before the runtime starts.

Numba's OpenMP threading layer reads ``OMP_WAIT_POLICY`` once, when its runtime is
loaded (at the first parallel kernel call). Unset, GNU OpenMP lets idle pool threads
spin before they sleep. A training step is two short parallel regions separated by
NumPy and Python work, so the spinning threads compete with the thread doing that
work; on a busy machine a region then waits a whole scheduler slice for a descheduled
thread. Batch-10 steps of the flagship classifier measured up to 15 ms per sample
unset against 1 ms under ``PASSIVE`` (docs/benchmarks.md). So qadl makes ``PASSIVE``
the default; a value the user set is kept.
"""

from __future__ import annotations

import os

__all__ = ["DEFAULT_WAIT_POLICY", "default_wait_policy"]

DEFAULT_WAIT_POLICY = "PASSIVE"


def default_wait_policy() -> str:
    """Set ``OMP_WAIT_POLICY`` to ``PASSIVE`` unless it is set; returns the value in force.

    Has an effect only before the OpenMP runtime is loaded (the first parallel kernel
    call of the process); afterwards the runtime keeps the policy it started with.
    """
    return os.environ.setdefault("OMP_WAIT_POLICY", DEFAULT_WAIT_POLICY)
