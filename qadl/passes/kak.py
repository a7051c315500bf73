"""Two-qubit unitaries as matrices: their minimal CX count and their KAK synthesis.

``min_cx_count`` reads the CX count from the Shende–Bullock–Markov invariants;
``two_qubit_synthesis`` writes a unitary as single-qubit layers around that many CX (the
Cartan decomposition in the magic basis, closed form), and ``state_preparation`` a
two-qubit state with at most one CX. ``qadl.passes.kak_batch`` does the same for many
unitaries at once; ``qadl.passes.two_qubit_ops`` turns the results into ops;
``resynth-2q`` uses all three on the constant blocks of a circuit.
"""

from __future__ import annotations

import cmath
import functools
import importlib
import math
from dataclasses import dataclass

import numpy as np

from qadl.ir.circuit import Op
from qadl.ir.gates import GATES, Gate
from qadl.passes.rules import phase_distance

__all__ = [
    "SYNTH_TOL",
    "TwoQubitSynthesis",
    "block_unitary",
    "clear_cache",
    "det",
    "kak_coordinates",
    "min_cx_count",
    "state_preparation",
    "two_qubit_synthesis",
]


def _lapack_gufuncs():
    """NumPy's LAPACK gufuncs (``numpy.linalg._umath_linalg``), or None where this NumPy
    lays them out otherwise: callers then use the public functions, which call the same
    gufuncs after checks in Python that cost more than a 4×4 factorisation."""
    try:
        module = importlib.import_module("numpy.linalg._umath_linalg")
    except ImportError:  # pragma: no cover - depends on the NumPy build
        return None
    return module if hasattr(module, "det") and hasattr(module, "eigh_lo") else None


_GUFUNCS = _lapack_gufuncs()


def _det_complex(m: np.ndarray) -> np.ndarray:
    """``np.linalg.det`` of complex128 matrices (any stack), the same LAPACK call."""
    return np.linalg.det(m) if _GUFUNCS is None else _GUFUNCS.det(m, signature="D->D")


def _det_real(m: np.ndarray) -> np.ndarray:
    """``np.linalg.det`` of float64 matrices (any stack), the same LAPACK call."""
    return np.linalg.det(m) if _GUFUNCS is None else _GUFUNCS.det(m, signature="d->d")


def _eigh_lower_vectors(m: np.ndarray) -> np.ndarray:
    """``np.linalg.eigh(m)[1]`` of real symmetric matrices (lower half), the same call."""
    if _GUFUNCS is None:
        return np.linalg.eigh(m)[1]
    return _GUFUNCS.eigh_lo(m, signature="d->dd")[1]


_Y = np.array([[0, -1j], [1j, 0]])
_YY = np.kron(_Y, _Y)
_SWAP = GATES[Gate.SWAP].matrix()
_CX = GATES[Gate.CX].matrix()  # control = local qubit 0 (the low bit)
_CX_REVERSED = _SWAP @ _CX @ _SWAP  # control = local qubit 1
_I2 = np.eye(2, dtype=complex)
_EYE4 = np.eye(4)
_MINUS_EYE4 = -np.eye(4)

# The magic basis (Kraus & Cirac, PRA 63, 062309 (2001)): in it SU(2)⊗SU(2) is SO(4) and
# XX, YY, ZZ are diagonal with the sign patterns below, so exp(i(aXX + bYY + cZZ)) is
# diag(exp(i(a·x + b·y + c·z))).
_MAGIC = np.array([[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]]) / math.sqrt(2)
_MAGIC_DAG = _MAGIC.conj().T
_PATTERNS = np.array([[1, 1, -1, -1], [-1, 1, -1, 1], [1, -1, -1, 1]], dtype=float)

# Fixed coefficients c for diagonalising Re(M) + c·Im(M): a generic c separates distinct
# eigenvalues of M; the next one is tried only when the first meets an accidental tie.
_MIX = (0.5772156649015329, 1.4142135623730951, -2.718281828459045, 0.3183098861837907)
SYNTH_TOL = 1e-11
"""Frobenius error (up to global phase) a synthesis may have. The closed form is exact to
rounding, which stays below ~3e-12 even for ill-conditioned blocks; a synthesis that
misses this keeps the block as it is."""


