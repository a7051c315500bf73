"""DESIGN.md's back-end promise: the emitted program's statevector equals the simulator's."""

from __future__ import annotations

import numpy as np
import pytest
import qiskit.qasm3
from qiskit.quantum_info import Statevector

from qadl.backends.qasm3 import emit
from qadl.backends.sim import Simulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.testing import random_bindings, random_circuit


def _qiskit_state(text: str) -> np.ndarray:
    qc = qiskit.qasm3.loads(text)
    qc.remove_final_measurements(inplace=True)
    assert not qc.parameters
    return Statevector(qc).data


@pytest.mark.parametrize("seed", range(6))
def test_bound_program_state_equals_simulator_state(seed):
    """Random circuits over every gate, θ/x/δ bound: identical states, global phase included."""
    rng = np.random.default_rng(100 + seed)
    circuit = random_circuit(rng, 1 + seed % 4, 40, num_deltas=2)
    theta, x, delta = random_bindings(rng, circuit)
    text = emit(circuit, theta=theta, x=x, delta=delta)
    simulated = Simulator(circuit).states(theta, x=x[None], delta=delta[None])[0]
    np.testing.assert_allclose(_qiskit_state(text), simulated, atol=1e-10)


def test_amplitude_classifier_state_equals_simulator_state():
    """Amplitude encoding + a rotation layer: the bound QASM matches the simulator."""
    amp = tuple(E.x(i) for i in range(8))
    ops = (
        Op(Gate.AMPLITUDE, (0, 1, 2), amp),
        *(Op(Gate.RY, (q,), (E.theta(q),)) for q in range(3)),
        Op(Gate.CX, (0, 1)),
        Op(Gate.CX, (1, 2)),
    )
    circuit = Circuit(3, ops, num_params=3, num_features=8, readout=Readout("probs", (0,)))
    rng = np.random.default_rng(7)
    theta, x = rng.normal(size=3), rng.normal(size=8)
    text = emit(circuit, theta=theta, x=x)
    simulated = Simulator(circuit).states(theta, x=x[None])[0]
    np.testing.assert_allclose(_qiskit_state(text), simulated, atol=1e-10)
