"""A slow, obviously-right stand-in for ``qadl.backends.sim.Simulator`` (tests only).

Outputs come from ``qadl.testing.reference_state``; gradients from central finite
differences, so it is only usable on tiny circuits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qadl.ir.circuit import Circuit
from qadl.testing import reference_outputs, reference_state

STEP = 1e-6


@dataclass
class RefGradients:
    """Same fields as ``qadl.backends.sim.Gradients``."""

    outputs: np.ndarray
    theta: np.ndarray
    x: np.ndarray | None
    delta: np.ndarray | None
    state: np.ndarray | None


class RefSim:
    """Dense reference implementation of the simulator interface of docs/api.md."""

    def __init__(self, circuit: Circuit) -> None:
        self.circuit = circuit
        self.num_qubits = circuit.num_qubits
        self.num_params = circuit.num_params
        self.num_features = circuit.num_features
        self.num_deltas = circuit.num_deltas
        self.num_outputs = circuit.readout.num_outputs

    def _batch(self, x, delta, state) -> int:
        sizes = {len(a) for a in (x, delta, state) if a is not None}
        assert len(sizes) <= 1, "batch sizes disagree"
        return sizes.pop() if sizes else 1

    def _row(self, arr, b):
        return None if arr is None else np.asarray(arr)[b]

    def states(self, theta, x=None, delta=None, state=None):
        return np.array(
            [
                reference_state(
                    self.circuit, theta, self._row(x, b), self._row(delta, b), self._row(state, b)
                )
                for b in range(self._batch(x, delta, state))
            ]
        )

    def outputs(self, theta, x=None, delta=None, state=None):
        return np.array(
            [reference_outputs(self.circuit, psi) for psi in self.states(theta, x, delta, state)]
        )

    def _fd(self, f, arr):
        """Central-difference gradient of scalar f at arr (real array, same shape)."""
        grad = np.zeros(arr.shape)
        flat = arr.reshape(-1)
        g = grad.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + STEP
            up = f(arr)
            flat[i] = old - STEP
            down = f(arr)
            flat[i] = old
            g[i] = (up - down) / (2 * STEP)
        return grad

    def vjp(self, theta, x=None, delta=None, state=None, *, cotangent, method="adjoint"):
        cot = np.asarray(cotangent, dtype=float)
        theta = np.array(theta, dtype=float)
        x = None if x is None else np.array(x, dtype=float)
        delta = None if delta is None else np.array(delta, dtype=float)
        state = None if state is None else np.array(state, dtype=complex)

        def total(th=theta, xx=x, dd=delta, ss=state):
            return float(np.sum(cot * self.outputs(th, xx, dd, ss)))

        g_theta = self._fd(lambda a: total(th=a), theta)
        g_x = None if x is None or not self.num_features else self._fd(lambda a: total(xx=a), x)
        g_d = None
        if delta is not None and self.num_deltas:
            g_d = self._fd(lambda a: total(dd=a), delta)
        g_s = None
        if state is not None:
            re = self._fd(lambda a: total(ss=a + 1j * state.imag), state.real.copy())
            im = self._fd(lambda a: total(ss=state.real + 1j * a), state.imag.copy())
            g_s = re + 1j * im
        return RefGradients(self.outputs(theta, x, delta, state), g_theta, g_x, g_d, g_s)
