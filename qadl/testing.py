"""Test helpers that are product code: a dense reference simulator, random circuits, equivalence.

Nothing here imports hypothesis or Numba; the reference simulator is plain NumPy and is
the yardstick the compiled simulator, the passes and the QASM back end are checked against.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import GATES, Gate

__all__ = [
    "GOLDEN_ATOL",
    "GOLDEN_RTOL",
    "NumericText",
    "apply_matrix",
    "assert_equivalent",
    "assert_numbers_close",
    "assert_text_close",
    "circuit_unitary",
    "compare_numbers",
    "compare_text",
    "embedded_distance",
    "operator_distance",
    "random_bindings",
    "random_circuit",
    "reference_outputs",
    "reference_state",
    "replace_numbers",
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


def operator_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Largest entry of ``a − e^{iφ}·b`` with ``φ`` aligning the largest entry of ``a``.

    Linear in the error (a rotation by ``ε`` gives ``≈ ε/2``), unlike tests on
    ``|tr(a†b)|``, which move only quadratically and miss small rotations.
    """
    return _phase_aligned_distance(a, b)


def embedded_distance(
    actual: Circuit,
    expected: Circuit,
    layout: tuple[int, ...],
    final_permutation: tuple[int, ...],
    bindings=None,
    *,
    inputs: int | None = None,
    rng: np.random.Generator | None = None,
) -> float:
    """``operator_distance`` of ``expected`` and a compiled ``actual`` on a larger device.

    Logical qubit ``l`` of ``expected`` starts on physical qubit ``layout[l]`` of ``actual``
    and ends on ``final_permutation[l]``; every other physical qubit starts in ``|0⟩`` and
    must end there. Only the qubits ``actual`` touches are simulated. With ``inputs=None``
    the columns are every computational basis state of the logical qubits (the restricted
    operator); otherwise ``|0…0⟩`` and ``inputs - 1`` random product states (for wide
    circuits), all sharing one global phase.
    """
    rng = rng or np.random.default_rng(0)
    theta, x, delta = bindings or random_bindings(rng, expected)
    n = expected.num_qubits
    touched = {q for op in actual.ops for q in op.qubits}
    used = sorted(touched | set(layout[:n]) | set(final_permutation[:n]))
    index = {p: i for i, p in enumerate(used)}
    m = len(used)
    small_ops = tuple(
        Op(op.gate, tuple(index[q] for q in op.qubits), op.angles, op.tags) for op in actual.ops
    )
    small = Circuit(m, small_ops, actual.num_params, actual.num_features, actual.num_deltas)

    def placement(qubits: list[int]) -> np.ndarray:
        """Index in the small register of each basis state of the logical register."""
        k = np.arange(1 << n)
        out = np.zeros(1 << n, dtype=np.int64)
        for logical, physical in enumerate(qubits):
            out |= ((k >> logical) & 1) << index[physical]
        return out

    start, end = placement(list(layout[:n])), placement(list(final_permutation[:n]))
    if inputs is None:
        states = list(np.eye(1 << n, dtype=complex))
    else:
        states = [np.eye(1 << n, dtype=complex)[0]]
        for _ in range(inputs - 1):
            psi = np.ones(1, dtype=complex)
            for _ in range(n):
                v = rng.normal(size=2) + 1j * rng.normal(size=2)
                psi = np.kron(v / np.linalg.norm(v), psi)  # qubit 0 is the low bit
            states.append(psi)
    got, want = [], []
    for psi in states:
        full = np.zeros(1 << m, dtype=complex)
        full[start] = psi
        got.append(reference_state(small, theta, x, delta, state=full))
        embedded = np.zeros(1 << m, dtype=complex)
        embedded[end] = reference_state(expected, theta, x, delta, state=psi)
        want.append(embedded)
    return operator_distance(np.column_stack(want), np.column_stack(got))


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


# -- golden files: exact structure, numbers to a tolerance ----------------------------------------
GOLDEN_RTOL = 1e-12
GOLDEN_ATOL = 1e-10
"""Tolerance for numbers in golden files and fingerprints: ``|a − b| ≤ atol + rtol·|b|``.

Libm and SIMD rounding differ between CPUs in the last digits (ill-conditioned steps such
as the phase of a small matrix entry can amplify that by orders of magnitude); an angle
off by 1e-9 is a real change and fails for every value below ~900 in size."""

_FLOAT = re.compile(
    r"(?<![\w.\])\]])-?(?:\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)"
)
"""A floating-point literal: digits with a point or an exponent, not inside a name (``x_1``)
or an index; a leading ``-`` belongs to it unless it follows an operand (``a - 1.5``)."""
_MASK = "<num>"


