"""Shared helpers for the pass tests: seeded random circuits, readout equivalence, targets."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.target import Target
from qadl.testing import random_bindings, random_circuit, reference_outputs, reference_state

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""Modest hypothesis budget: each example builds dense unitaries."""

PROPERTY_SMALL = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
"""For the routing/compilation properties (a SABRE run plus a dense unitary per example)."""

seeds = st.integers(min_value=0, max_value=2**31 - 1)

CANCELLY_GATES = (
    Gate.H,
    Gate.X,
    Gate.Z,
    Gate.S,
    Gate.SDG,
    Gate.T,
    Gate.SX,
    Gate.RZ,
    Gate.RX,
    Gate.RY,
    Gate.P,
    Gate.CX,
    Gate.CZ,
    Gate.SWAP,
    Gate.RZZ,
    Gate.CRZ,
)
"""A gate mix dense in cancellation and merging opportunities."""


def random_case(seed: int, num_qubits: int = 4, num_ops: int = 24, *, gates=None) -> Circuit:
    """A reproducible random circuit (all gates, or ``gates``), with repeats to cancel."""
    rng = np.random.default_rng(seed)
    kwargs = {} if gates is None else {"gates": gates}
    c = random_circuit(rng, num_qubits, num_ops, **kwargs)
    # Repeat a random slice mirrored, so inverse pairs and mergeable rotations occur often.
    ops = list(c.ops)
    k = int(rng.integers(0, len(ops)))
    ops[k:k] = [ops[k - 1]] if k else []
    return c.with_ops(ops)


def cost(circuit: Circuit) -> tuple[int, int]:
    """(two-qubit ops, ops): no pass increases it (resynth-2q may add single-qubit ops
    only where it removes two-qubit ones)."""
    return sum(len(o.qubits) == 2 for o in circuit.ops), len(circuit.ops)


def random_readout(rng: np.random.Generator, num_qubits: int, kind: str) -> Readout:
    """A probs readout on a random subset, or a random Pauli expval readout."""
    if kind == "probs":
        k = int(rng.integers(1, num_qubits + 1))
        qubits = tuple(int(q) for q in rng.choice(num_qubits, k, replace=False))
        return Readout("probs", qubits, num_classes=1 << k)
    obs = []
    for _ in range(int(rng.integers(1, 4))):
        qs = rng.choice(num_qubits, int(rng.integers(1, num_qubits + 1)), replace=False)
        obs.append(tuple(("XYZ"[int(rng.integers(3))], int(q)) for q in qs))
    return Readout("expval", observables=tuple(obs))


def random_state(rng: np.random.Generator, num_qubits: int) -> np.ndarray:
    """A Haar-ish random input state."""
    v = rng.normal(size=1 << num_qubits) + 1j * rng.normal(size=1 << num_qubits)
    return v / np.linalg.norm(v)


def assert_same_outputs(actual: Circuit, expected: Circuit, seed: int = 0, states: int = 3) -> None:
    """Readout values agree for random bindings on |0…0⟩ and on random input states."""
    rng = np.random.default_rng(seed)
    theta, x, delta = random_bindings(rng, expected)
    inputs = [None] + [random_state(rng, expected.num_qubits) for _ in range(states)]
    for psi in inputs:
        want = reference_outputs(expected, reference_state(expected, theta, x, delta, psi))
        got = reference_outputs(actual, reference_state(actual, theta, x, delta, psi))
        np.testing.assert_allclose(got, want, atol=1e-9)


def assert_same_layers(got_layers, want_layers) -> None:
    """Two syntheses' single-qubit layers (sequences of matrix tuples) equal bit for bit."""
    for got_layer, want_layer in zip(got_layers, want_layers, strict=True):
        for got, want in zip(got_layer, want_layer, strict=True):
            assert got.tobytes() == want.tobytes()


def relabel(circuit: Circuit, mapping, num_qubits: int) -> Circuit:
    """``circuit`` with qubit ``q`` renamed ``mapping[q]`` on a register of ``num_qubits``."""
    ops = tuple(
        Op(op.gate, tuple(mapping[q] for q in op.qubits), op.angles, op.tags) for op in circuit.ops
    )
    return Circuit(num_qubits, ops, circuit.num_params, circuit.num_features, circuit.num_deltas)


def compact(circuit: Circuit, keep: set[int]) -> tuple[Circuit, dict[int, int]]:
    """Restrict ``circuit`` to the qubits in ``keep`` (every op must stay inside them)."""
    order = sorted(keep)
    index = {q: i for i, q in enumerate(order)}
    return relabel(circuit, index, len(order)), index


def line_target(n: int, basis=(Gate.RX, Gate.RY, Gate.RZ, Gate.CZ)) -> Target:
    """A path of ``n`` qubits."""
    return Target(f"line{n}", n, tuple(basis), tuple(itertools.pairwise(range(n))))


def op(gate: Gate, *qubits: int, angles=()) -> Op:
    """Shorthand for hand-written cases; float angles become constants."""
    return Op(
        gate, tuple(qubits), tuple(a if isinstance(a, E.Expr) else E.const(a) for a in angles)
    )
