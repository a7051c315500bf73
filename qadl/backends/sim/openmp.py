"""OpenMP's wait policy for the simulator kernels, chosen before the runtime starts.

Numba's OpenMP threading layer reads ``OMP_WAIT_POLICY`` and ``GOMP_SPINCOUNT`` once,
when its runtime is loaded (at the first parallel kernel call). Unset, GNU OpenMP lets
idle pool threads spin about 3 ms (300 000 iterations) before they sleep. Between short
parallel regions separated by NumPy and Python work the spinning threads compete with
the thread doing that work, and on a busy machine a region then waits a whole scheduler
slice for a descheduled thread: batch-10 training steps of the flagship classifier
measured up to 15 ms per sample unset against 1 ms under ``PASSIVE`` (docs/benchmarks.md).
``PASSIVE`` alone (no spinning) makes every region wake sleeping threads; idle threads
that first spin ``GOMP_SPINCOUNT`` iterations avoid that on an idle machine, but beside a
busy process a spinning thread uses up its share of a core and then waits a slice before
its next region. When one large state still ran as 44 regions per sample, 1 000 spins
(about 10 µs) kept most of the idle machine's gain and little of the busy one's loss
(``benchmarks/wait_policy.py``), so qadl's default is ``PASSIVE`` with
``GOMP_SPINCOUNT=1000``. A wait policy or spin count the user set is kept, and then
nothing else is changed.

Training steps, gradients and one large state now run on Python threads (``threads``,
``team``), not in OpenMP regions; the policy governs the kernels that remain parallel
loops (batched outputs, density matrices, the complex-amplitude fallbacks, Gram matrices).
"""

from __future__ import annotations

import os

__all__ = ["DEFAULT_SPIN_COUNT", "DEFAULT_WAIT_POLICY", "default_wait_policy"]

DEFAULT_WAIT_POLICY = "PASSIVE"
DEFAULT_SPIN_COUNT = "1000"


def default_wait_policy() -> str:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` and ``GOMP_SPINCOUNT=1000`` unless the user set
    either; returns the wait policy in force.

    Has an effect only before the OpenMP runtime is loaded (the first parallel kernel
    call of the process); afterwards the runtime keeps the settings it started with.
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = DEFAULT_SPIN_COUNT
    return os.environ.setdefault("OMP_WAIT_POLICY", DEFAULT_WAIT_POLICY)
