"""Test helpers that are product code: a dense reference simulator, random circuits, equivalence.

Nothing here imports hypothesis or Numba; the reference simulator is plain NumPy and is
the yardstick the compiled simulator, the passes and the QASM back end are checked against.
"""

from __future__ import annotations

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate

__all__ = [
    "apply_matrix",
    "assert_equivalent",
    "circuit_unitary",
    "random_bindings",
    "random_circuit",
    "reference_outputs",
    "reference_state",
]

UNITARY_GATES: tuple[Gate, ...] = tuple(g for g in Gate if g is not Gate.AMPLITUDE)


def apply_matrix(state: np.ndarray, matrix: np.ndarray, qubits: tuple[int, ...]) -> np.ndarray:
    """Apply a little-endian ``matrix`` on ``qubits`` to a state vector of ``n`` qubits."""
    n = int(np.log2(state.size))
    k = len(qubits)
    psi = state.reshape([2] * n)  # axis j <-> qubit n-1-j
    axes = [
        n - 1 - q for q in reversed(qubits)
    ]  # matrix index bits: qubits[-1] is most significant
    mat = matrix.reshape([2] * (2 * k))
    out = np.tensordot(mat, psi, axes=(list(range(k, 2 * k)), axes))
    return np.moveaxis(out, list(range(k)), axes).reshape(-1)


def _angles(op: Op, theta, x, delta) -> list[float]:
    return [a.evaluate(theta, x, delta) for a in op.angles]


def reference_state(
    circuit: Circuit,
    theta: np.ndarray | None = None,
    x: np.ndarray | None = None,
    delta: np.ndarray | None = None,
    state: np.ndarray | None = None,
) -> np.ndarray:
    """Final state of one sample, gate by gate with dense matrices (slow, obviously right)."""
    n = circuit.num_qubits
    if state is None:
        psi = np.zeros(1 << n, dtype=complex)
        psi[0] = 1.0
    else:
        psi = np.asarray(state, dtype=complex).copy()
    for op in circuit.ops:
        values = _angles(op, theta, x, delta)
        if op.gate is Gate.AMPLITUDE:
            amp = np.asarray(values, dtype=float)
            amp = amp / np.linalg.norm(amp)
            # |0…0> on op.qubits -> amp: a unitary whose first column is amp.
            q, _ = np.linalg.qr(np.column_stack([amp, np.eye(amp.size)[:, 1:]]).astype(complex))
            col = q[:, 0]
            q = q * (np.vdot(col, amp) / abs(np.vdot(col, amp)))  # make column 0 exactly amp
            psi = apply_matrix(psi, q, op.qubits)
        else:
            psi = apply_matrix(psi, GATES[op.gate].matrix(values), op.qubits)
    return psi


def reference_outputs(circuit: Circuit, psi: np.ndarray) -> np.ndarray:
    """Readout values of one final state, following ``Readout``'s definition."""
    readout = circuit.readout
    if readout is None:
        raise ValueError("circuit has no readout")
    probs = np.abs(psi) ** 2
    idx = np.arange(probs.size)
    if readout.kind == "probs":
        outcome = np.zeros_like(idx)
        for bit, q in enumerate(readout.qubits):
            outcome |= ((idx >> q) & 1) << bit
        marg = np.bincount(outcome, weights=probs, minlength=1 << len(readout.qubits))
        return marg[: readout.num_classes]
    values = []
    paulis = {"X": GATES[Gate.X].matrix(), "Y": GATES[Gate.Y].matrix(), "Z": GATES[Gate.Z].matrix()}
    for obs in readout.observables:
        phi = psi
        for pauli, q in obs:
            phi = apply_matrix(phi, paulis[pauli], (q,))
        values.append(np.vdot(psi, phi).real)
    return np.asarray(values)


def circuit_unitary(circuit: Circuit, theta=None, x=None, delta=None) -> np.ndarray:
    """The full ``2^n × 2^n`` unitary (little-endian) of a circuit without amplitude ops."""
    dim = 1 << circuit.num_qubits
    cols = []
    for j in range(dim):
        basis = np.zeros(dim, dtype=complex)
        basis[j] = 1.0
        cols.append(reference_state(circuit, theta, x, delta, state=basis))
    return np.column_stack(cols)


