"""The gate table: every gate's arity, angle count, algebraic properties, matrix and QASM name.

Matrices follow Qiskit's little-endian convention: for an op on ``qubits = (a, b, ...)``
bit ``i`` of the matrix row/column index is the state of ``qubits[i]``; so ``qubits[0]``
is the least significant bit. Controlled gates list the control first:
``cx`` on ``(c, t)`` flips ``t`` when ``c`` is 1.

Passes and back ends ask this table (``GATES[g].diagonal``, ``.self_inverse`` …) instead
of testing gate names inline.
"""

from __future__ import annotations

import cmath
import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["GATES", "Gate", "GateInfo", "controlled", "gate_by_name"]


class Gate(enum.Enum):
    """Every operation the IR knows. The value is the qadl (and stdgates.inc) spelling."""

    H = "h"
    X = "x"
    Y = "y"
    Z = "z"
    S = "s"
    SDG = "sdg"
    T = "t"
    TDG = "tdg"
    SX = "sx"
    SXDG = "sxdg"
    RX = "rx"
    RY = "ry"
    RZ = "rz"
    P = "p"
    U = "u"
    CX = "cx"
    CY = "cy"
    CZ = "cz"
    CH = "ch"
    SWAP = "swap"
    CP = "cp"
    CRX = "crx"
    CRY = "cry"
    CRZ = "crz"
    RXX = "rxx"
    RYY = "ryy"
    RZZ = "rzz"
    CCX = "ccx"
    AMPLITUDE = "amplitude"

    # members are singletons compared by identity, so identity hashing is consistent with
    # equality; it is the C slot, where Enum's own hash is a Python call (hash(self._name_))
    # made for every gate looked up in a dict or set by the passes
    __hash__ = object.__hash__


_I2 = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.array([[1, 0], [0, -1]], dtype=complex)
_H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
_SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=complex) / 2


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a / 2), math.sin(a / 2)
    return np.array([[c, -1j * s], [-1j * s, c]], dtype=complex)


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a / 2), math.sin(a / 2)
    return np.array([[c, -s], [s, c]], dtype=complex)


def _rz(a: float) -> np.ndarray:
    return np.array([[cmath.exp(-0.5j * a), 0], [0, cmath.exp(0.5j * a)]], dtype=complex)


def _p(a: float) -> np.ndarray:
    return np.array([[1, 0], [0, cmath.exp(1j * a)]], dtype=complex)


def _u(t: float, p: float, lam: float) -> np.ndarray:
    """Qiskit's U(θ, φ, λ) (OpenQASM 3 ``U``), global phase included."""
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array(
        [[c, -cmath.exp(1j * lam) * s], [cmath.exp(1j * p) * s, cmath.exp(1j * (p + lam)) * c]],
        dtype=complex,
    )


def controlled(base: np.ndarray, num_controls: int = 1) -> np.ndarray:
    """Matrix of ``base`` controlled on the low ``num_controls`` qubits (controls listed first)."""
    k = base.shape[0]
    dim = k << num_controls
    mat = np.eye(dim, dtype=complex)
    on = (1 << num_controls) - 1
    idx = [(t << num_controls) | on for t in range(k)]
    mat[np.ix_(idx, idx)] = base
    return mat


def _pauli_rotation(pauli: np.ndarray) -> Callable[[float], np.ndarray]:
    """exp(-i a/2 P⊗P) for a two-qubit product of the same Pauli."""
    pp = np.kron(pauli, pauli)

    def matrix(a: float) -> np.ndarray:
        return math.cos(a / 2) * np.eye(4, dtype=complex) - 1j * math.sin(a / 2) * pp

    return matrix


_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)


@dataclass(frozen=True)
class GateInfo:
    """What the compiler knows about one gate."""

    gate: Gate
    num_qubits: int
    """Number of qubit operands (0 means variadic: ``amplitude``)."""
    num_angles: int
    """Number of angle operands (-1 means ``2**num_qubits`` amplitudes: ``amplitude``)."""
    matrix_fn: Callable[..., np.ndarray] | None
    """Angles -> unitary in the little-endian convention; None for non-unitary ops."""
    diagonal: bool = False
    """The matrix is diagonal in the computational basis for every angle."""
    self_inverse: bool = False
    """G·G = I (constant gates only)."""
    symmetric: bool = False
    """Swapping the qubit operands leaves the operator unchanged (cz, swap, rzz …)."""
    inverse_of: Gate | None = None
    """For constant gates: the gate that undoes this one (s ↔ sdg), if not itself."""
    rotation_axis: str | None = None
    """Gates of one axis compose by adding angles: R(a)·R(b) = R(a+b) (exactly, no phase)."""
    qasm_name: str | None = None
    """Spelling in OpenQASM 3 (``stdgates.inc``, or a preamble gate for rxx/ryy/rzz)."""

    @property
    def name(self) -> str:
        """The qadl spelling."""
        return self.gate.value

    @property
    def is_parametric(self) -> bool:
        """True when the gate takes angles."""
        return self.num_angles != 0

    def matrix(self, angles: Sequence[float] = ()) -> np.ndarray:
        """The unitary for numeric angles (little-endian over the op's qubits)."""
        if self.matrix_fn is None:
            raise ValueError(f"{self.name} has no fixed matrix")
        return self.matrix_fn(*angles)


