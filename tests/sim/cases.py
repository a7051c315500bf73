"""Random simulator test cases (hypothesis strategies), a Qiskit oracle built from op lists
and central finite differences."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import strategies as st

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.testing import random_circuit


def amplitude_op(rng: np.random.Generator, qubits: tuple[int, ...], num_features: int) -> Op:
    """An amplitude op whose entries are affine in the features (never all zero)."""
    angles = []
    for _ in range(1 << len(qubits)):
        a = E.const(float(rng.uniform(0.2, 1.0)))
        if num_features and rng.random() < 0.8:
            a = a + float(rng.normal()) * E.x(int(rng.integers(num_features)))
        angles.append(a)
    return Op(Gate.AMPLITUDE, qubits, tuple(angles))


def random_readout(rng: np.random.Generator, n: int) -> Readout:
    """Probabilities of a random qubit subset, or random Pauli products (Y and repeats included)."""
    if rng.random() < 0.5:
        k = int(rng.integers(1, min(n, 3) + 1))
        qubits = tuple(int(q) for q in rng.choice(n, k, replace=False))
        return Readout("probs", qubits, num_classes=int(rng.integers(1, (1 << k) + 1)))
    observables = []
    for _ in range(int(rng.integers(1, 4))):
        length = int(rng.integers(1, min(n, 3) + 1))
        qs = [int(q) for q in rng.choice(n, length, replace=False)]
        if rng.random() < 0.2:
            qs.append(qs[0])  # a repeated qubit: X0·Z0 style products (non-Hermitian)
        observables.append(tuple((str(rng.choice(["X", "Y", "Z"])), q) for q in qs))
    return Readout("expval", observables=tuple(observables))


def make_case(seed: int, n: int, num_ops: int, amp_qubits: int, *, num_deltas: int = 2,
              state_input: bool = False) -> Circuit:
    """A random circuit over every gate, optionally starting with an amplitude op."""
    rng = np.random.default_rng(seed)
    num_features = max(3, 1 << amp_qubits) if amp_qubits else 3
    base = random_circuit(rng, n, num_ops, num_params=4, num_features=num_features,
                          num_deltas=num_deltas)
    ops = list(base.ops)
    if amp_qubits:
        qubits = tuple(int(q) for q in rng.choice(n, amp_qubits, replace=False))
        ops.insert(0, amplitude_op(rng, qubits, num_features))
    return dataclasses.replace(base, ops=tuple(ops), readout=random_readout(rng, n),
                               state_input=state_input)


@st.composite
def circuits(draw, max_qubits: int = 8, max_ops: int = 24, amplitude: bool = True):
    """Hypothesis strategy: (circuit, batch size, seed for the bindings)."""
    n = draw(st.integers(1, max_qubits))
    amp = draw(st.integers(0, min(n, 3))) if amplitude else 0
    circuit = make_case(draw(st.integers(0, 2**31)), n, draw(st.integers(0, max_ops)), amp)
    return circuit, draw(st.integers(2, 3)), draw(st.integers(0, 2**31))


def bindings(circuit: Circuit, batch: int, seed: int):
    """θ (P,), x (B, F), δ (B, D)."""
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-np.pi, np.pi, circuit.num_params)
    x = rng.uniform(-1.0, 1.0, (batch, circuit.num_features))
    delta = rng.uniform(-0.5, 0.5, (batch, circuit.num_deltas))
    return theta, x, delta


def random_states(rng: np.random.Generator, batch: int, n: int) -> np.ndarray:
    """Normalised random complex states (B, 2**n)."""
    psi = rng.normal(size=(batch, 1 << n)) + 1j * rng.normal(size=(batch, 1 << n))
    return psi / np.linalg.norm(psi, axis=1, keepdims=True)


def qiskit_state(circuit: Circuit, theta, x, delta, state=None) -> np.ndarray:
    """The final state by Qiskit: each op becomes the Qiskit gate of the same name."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import StatePreparation
    from qiskit.quantum_info import Statevector

    qc = QuantumCircuit(circuit.num_qubits)
    for op in circuit.ops:
        values = [a.evaluate(theta, x, delta) for a in op.angles]
        if op.gate is Gate.AMPLITUDE:
            amp = np.asarray(values) / np.linalg.norm(values)
            qc.append(StatePreparation(amp), list(op.qubits))
        else:
            getattr(qc, op.gate.value)(*values, *op.qubits)
    if state is None:
        return Statevector(qc).data
    return Statevector(np.asarray(state)).evolve(qc).data


def central_differences(f, value: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """Central differences of scalar ``f`` at every entry of ``value`` (real array)."""
    grad = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        shift = np.zeros_like(value)
        shift[idx] = step
        grad[idx] = (f(value + shift) - f(value - shift)) / (2 * step)
    return grad


def on_all_threads_and_one(run):
    """``(run() on Numba's threads, run() on one thread)``, the thread count restored after;
    skips the test on a machine with a single Numba thread (nothing to compare)."""
    import pytest
    from numba import get_num_threads, set_num_threads

    total = get_num_threads()
    if total < 2:
        pytest.skip("needs at least two Numba threads")
    many = run()
    set_num_threads(1)
    try:
        return many, run()
    finally:
        set_num_threads(total)


def assert_same_bits(got, ref, fields=("outputs", "theta", "x", "delta", "state")) -> None:
    """Arrays, or ``Gradients`` field by field (None where both are None), equal bit for bit."""
    if isinstance(got, np.ndarray):
        np.testing.assert_array_equal(got, ref)
        return
    for field in fields:
        a, b = getattr(got, field), getattr(ref, field)
        assert (a is None) == (b is None), field
        if a is not None:
            np.testing.assert_array_equal(a, b, err_msg=field)