@dataclass(frozen=True)
class NumericText:
    """A text split into its structure (floats replaced by ``<num>``) and its floats, in order.

    Integers (qubit indices, sizes, symbol indices) stay in the structure and compare exactly.
    """

    lines: tuple[str, ...]
    """The masked lines."""
    numbers: tuple[tuple[int, float], ...]
    """``(line index, value)`` of every float literal, in reading order."""

    @classmethod
    def parse(cls, text: str) -> NumericText:
        """Split ``text`` (any line endings) into masked lines and the floats they held."""
        lines, numbers = [], []
        for i, line in enumerate(text.splitlines()):
            numbers += [(i, float(m.group())) for m in _FLOAT.finditer(line)]
            lines.append(_FLOAT.sub(_MASK, line))
        return cls(tuple(lines), tuple(numbers))


def replace_numbers(text: str, change) -> str:
    """``text`` with each float literal ``v`` (the k-th, from 0) written as ``repr(change(k, v))``.

    For tests of the comparators: perturb every number, or one, and see what they say.
    """
    count = iter(range(1 << 62))
    return _FLOAT.sub(lambda m: repr(float(change(next(count), float(m.group()))) + 0.0), text)


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


def compare_numbers(
    actual, expected, *, rtol: float = GOLDEN_RTOL, atol: float = GOLDEN_ATOL, label: str = ""
) -> str | None:
    """None when two number sequences agree (same length, each within tolerance), else why.

    The diagnosis names the length mismatch or the index and values of the largest
    difference (relative to the tolerance) and how many entries are out of tolerance.
    """
    a, b = [float(v) for v in actual], [float(v) for v in expected]
    where = f"{label}: " if label else ""
    if len(a) != len(b):
        return f"{where}{len(a)} numbers, expected {len(b)}"
    bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if not _close(x, y, rtol, atol)]
    if not bad:
        return None

    def excess(i: int) -> float:
        diff = abs(a[i] - b[i])
        return diff / (atol + rtol * abs(b[i])) if math.isfinite(diff) else math.inf

    worst = max(bad, key=excess)
    return (
        f"{where}{len(bad)} of {len(b)} numbers differ beyond |a - b| <= {atol:g} + {rtol:g}*|b|;"
        f" largest at #{worst}: {a[worst]!r} vs expected {b[worst]!r}"
        f" (difference {abs(a[worst] - b[worst]):.3e})"
    )


def compare_text(
    actual: str, expected: str, *, rtol: float = GOLDEN_RTOL, atol: float = GOLDEN_ATOL
) -> str | None:
    """None when the texts agree: structure exactly, float literals within tolerance.

    Otherwise a diagnosis: the first differing line of structure (both versions, with
    the numbers shown), or the line and values of the largest numeric difference.
    """
    got, want = NumericText.parse(actual), NumericText.parse(expected)
    got_lines, want_lines = actual.splitlines(), expected.splitlines()
    for i, (g, w) in enumerate(zip(got.lines, want.lines, strict=False)):
        if g != w:
            return (
                f"structure differs at line {i + 1}:\n  actual:   {got_lines[i]}"
                f"\n  expected: {want_lines[i]}"
            )
    if len(got.lines) != len(want.lines):
        n = min(len(got.lines), len(want.lines))
        extra = (got_lines if len(got_lines) > n else want_lines)[n]
        side = "actual" if len(got_lines) > n else "expected"
        return (
            f"{len(got.lines)} lines, expected {len(want.lines)}; first extra line"
            f" ({side}, line {n + 1}): {extra}"
        )
    why = compare_numbers(
        [v for _, v in got.numbers], [v for _, v in want.numbers], rtol=rtol, atol=atol
    )
    if why is None:
        return None
    worst = max(
        range(len(want.numbers)),
        key=lambda k: (
            abs(got.numbers[k][1] - want.numbers[k][1]) / (atol + rtol * abs(want.numbers[k][1]))
        ),
    )
    line = want.numbers[worst][0]
    return (
        f"{why}\n  at line {line + 1}:\n  actual:   {got_lines[line]}"
        f"\n  expected: {want_lines[line]}"
    )


def assert_text_close(
    actual: str,
    expected: str,
    *,
    rtol: float = GOLDEN_RTOL,
    atol: float = GOLDEN_ATOL,
    label: str = "",
) -> None:
    """``compare_text``, raising ``AssertionError`` with the diagnosis (and ``label``)."""
    why = compare_text(actual, expected, rtol=rtol, atol=atol)
    if why is not None:
        raise AssertionError(f"{label} differs: {why}" if label else why)


def assert_numbers_close(
    actual, expected, *, rtol: float = GOLDEN_RTOL, atol: float = GOLDEN_ATOL, label: str = ""
) -> None:
    """``compare_numbers``, raising ``AssertionError`` with the diagnosis."""
    why = compare_numbers(actual, expected, rtol=rtol, atol=atol, label=label)
    if why is not None:
        raise AssertionError(why)
