"""Amplitude-encoding lowering (``qadl.ir.stateprep``): exact states, gate counts, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate
from qadl.ir.stateprep import (
    amplitude_ops,
    expand_amplitude,
    gray_code,
    tree_angles,
    uniformly_controlled_ry,
)
from qadl.ir.verify import verify
from qadl.testing import circuit_unitary, reference_state


def _amplitude_circuit(k: int) -> Circuit:
    """A k-qubit circuit whose only op prepares x[0 .. 2^k-1]."""
    op = Op(Gate.AMPLITUDE, tuple(range(k)), tuple(E.x(i) for i in range(1 << k)))
    return Circuit(k, (op,), num_features=1 << k)


@st.composite
def real_vectors(draw) -> np.ndarray:
    """Real vectors of length 2^k, k = 1..6, with many exact zeros and negative entries."""
    k = draw(st.integers(1, 6))
    entry = st.one_of(
        st.just(0.0),
        st.floats(-10.0, 10.0, allow_nan=False, allow_subnormal=False),
        st.sampled_from([1.0, -1.0, 0.5, -2.0]),
    )
    values = np.array(draw(st.lists(entry, min_size=1 << k, max_size=1 << k)))
    assume(np.linalg.norm(values) > 1e-6)
    return values


@settings(max_examples=150, deadline=None)
@given(real_vectors())
def test_prepares_normalised_vector(amp):
    """|0…0⟩ ↦ a/||a|| exactly (signs included, no global phase) for k = 1..6."""
    k = amp.size.bit_length() - 1
    circuit = verify(expand_amplitude(_amplitude_circuit(k), amp))
    psi = reference_state(circuit)
    np.testing.assert_allclose(psi, amp / np.linalg.norm(amp), rtol=0, atol=1e-10)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_gate_counts_follow_mottonen(k):
    """2^k - 1 RYs and 2^k - 2 CNOTs, nothing else."""
    ops = amplitude_ops(_amplitude_circuit(k).ops[0], np.arange(1.0, (1 << k) + 1.0))
    gates = [op.gate for op in ops]
    assert gates.count(Gate.RY) == (1 << k) - 1
    assert gates.count(Gate.CX) == (1 << k) - 2
    assert len(gates) == (1 << k) * 2 - 3


@pytest.mark.parametrize(
    "amp",
    [
        [-1.0, 0.0],
        [0.0, -3.0],
        [0.0, 1.0],
        [1.0, 0.0],
        [-1.0, -1.0],
        [0.0, 0.0, 0.0, 0.0, 1.0, -2.0, 0.0, 0.0],  # zero-norm halves and pairs
        [0.0, 0.0, 0.0, -5.0],
        [0.0] * 15 + [-1.0],
        [1.0] + [0.0] * 15,
        [-1.0] * 8,
    ],
)
def test_hand_picked_edge_vectors(amp):
    """Exact zeros, one nonzero entry, all-negative vectors and k = 1."""
    amp = np.asarray(amp)
    k = amp.size.bit_length() - 1
    psi = reference_state(expand_amplitude(_amplitude_circuit(k), amp))
    np.testing.assert_allclose(psi, amp / np.linalg.norm(amp), rtol=0, atol=1e-12)


def test_single_qubit_sign_is_exact():
    """k = 1, a = (-1, 0): one RY(2π) giving −|0⟩, not |0⟩ (no global-phase freedom)."""
    (op,) = amplitude_ops(_amplitude_circuit(1).ops[0], np.array([-1.0, 0.0]))
    assert op.gate is Gate.RY
    assert op.angles[0].constant_value == pytest.approx(2 * np.pi)


def test_register_order_and_later_ops_match_reference():
    """Amplitude on qubits (3, 1) of 4, then other gates: same state as the dense reference.

    qubits[0] = 3 is the least significant bit of the amplitude index.
    """
    amp = (E.x(0), E.x(1) + E.delta(0), E.const(-0.25), E.x(2) * E.x(0))
    ops = (
        Op(Gate.H, (0,)),
        Op(Gate.AMPLITUDE, (3, 1), amp),
        Op(Gate.CX, (3, 0)),
        Op(Gate.RY, (1,), (E.x(1),)),
    )
    circuit = Circuit(4, ops, num_features=3, num_deltas=1)
    x, delta = np.array([0.3, -0.7, 1.1]), np.array([0.2])
    expanded = verify(expand_amplitude(circuit, x, delta))
    assert not any(op.gate is Gate.AMPLITUDE for op in expanded.ops)
    assert expanded.ops[0] == ops[0] and expanded.ops[-2:] == ops[-2:]
    np.testing.assert_allclose(
        reference_state(expanded, x=x, delta=delta),
        reference_state(circuit, x=x, delta=delta),
        rtol=0,
        atol=1e-12,
    )


def test_uniformly_controlled_ry_is_block_diagonal():
    """The Gray-code cascade applies RY(α_j) to the target when the controls hold j."""
    rng = np.random.default_rng(3)
    alphas = rng.uniform(-np.pi, np.pi, 8)
    controls, target = (1, 2, 3), 0
    ops = tuple(
        Op(g, qs, () if a is None else (E.const(a),))
        for g, qs, a in uniformly_controlled_ry(alphas, controls, target)
    )
    unitary = circuit_unitary(Circuit(4, ops))
    expected = np.zeros((16, 16), dtype=complex)
    for j, alpha in enumerate(alphas):
        block = GATES[Gate.RY].matrix([alpha])
        idx = [(j << 1) | t for t in (0, 1)]
        expected[np.ix_(idx, idx)] = block
    np.testing.assert_allclose(unitary, expected, atol=1e-12)


def test_gray_code_neighbours_differ_in_one_bit():
    """Consecutive Gray words (cyclically over 2^m) differ in exactly one bit."""
    for m in range(1, 6):
        words = [gray_code(i) for i in range(1 << m)]
        assert sorted(words) == list(range(1 << m))
        for i in range(1 << m):
            assert (words[i] ^ words[(i + 1) % (1 << m)]).bit_count() == 1


def test_tree_angles_split_norms_then_signed_pairs():
    """Root splits ||a[0:2]|| vs ||a[2:4]||; the leaf level keeps the pair signs."""
    root, leaf = tree_angles(np.array([3.0, 4.0, 0.0, -1.0]) / np.sqrt(26.0))
    assert root[0] == pytest.approx(2 * np.arctan2(1.0, 5.0))
    assert leaf == pytest.approx([2 * np.arctan2(4.0, 3.0), 2 * np.arctan2(-1.0, 0.0)])


def test_unbound_features_are_a_clear_error():
    """Without x the angles cannot be computed; the message says what to do."""
    with pytest.raises(ValueError, match=r"amplitude encoding needs bound features.*x\[0\]"):
        expand_amplitude(_amplitude_circuit(2))


def test_trainable_amplitudes_are_rejected():
    """θ never has a value in state preparation: named in the error."""
    op = Op(Gate.AMPLITUDE, (0,), (E.theta(0), E.const(1.0)))
    with pytest.raises(ValueError, match=r"theta\[0\]"):
        amplitude_ops(op, np.zeros(1))


def test_zero_vector_is_rejected():
    """a = 0 has no normalised state."""
    with pytest.raises(ValueError, match="norm 0"):
        expand_amplitude(_amplitude_circuit(2), np.zeros(4))


def test_batches_of_one_row_are_accepted_and_larger_ones_rejected():
    """x may be a (1, F) batch; a (2, F) batch is ambiguous."""
    amp = np.array([[1.0, 2.0, -2.0, 0.5]])
    psi = reference_state(expand_amplitude(_amplitude_circuit(2), amp))
    np.testing.assert_allclose(psi, amp[0] / np.linalg.norm(amp), atol=1e-12)
    with pytest.raises(ValueError, match="one sample"):
        expand_amplitude(_amplitude_circuit(2), np.ones((2, 4)))


def test_circuits_without_amplitude_are_returned_unchanged():
    """No amplitude op: the very same circuit object comes back."""
    circuit = Circuit(1, (Op(Gate.H, (0,)),))
    assert expand_amplitude(circuit) is circuit