def _kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.kron(a, b)`` of two 2×2 matrices: the same elementwise products, bit for bit.

    ``np.kron`` multiplies ``a[:, None, :, None]`` by ``b[None, :, None, :]`` and reshapes;
    this is that one product without its set-up for arbitrary shapes (about 4× faster, and
    the KAK path of ``resynth-2q`` builds thousands of these).
    """
    return (a[:, None, :, None] * b[None, :, None, :]).reshape(4, 4)


def det(m: np.ndarray) -> complex:
    """``np.linalg.det(m)`` of one matrix, bit for bit (``_det``), for other passes."""
    return _det(m)


def _det(m: np.ndarray) -> complex:
    """``np.linalg.det(m)``: for complex128, its LAPACK ufunc called directly, bit for bit.

    ``np.linalg.det`` checks and classifies its argument in Python before calling that
    ufunc; on 4×4 blocks those checks cost more than the factorisation itself.
    """
    return _det_complex(m) if m.dtype == np.complex128 else np.linalg.det(m)


@functools.lru_cache(maxsize=4096)
def _embedded(op: Op, low_first: bool) -> np.ndarray:
    """``op``'s 4×4 matrix on a pair whose low bit is ``op.qubits[0]`` iff ``low_first``.

    Cached (read-only): a block's ops recur in the blocks of later rounds and passes, and
    after routing the same gate and angles recur on other qubits (``_embedded_gate``).
    """
    angles = tuple([a.constant_value for a in op.angles])
    if 0.0 in angles:  # -0.0 == 0.0 (one key) but may give other bits: not looked up by value
        return _embedded_gate.__wrapped__(op.gate, angles, len(op.qubits), low_first)
    return _embedded_gate(op.gate, angles, len(op.qubits), low_first)


@functools.lru_cache(maxsize=4096)
def _embedded_gate(
    gate: Gate, angles: tuple[float, ...], width: int, low_first: bool
) -> np.ndarray:
    """``_embedded`` of an op of ``gate`` with ``angles`` on ``width`` qubits of the pair."""
    m = GATES[gate].matrix(angles)
    if width == 1:
        m = _kron(_I2, m) if low_first else _kron(m, _I2)
    elif not low_first:
        m = _SWAP @ m @ _SWAP
    m.flags.writeable = False
    return m


def clear_cache() -> None:
    """Forget the cached op matrices of ``block_unitary``."""
    _embedded.cache_clear()
    _embedded_gate.cache_clear()


def block_unitary(ops: list[Op], pair: tuple[int, int]) -> np.ndarray:
    """The 4×4 unitary of constant ops on ``pair`` (little-endian: ``pair[0]`` is the low bit)."""
    u = np.eye(4, dtype=complex)
    low = pair[0]
    for op in ops:
        u = _embedded(op, op.qubits[0] == low) @ u
    return u


def min_cx_count(u: np.ndarray, atol: float = 1e-12) -> int:
    """Fewest CX any circuit for ``u`` needs (Shende, Bullock & Markov, PRA 69, 062321 (2004)).

    With ``γ = V·(Y⊗Y)·Vᵀ·(Y⊗Y)`` for ``V = u/det(u)^{1/4}``: 0 CX iff ``γ = ±I``; 1 iff
    ``tr γ = 0`` and ``γ² = -I``; 2 iff ``tr γ`` is real; otherwise 3. The fourth-root
    ambiguity multiplies γ by ±1, which none of the tests see. Every test is linear in
    the distance from the class (``γ = ±I`` is tested entrywise, not by ``|tr γ| = 4``,
    which moves only quadratically), with tolerance ``10·atol``.
    """
    v = u / _det(u) ** 0.25
    gamma = v @ _YY @ v.T @ _YY
    off = min(abs(gamma - _EYE4).max(), abs(gamma + _EYE4).max())
    return _count(gamma, gamma.trace(), off, atol)


def _count(
    gamma: np.ndarray, trace: complex, off: float, atol: float, square: bool | None = None
) -> int:
    """The CX count from ``γ``, its trace and its distance ``off`` from ``±I``.

    ``square``: ``_minus_identity`` of ``γ²``, when already computed.
    """
    if off <= atol * 10:
        return 0  # γ = ±I (SWAP has γ = ±iI: |tr γ| = 4 but 3 CX)
    if abs(trace) <= atol * 10:
        if square is None:
            square = _minus_identity((gamma @ gamma)[None], atol)[0]
        if square is None:
            square = bool(np.allclose(gamma @ gamma, _MINUS_EYE4, atol=atol * 10))
        if square:
            return 1
    if abs(trace.imag) <= atol * 10:
        return 2
    return 3


def _minus_identity(squares: np.ndarray, atol: float) -> list[bool | None]:
    """``np.allclose(s, -I, atol=10·atol)`` for a stack of ``s = γ²``, None where unsure.

    ``np.allclose`` tests ``|s + I| ≤ 10·atol + 1e-5·|I|`` entrywise; it is decided here
    where every entry is clear of its bound by a factor 2 (far beyond any difference in
    rounding), and left to ``np.allclose`` (None) elsewhere.
    """
    excess = abs(squares - _MINUS_EYE4) / (atol * 10 + 1e-5 * abs(_MINUS_EYE4))
    inside = (excess <= 0.5).all(axis=(1, 2)).tolist()
    outside = (excess > 2.0).any(axis=(1, 2)).tolist()
    return [True if i else False if o else None for i, o in zip(inside, outside, strict=True)]


# -- the Cartan (KAK) decomposition ------------------------------------------------------------
def _special(u: np.ndarray) -> np.ndarray:
    """``u`` scaled into SU(4) (principal fourth root of the determinant)."""
    return u / _det(u) ** 0.25


def _magic_square(u: np.ndarray) -> np.ndarray:
    """``M = Uᴹᵀ·Uᴹ`` for ``Uᴹ = B†·u·B``: symmetric, unitary, and a local invariant's carrier."""
    um = _MAGIC_DAG @ u @ _MAGIC
    return um.T @ um


