"""Lower ``amplitude`` ops to RY/CNOT cascades (Möttönen et al. 2004) for bound real amplitudes.

A ``k``-qubit amplitude op prepares ``a / ||a||`` from ``|0…0⟩``. For real ``a`` this is a
binary tree of uniformly controlled RY rotations: the most significant qubit is rotated
first, then each less significant qubit under the control of all more significant ones.
Each uniformly controlled RY on ``m`` controls becomes ``2**m`` RYs and ``2**m`` CNOTs in
Gray-code order, so the whole preparation costs ``2**k - 1`` RYs and ``2**k - 2`` CNOTs.

The angles depend non-polynomially on the amplitudes (``atan2`` of subvector norms), so
they cannot be kept as symbolic ``Expr`` polynomials: the lowering needs the features
(and perturbations) the amplitudes refer to bound to numbers.

Reference: M. Möttönen, J. J. Vartiainen, V. Bergholm, M. M. Salomaa, "Transformation of
quantum states using uniformly controlled rotations", Quantum Inf. Comput. 5, 467 (2005),
arXiv:quant-ph/0407010.
"""

from __future__ import annotations

import math

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate

__all__ = [
    "MAX_QUBITS",
    "amplitude_ops",
    "amplitude_values",
    "as_sample",
    "expand_amplitude",
    "gray_code",
    "tree_angles",
    "unbound_symbols",
    "uniformly_controlled_ry",
    "walsh_hadamard",
]


MAX_QUBITS = 16
"""Largest amplitude encoding compiled to gates: 2**17 - 3 RYs and CNOTs."""


def gray_code(i: int) -> int:
    """The ``i``-th reflected binary Gray code word."""
    return i ^ (i >> 1)


def amplitude_values(op: Op, x: np.ndarray | None, delta: np.ndarray | None) -> np.ndarray:
    """Evaluate the amplitudes of an ``amplitude`` op to a unit-norm real vector.

    Args:
        op: an op with ``op.gate is Gate.AMPLITUDE``.
        x: values of the input features (may be None when no amplitude uses them).
        delta: values of the perturbation symbols (may be None when none is used).

    Returns:
        The ``2**len(op.qubits)`` amplitudes divided by their Euclidean norm.

    Raises:
        ValueError: when an amplitude refers to an unbound symbol (features, perturbations,
            or a trainable parameter), or when every amplitude is zero.
    """
    if op.gate is not Gate.AMPLITUDE:
        raise ValueError(f"not an amplitude op: {op}")
    x, delta = as_sample(x), as_sample(delta)
    missing = unbound_symbols(op, x, delta)
    if missing:
        raise ValueError(
            "amplitude encoding needs bound features: its rotation angles are computed "
            f"numerically from the amplitude values, but {', '.join(missing)} "
            f"{'has' if len(missing) == 1 else 'have'} no value "
            "(pass x=/delta= values, or `--bind` a feature vector)"
        )
    amp = np.array([a.evaluate(None, x, delta) for a in op.angles], dtype=float)
    norm = float(np.linalg.norm(amp))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError(f"amplitude encoding of a vector with norm {norm} is undefined")
    return amp / norm


def as_sample(values: np.ndarray | None) -> np.ndarray | None:
    """A 1-D value vector from a vector or a one-row batch (None stays None).

    Raises:
        ValueError: for a batch of more than one row.
    """
    if values is None:
        return None
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 2 and arr.shape[0] == 1:
        return arr[0]
    if arr.ndim != 1:
        raise ValueError(f"amplitude encoding binds one sample at a time, got shape {arr.shape}")
    return arr


def unbound_symbols(op: Op, x: np.ndarray | None, delta: np.ndarray | None) -> list[str]:
    """Names of the amplitudes' symbols that have no value (θ never has one here).

    At most four names: three and a count of the rest when there are more.
    """
    given = {E.THETA: False, E.X: x is not None, E.DELTA: delta is not None}
    unbound = {s for a in op.angles for s in a.symbols() if not given[s.kind]}
    names = [str(s) for s in sorted(unbound, key=E.Sym.sort_key)]
    # 256 pixel features would make an unreadable message: name a few, count the rest.
    return names if len(names) <= 4 else [*names[:3], f"… ({len(names) - 3} more)"]


def tree_angles(amp: np.ndarray) -> list[np.ndarray]:
    """RY angles of each level of the state-preparation tree for a real vector.

    Level ``m`` (``m = 0 … k-1``) rotates qubit ``k-1-m`` under the control of the ``m``
    more significant qubits; entry ``j`` of its angle array applies when those qubits hold
    the value ``j``. Inner levels split subvector norms (angles in ``[0, π]``); the last
    level splits signed amplitude pairs, which carries the signs exactly. A zero-norm
    subvector gets angle 0 (any angle would do: its branch has zero weight).

    Args:
        amp: a real vector of length ``2**k`` (``k >= 1``).

    Returns:
        ``k`` arrays, level ``m`` of length ``2**m``.
    """
    k = int(amp.size).bit_length() - 1
    levels = []
    for m in range(k):
        blocks = amp.reshape(1 << m, 2, -1)  # [control value, target bit, rest]
        if m == k - 1:
            low, high = blocks[:, 0, 0], blocks[:, 1, 0]
        else:
            low = np.linalg.norm(blocks[:, 0, :], axis=1)
            high = np.linalg.norm(blocks[:, 1, :], axis=1)
        levels.append(2.0 * np.arctan2(high, low))
    return levels


