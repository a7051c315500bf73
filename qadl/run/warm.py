"""Load the simulator's compiled kernels once in a fresh process (a Dask worker).

Numba compiles (or loads from its on-disk cache) a kernel at its first call, which costs
seconds per signature. A worker that does this once when it starts keeps that cost out of
its first task's timing and out of every task's critical path.
"""

from __future__ import annotations

from functools import cache

__all__ = ["warm_kernels"]

_TINY = """
model warm(p: float[2]) on q[2] {
    param t[2] init uniform(0, 1)
    ry(t[0] + p[0]) q[0]
    rx(t[1] + p[1]) q[1]
    cz q[0], q[1]
    readout probs(q[0]) -> classes 2
}
"""


@cache
def warm_kernels() -> None:
    """Run a 2-qubit classifier forward and through its adjoint gradient once: the kernels
    every white-box attack and training step calls."""
    import numpy as np

    from qadl.api import loads
    from qadl.run.build import classifier_of

    program = loads(_TINY, "<warm>")
    classifier = classifier_of(program, "warm")
    theta = np.zeros(classifier.num_params)
    x = np.zeros((1, 2))
    classifier.predict_proba(theta, x=x)
    classifier.loss_and_grads(theta, np.zeros(1, dtype=np.int64), x=x)