def _real_eigh(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(d, P)`` with ``m = P·diag(d)·Pᵀ``, ``P`` real orthogonal with ``det P = +1``.

    ``m`` is symmetric and unitary, so its real and imaginary parts are commuting real
    symmetric matrices; one eigenbasis of ``Re m + c·Im m`` diagonalises both. Degenerate
    eigenvalues of ``m`` need no care (any real basis of the eigenspace works); an
    accidental tie of the combination is caught by the off-diagonal check and the next
    fixed ``c`` is used, so the result depends on nothing but ``m``.
    """
    for c in _MIX:
        p = _eigh_lower_vectors(m.real + c * m.imag)
        diag = p.T @ m @ p
        d = diag.diagonal().copy()
        if abs(diag - np.diag(d)).max() <= 1e-10:
            if _det_real(p) < 0:
                p[:, 0] = -p[:, 0]
            return d, p
    raise ArithmeticError("no real eigenbasis found for the magic-basis square")  # pragma: no cover


def kak_coordinates(u: np.ndarray) -> tuple[float, float, float]:
    """Coordinates ``(a, b, c)`` with ``u ∝ K₁·exp(i(a·XX + b·YY + c·ZZ))·K₂``, ``K`` local.

    The coordinates are not reduced to the Weyl chamber: they are defined up to
    permutations, paired sign flips and shifts by π/2, which is all the templates need.
    """
    d, _ = _real_eigh(_magic_square(_special(u)))
    return _coordinates(d)


def _coordinates(d: np.ndarray) -> tuple[float, float, float]:
    """``kak_coordinates`` from the spectrum ``d`` of the magic-basis square."""
    theta = np.angle(d) / 2.0
    # det M = 1 makes Σθ a multiple of π; an odd multiple would leave a phase ±i on the
    # spectrum that no exp(i(a·XX + b·YY + c·ZZ)) has, so move one θ to its other branch.
    if round(float(np.sum(theta)) / math.pi) % 2:
        theta[0] += math.pi
    a, b, c = _PATTERNS @ theta / 4.0
    return float(a), float(b), float(c)


def _local_factors(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` 2×2 factors with ``k ∝ high ⊗ low`` for a local 4×4 unitary ``k``.

    The largest 2×2 block of ``k`` is a multiple of ``low``; the other factor's entries are
    the overlaps of every block with it. No SVD, so nothing depends on LAPACK's choices.
    """
    blocks = k.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3)  # blocks[i, j] = high[i, j] * low
    # np.linalg.norm(blocks, axis=(2, 3)) computes exactly this, after its argument checks
    norms = np.sqrt(np.add.reduce((blocks.conj() * blocks).real, axis=(2, 3)))
    i, j = divmod(int(norms.argmax()), 2)
    low = blocks[i, j] / cmath.sqrt(_det(blocks[i, j]))
    high = np.einsum("ab,ijab->ij", low.conj(), blocks) / 2.0
    return low, high