def uniformly_controlled_ry(
    alphas: np.ndarray, controls: tuple[int, ...], target: int
) -> list[tuple[Gate, tuple[int, ...], float | None]]:
    """Decompose a uniformly controlled RY into RYs and CNOTs in Gray-code order.

    ``controls[b]`` is bit ``b`` of the control value indexing ``alphas``. The sequence
    ``RY(θ_0) CX RY(θ_1) CX … RY(θ_{2^m-1}) CX`` applies ``RY(Σ_i (-1)^{g_i·j} θ_i)`` for
    control value ``j`` (``g_i`` the Gray code of ``i``: the controls whose CNOTs have
    flipped the target an odd number of times before ``RY(θ_i)``), so
    ``θ = Mᵀ α / 2^m`` with the ±1 matrix ``M_ji = (-1)^{popcount(g_i & j)}``.

    Args:
        alphas: ``2**len(controls)`` rotation angles.
        controls: control qubits, least significant first.
        target: the rotated qubit.

    Returns:
        ``(gate, qubits, angle-or-None)`` triples in circuit order.
    """
    m = len(controls)
    if m == 0:
        return [(Gate.RY, (target,), float(alphas[0]))]
    size = 1 << m
    grays = [gray_code(i) for i in range(size)]
    # (Mᵀα)_i = Σ_j (-1)^{popcount(g_i & j)} α_j is the Walsh–Hadamard transform of α at
    # index g_i: O(m 2^m) instead of a dense 4^m sign matrix.
    thetas = walsh_hadamard(np.asarray(alphas, dtype=float))[grays] / size
    out: list[tuple[Gate, tuple[int, ...], float | None]] = []
    for i in range(size):
        # The control whose bit flips between Gray words i and i+1 (cyclically).
        bit = (grays[i] ^ grays[(i + 1) % size]).bit_length() - 1
        out.append((Gate.RY, (target,), float(thetas[i])))
        out.append((Gate.CX, (controls[bit], target), None))
    return out


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """The unnormalised Walsh–Hadamard transform ``h_k = Σ_j (-1)^{popcount(k & j)} v_j``
    of a vector whose length is a power of two, by butterflies."""
    h = np.array(values, dtype=float)
    n, step = h.size, 1
    while step < n:
        pairs = h.reshape(-1, 2, step)  # [block, bit `step` of the index, rest]
        h = np.stack((pairs[:, 0] + pairs[:, 1], pairs[:, 0] - pairs[:, 1]), axis=1).ravel()
        step *= 2
    return h


def amplitude_ops(
    op: Op, x: np.ndarray | None = None, delta: np.ndarray | None = None
) -> tuple[Op, ...]:
    """Lower one ``amplitude`` op to RY and CX ops with numeric angles.

    The result maps ``|0…0⟩`` on ``op.qubits`` to exactly ``a / ||a||`` (no global
    phase) and uses ``2**k - 1`` RYs and ``2**k - 2`` CNOTs for ``k`` qubits. New ops
    keep the original op's tags and span.

    Args:
        op: an op with ``op.gate is Gate.AMPLITUDE``.
        x: input feature values the amplitudes refer to.
        delta: perturbation values the amplitudes refer to.

    Returns:
        The replacement ops, in circuit order.

    Raises:
        ValueError: when amplitudes refer to unbound symbols or are all zero, or when the
            encoding is on more than ``MAX_QUBITS`` qubits.
    """
    k = len(op.qubits)
    if k > MAX_QUBITS:  # before 2**k angles are computed
        raise ValueError(
            f"the state preparation of {k} qubits would take {(1 << (k + 1)) - 3:,} gates; "
            f"compiling amplitude encoding is limited to {MAX_QUBITS} qubits"
        )
    amp = amplitude_values(op, x, delta)
    ops: list[Op] = []
    for m, alphas in enumerate(tree_angles(amp)):
        target = op.qubits[k - 1 - m]
        controls = op.qubits[k - m :]
        for gate, qubits, angle in uniformly_controlled_ry(alphas, controls, target):
            angles = () if angle is None else (E.const(_tidy(angle)),)
            ops.append(Op(gate, qubits, angles, op.tags, span=op.span))
    return tuple(ops)


def _tidy(angle: float) -> float:
    # -0.0 and 1e-17 noise would make golden files depend on the platform's rounding.
    return 0.0 if abs(angle) < 1e-15 * math.pi else angle


def expand_amplitude(
    circuit: Circuit, x: np.ndarray | None = None, delta: np.ndarray | None = None
) -> Circuit:
    """Replace every ``amplitude`` op of ``circuit`` by its RY/CNOT cascade.

    Precondition: the amplitudes' features and perturbations are given in ``x``/``delta``.
    Keeps: the prepared state exactly (the other ops are untouched, symbols included).
    Cost: ``O(2**k · k)`` time and ``2**(k+1)`` new ops per amplitude op on ``k`` qubits
    (``k`` at most ``MAX_QUBITS``).

    Args:
        circuit: any circuit.
        x: feature values (one sample).
        delta: perturbation values (one sample).

    Returns:
        A circuit without amplitude ops (the same object when there were none).

    Raises:
        ValueError: when an amplitude op cannot be evaluated (see ``amplitude_values``).
    """
    if not any(op.gate is Gate.AMPLITUDE for op in circuit.ops):
        return circuit
    ops: list[Op] = []
    for op in circuit.ops:
        ops.extend(amplitude_ops(op, x, delta) if op.gate is Gate.AMPLITUDE else (op,))
    return circuit.with_ops(ops)