def random_circuit(
    rng: np.random.Generator,
    num_qubits: int,
    num_ops: int,
    *,
    gates: tuple[Gate, ...] = UNITARY_GATES,
    num_params: int = 4,
    num_features: int = 3,
    num_deltas: int = 0,
) -> Circuit:
    """A random circuit whose angles are random affine (sometimes quadratic) expressions."""
    usable = [g for g in gates if GATES[g].num_qubits <= num_qubits and g is not Gate.AMPLITUDE]
    syms: list[E.Expr] = [E.theta(i) for i in range(num_params)]
    syms += [E.x(i) for i in range(num_features)]
    syms += [E.delta(i) for i in range(num_deltas)]
    ops = []
    for _ in range(num_ops):
        gate = usable[rng.integers(len(usable))]
        info = GATES[gate]
        qubits = tuple(int(q) for q in rng.choice(num_qubits, info.num_qubits, replace=False))
        angles = []
        for _ in range(info.num_angles):
            angle = E.const(float(rng.normal()))
            for _ in range(int(rng.integers(0, 3))):
                if syms:
                    angle = angle + float(rng.normal()) * syms[rng.integers(len(syms))]
            if syms and rng.random() < 0.1:
                angle = angle + syms[rng.integers(len(syms))] * syms[rng.integers(len(syms))]
            angles.append(angle)
        ops.append(Op(gate, qubits, tuple(angles)))
    return Circuit(num_qubits, tuple(ops), num_params, num_features, num_deltas)


def random_bindings(rng: np.random.Generator, circuit: Circuit):
    """Random values ``(theta, x, delta)`` for every symbol the circuit declares."""
    return (
        rng.uniform(-np.pi, np.pi, circuit.num_params),
        rng.uniform(-np.pi, np.pi, circuit.num_features),
        rng.uniform(-np.pi, np.pi, circuit.num_deltas),
    )


def _phase_aligned_distance(a: np.ndarray, b: np.ndarray) -> float:
    flat_a, flat_b = a.reshape(-1), b.reshape(-1)
    k = int(np.argmax(np.abs(flat_a)))
    if abs(flat_b[k]) < 1e-12:
        return float(np.max(np.abs(flat_a - flat_b)))
    phase = flat_a[k] / flat_b[k]
    phase /= abs(phase)
    return float(np.max(np.abs(flat_a - phase * flat_b)))


def assert_equivalent(
    actual: Circuit,
    expected: Circuit,
    *,
    bindings=None,
    permutation: tuple[int, ...] | None = None,
    atol: float = 1e-9,
    rng: np.random.Generator | None = None,
) -> None:
    """Assert two circuits have the same operator up to global phase, with a diagnosis.

    ``permutation[l]`` is the qubit of ``actual`` that carries logical qubit ``l`` of
    ``expected`` at the end (routing); input layouts are assumed to be the identity.
    """
    rng = rng or np.random.default_rng(0)
    theta, x, delta = bindings or random_bindings(rng, expected)
    u_exp = circuit_unitary(expected, theta, x, delta)
    u_act = circuit_unitary(actual, theta, x, delta)
    if permutation is not None:
        n = actual.num_qubits
        dim = 1 << n
        perm = np.zeros((dim, dim))
        for i in range(dim):
            j = 0
            for logical, physical in enumerate(permutation):
                j |= ((i >> physical) & 1) << logical
            perm[j, i] = 1.0
        u_act = perm @ u_act
    if u_act.shape != u_exp.shape:
        raise AssertionError(f"different sizes: {u_act.shape} vs {u_exp.shape}")
    dist = _phase_aligned_distance(u_exp, u_act)
    if dist > atol:
        first = next(
            (i for i, (a, b) in enumerate(zip(actual.ops, expected.ops, strict=False)) if a != b),
            min(len(actual.ops), len(expected.ops)),
        )
        lines = [f"circuits differ: largest amplitude difference {dist:.3e} (atol {atol:.1e})"]
        lines.append(f"first differing op at index {first}")
        lines.append("actual:")
        lines += [f"  {op}" for op in actual.ops]
        lines.append("expected:")
        lines += [f"  {op}" for op in expected.ops]
        raise AssertionError("\n".join(lines))