@dataclass(frozen=True, eq=False)
class TwoQubitSynthesis:
    """A two-qubit circuit: single-qubit layers around CX gates (local qubits 0 and 1).

    ``layers[j] = (low, high)`` acts before ``cx[j]`` (and ``layers[-1]`` after the last
    one); ``cx[j]`` is ``(control, target)`` in local qubits.
    """

    layers: tuple[tuple[np.ndarray, np.ndarray], ...]
    """2×2 unitaries (on local qubit 0, on local qubit 1), one pair per layer."""
    cx: tuple[tuple[int, int], ...]
    """CX gates as (control, target) in local qubits; ``len(layers) == len(cx) + 1``."""

    def matrix(self) -> np.ndarray:
        """The 4×4 unitary (local qubit 0 is the low bit)."""
        low, high = self.layers[0]
        u = _kron(high, low)
        for (control, _), (low, high) in zip(self.cx, self.layers[1:], strict=True):
            u = _kron(high, low) @ (_CX if control == 0 else _CX_REVERSED) @ u
        return u


def _rx(a: float) -> np.ndarray:
    return GATES[Gate.RX].matrix([a])


def _ry(a: float) -> np.ndarray:
    return GATES[Gate.RY].matrix([a])


def _rz(a: float) -> np.ndarray:
    return GATES[Gate.RZ].matrix([a])


def _template(k: int, coords: tuple[float, float, float]) -> TwoQubitSynthesis:
    """A ``k``-CX circuit locally equivalent to ``exp(i(a·XX + b·YY + c·ZZ))`` for ``k`` ≥ 1.

    ``k = 1``: a lone CX (every 1-CX class is CX's). ``k = 2``: ``CX·(RX ⊗ RZ)·CX`` equals
    ``exp(i(a·XX + c·ZZ))``; the coordinate that is a multiple of π/2 (a local Pauli) is
    dropped and the other two are used. ``k = 3``: the circuit of Vatan & Williams, PRA 69,
    032315 (2004), Fig. 6, with its angles written for this module's conventions
    (``2a - π/2``, ``2b - π/2``, ``2c - π/2``; checked against the spectra of ``M``).
    """
    ident = (_I2, _I2)
    if k == 1:
        return TwoQubitSynthesis((ident, ident), ((0, 1),))
    a, b, c = coords
    if k == 2:
        keep = _two_cx_pair(coords)
        middle = (_rx(-2.0 * keep[0]), _rz(-2.0 * keep[1]))
        return TwoQubitSynthesis((ident, middle, ident), ((0, 1), (0, 1)))
    half = math.pi / 2
    return TwoQubitSynthesis(
        (
            (_I2, _rz(half)),
            (_rz(2.0 * a - half), _ry(2.0 * b - half)),
            (_I2, _ry(2.0 * c - half)),
            (_rz(-half), _I2),
        ),
        ((1, 0), (0, 1), (1, 0)),
    )


def _two_cx_pair(coords: tuple[float, float, float]) -> tuple[float, float]:
    """The two coordinates the 2-CX template uses: all but the (first) one nearest a
    multiple of π/2."""
    off = [abs(v - round(v / (math.pi / 2)) * (math.pi / 2)) for v in coords]
    drop = off.index(min(off))
    a, b = (v for i, v in enumerate(coords) if i != drop)
    return a, b