def _const(m: np.ndarray) -> Callable[[], np.ndarray]:
    return lambda: m.copy()


def _table() -> dict[Gate, GateInfo]:
    g = Gate
    entries = [
        GateInfo(g.H, 1, 0, _const(_H), self_inverse=True),
        GateInfo(g.X, 1, 0, _const(_X), self_inverse=True),
        GateInfo(g.Y, 1, 0, _const(_Y), self_inverse=True),
        GateInfo(g.Z, 1, 0, _const(_Z), diagonal=True, self_inverse=True),
        GateInfo(g.S, 1, 0, _const(_p(math.pi / 2)), diagonal=True, inverse_of=g.SDG),
        GateInfo(g.SDG, 1, 0, _const(_p(-math.pi / 2)), diagonal=True, inverse_of=g.S),
        GateInfo(g.T, 1, 0, _const(_p(math.pi / 4)), diagonal=True, inverse_of=g.TDG),
        GateInfo(g.TDG, 1, 0, _const(_p(-math.pi / 4)), diagonal=True, inverse_of=g.T),
        GateInfo(g.SX, 1, 0, _const(_SX), inverse_of=g.SXDG),
        GateInfo(g.SXDG, 1, 0, _const(_SX.conj().T), inverse_of=g.SX),
        GateInfo(g.RX, 1, 1, _rx, rotation_axis="x"),
        GateInfo(g.RY, 1, 1, _ry, rotation_axis="y"),
        GateInfo(g.RZ, 1, 1, _rz, diagonal=True, rotation_axis="z"),
        GateInfo(g.P, 1, 1, _p, diagonal=True, rotation_axis="p"),
        GateInfo(g.U, 1, 3, _u),
        GateInfo(g.CX, 2, 0, _const(controlled(_X)), self_inverse=True),
        GateInfo(g.CY, 2, 0, _const(controlled(_Y)), self_inverse=True),
        GateInfo(
            g.CZ, 2, 0, _const(controlled(_Z)), diagonal=True, self_inverse=True, symmetric=True
        ),
        GateInfo(g.CH, 2, 0, _const(controlled(_H)), self_inverse=True),
        GateInfo(g.SWAP, 2, 0, _const(_SWAP), self_inverse=True, symmetric=True),
        GateInfo(
            g.CP,
            2,
            1,
            lambda a: controlled(_p(a)),
            diagonal=True,
            symmetric=True,
            rotation_axis="cp",
        ),
        GateInfo(g.CRX, 2, 1, lambda a: controlled(_rx(a)), rotation_axis="crx"),
        GateInfo(g.CRY, 2, 1, lambda a: controlled(_ry(a)), rotation_axis="cry"),
        GateInfo(g.CRZ, 2, 1, lambda a: controlled(_rz(a)), diagonal=True, rotation_axis="crz"),
        GateInfo(g.RXX, 2, 1, _pauli_rotation(_X), symmetric=True, rotation_axis="xx"),
        GateInfo(g.RYY, 2, 1, _pauli_rotation(_Y), symmetric=True, rotation_axis="yy"),
        GateInfo(
            g.RZZ, 2, 1, _pauli_rotation(_Z), diagonal=True, symmetric=True, rotation_axis="zz"
        ),
        GateInfo(g.CCX, 3, 0, _const(controlled(_X, 2)), self_inverse=True),
        GateInfo(g.AMPLITUDE, 0, -1, None),
    ]
    return {e.gate: _with_qasm_name(e) for e in entries}


def _with_qasm_name(info: GateInfo) -> GateInfo:
    if info.gate is Gate.AMPLITUDE:
        return info
    return GateInfo(**{**info.__dict__, "qasm_name": info.gate.value})


GATES: dict[Gate, GateInfo] = _table()
"""Gate -> GateInfo for every gate of the IR."""

_BY_NAME = {gate.value: gate for gate in Gate}


def gate_by_name(name: str) -> Gate | None:
    """The gate spelled ``name`` in qadl source, or None."""
    return _BY_NAME.get(name)
