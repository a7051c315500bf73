"""OpenMP's wait policy for the simulator kernels, chosen before the runtime starts.

Numba's OpenMP threading layer reads ``OMP_WAIT_POLICY`` and ``GOMP_SPINCOUNT`` once,
when its runtime is loaded (at the first parallel kernel call). Unset, GNU OpenMP lets
idle pool threads spin about 3 ms (300 000 iterations) before they sleep. Between short
parallel regions separated by NumPy and Python work the spinning threads compete with
the thread doing that work, and on a busy machine a region then waits a whole scheduler
slice for a descheduled thread: batch-10 training steps of the flagship classifier
measured up to 15 ms per sample unset against 1 ms under ``PASSIVE`` (docs/benchmarks.md).
``PASSIVE`` alone (no spinning) makes every region wake sleeping threads, which one
large state split over the threads pays about 44 times per sample (``soa_single``). Idle
threads that first spin ``GOMP_SPINCOUNT`` iterations avoid that on an idle machine, but
beside a busy process a spinning thread uses up its share of a core and then waits a
slice before its next region. W1 at batch 1, mean ms per ``Simulator.vjp`` with spin
counts 0 / 1 000 / 10 000 (``benchmarks/wait_policy.py``): at 14 qubits 4.9-5.8 /
2.1-2.2 / 1.9-2.0 idle and 3.9-4.0 / 6.2-6.5 / 19-21 beside one busy process; at 16
qubits 12-14 / 9.0-10.9 / 8.8-9.4 idle and 17 / 19 / 41-47 beside it. So qadl's
default is ``PASSIVE`` with ``GOMP_SPINCOUNT=1000`` (about 10 µs): most of the idle
machine's gain, little of the busy one's loss. A wait policy or spin count the user set
is kept, and then nothing else is changed.
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