def _matched_eigenbasis(
    d_target: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(t', P)``: ``t`` or ``i·t`` with its magic square's eigenbasis ordered like ``d_target``.

    Eigenvalues are paired greedily in the target's order; None when the spectra differ
    (the template is not locally equivalent to the target).
    """
    for scaled in (t, 1j * t):
        d, p = _real_eigh(_magic_square(scaled))
        order = _pairing(d_target, d)
        if order is not None:
            p = p[:, order]
            if _det_real(p) < 0:
                p[:, 0] = -p[:, 0]
            return scaled, p
    return None


def _pairing(d_target: np.ndarray, d: np.ndarray) -> list[int] | None:
    """Indices putting ``d`` in ``d_target``'s order (greedy nearest), or None if they differ."""
    order = _greedy_order(d_target, d)
    return order if np.max(np.abs(d[order] - d_target)) <= 1e-7 else None


def _greedy_order(d_target: np.ndarray, d: np.ndarray) -> list[int]:
    """For each value of ``d_target`` in turn, the nearest entry of ``d`` not taken yet."""
    order: list[int] = []
    # Python complex numbers: the same subtraction and the same libm hypot in abs() as
    # NumPy's complex128 scalars, without their overhead (NumPy's array abs differs).
    eigenvalues = d.tolist()
    for value in d_target.tolist():
        free = [i for i in range(4) if i not in order]
        order.append(min(free, key=lambda i, v=value: abs(eigenvalues[i] - v)))
    return order


def _locals_between(u: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Local ``(L, R)`` with ``u ∝ L·t·R`` for locally equivalent SU(4) ``u`` and ``t``.

    ``Uᴹ = O₁·D·O₂`` and ``Tᴹ = Q₁·D·Q₂`` with the same diagonal ``D`` (square roots of the
    shared spectrum of ``M``) and real orthogonal ``O``, ``Q``; then
    ``Uᴹ = (O₁Q₁ᵀ)·Tᴹ·(Q₂ᵀO₂)``, and both brackets map back to local gates.
    """
    d, p = _real_eigh(_magic_square(u))
    matched = _matched_eigenbasis(d, t)
    if matched is None:
        return None
    t, q = matched
    inv_half = np.exp(-0.5j * np.angle(d))
    o1 = (_MAGIC_DAG @ u @ _MAGIC) @ p * inv_half
    q1 = (_MAGIC_DAG @ t @ _MAGIC) @ q * inv_half
    left = _MAGIC @ (o1 @ q1.T).real @ _MAGIC_DAG
    right = _MAGIC @ (q @ p.T) @ _MAGIC_DAG
    return left, right


def _error(u: np.ndarray, v: np.ndarray) -> float:
    """Distance of ``u`` and ``v`` after the best global phase (Frobenius norm).

    The Frobenius norm bounds the operator norm from above, so a bound on it is a bound
    on the operator-norm error too, and it needs no SVD.
    """
    return phase_distance(u, v)


def _with_k_cx(u: np.ndarray, k: int) -> TwoQubitSynthesis | None:
    """A ``k``-CX circuit for the SU(4) matrix ``u``, or None when ``u`` needs more."""
    if k == 0:
        low, high = _local_factors(u)
        return TwoQubitSynthesis(((low, high),), ())
    template = _template(k, kak_coordinates(u))
    found = _locals_between(u, _special(template.matrix()))
    if found is None:
        return None
    (l_low, l_high), (r_low, r_high) = map(_local_factors, found)
    layers = list(template.layers)
    layers[0] = (layers[0][0] @ r_low, layers[0][1] @ r_high)
    layers[-1] = (l_low @ layers[-1][0], l_high @ layers[-1][1])
    return TwoQubitSynthesis(tuple(layers), template.cx)


def two_qubit_synthesis(u: np.ndarray, k: int | None = None) -> TwoQubitSynthesis:
    """An analytic circuit for the 4×4 unitary ``u`` with the fewest CX (KAK decomposition).

    Args:
        u: the unitary (local qubit 0 is the low bit).
        k: the CX count to aim for; ``min_cx_count(u)`` by default. If the invariants are
            borderline and ``k`` CX do not reach ``u`` to 1e-11, ``k + 1`` is tried, and so on.

    The same input gives the same angles bit for bit: no random starts, no iteration,
    fixed coefficients in the eigenbasis choice (only LAPACK's own rounding enters).

    Raises:
        ArithmeticError: when no circuit with at most 3 CX reaches ``u`` to 1e-11 (not
            unitary, or rounding beyond the tolerance).
    """
    su = _special(np.asarray(u, dtype=complex))
    for count in range(min_cx_count(su) if k is None else k, 4):
        found = _with_k_cx(su, count)
        if found is not None and _error(found.matrix(), su) <= SYNTH_TOL:
            return found
    raise ArithmeticError("two-qubit synthesis failed; is the matrix unitary?")


def state_preparation(psi: np.ndarray) -> TwoQubitSynthesis:
    """At most one CX preparing the two-qubit state ``psi`` from ``|00⟩`` (up to phase).

    Schmidt form: with ``Ψ[hi, lo] = psi[2·hi + lo] = W·diag(s₀, s₁)·V``,
    ``psi = (W ⊗ Vᵀ)·(s₀|00⟩ + s₁|11⟩)`` and ``s₀|00⟩ + s₁|11⟩ = CX·(RY(2·atan2(s₁, s₀)) ⊗ I)|00⟩``;
    a product state (``s₁ = 0``) needs no CX.
    """
    w, s, v = np.linalg.svd(np.asarray(psi, dtype=complex).reshape(2, 2))
    last = (v.T, w)
    if s[1] <= 1e-12 * s[0]:
        return TwoQubitSynthesis((last,), ())
    first = (_ry(2.0 * math.atan2(s[1], s[0])), _I2)
    return TwoQubitSynthesis((first, last), ((0, 1),))
