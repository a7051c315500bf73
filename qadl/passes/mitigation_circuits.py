"""The circuits a device runs for error mitigation: the folded circuits of zero-noise
extrapolation and the readout calibration circuits.

``qadl compile --zne-scales 1,3,5`` emits one circuit per scale, folded *after* routing
and translation (an optimising pass would cancel the folds); ``--calibration`` emits the
basis-state preparations of the readout's measured qubits, each followed by the same
measurement as the model:

* ``tensored``: two circuits, every measured qubit prepared in ``|0⟩`` and in ``|1⟩``;
  they estimate each qubit's ``p(1|0)`` and ``p(0|1)`` (the per-qubit inversion);
* ``full``: the ``2^m`` basis states of the ``m`` measured qubits (m ≤ 8), which estimate
  the whole confusion matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.passes.fold import fold_global, fold_local
from qadl.passes.translate_basis import translate_op

__all__ = [
    "MAX_FULL_CALIBRATION_QUBITS",
    "Variant",
    "calibration_circuits",
    "folded_circuits",
]

MAX_FULL_CALIBRATION_QUBITS = 8
"""``full`` calibration emits 2^m circuits: at most 256."""


@dataclass(frozen=True)
class Variant:
    """One emitted circuit: a file-name suffix, the circuit and what it is (a header line)."""

    suffix: str
    circuit: Circuit
    note: str
    calibration: bool = False
    """True for a calibration circuit (no parameters or features to bind)."""


def folded_circuits(
    circuit: Circuit, scales: Sequence[int], folding: str = "global"
) -> list[Variant]:
    """``circuit`` folded to each odd ``scale`` (``fold_global`` / ``fold_local``).

    Raises:
        ValueError: For an even or non-positive scale, or a gate with no inverse.
    """
    fold = fold_global if folding == "global" else fold_local
    return [
        Variant(
            f"zne{s}",
            fold(circuit, scale=s),
            f"zero-noise extrapolation: fold-{folding} to scale {s} "
            f"({s}x the gates, the same operator)",
        )
        for s in scales
    ]


def _flip(qubit: int, basis: tuple[str, ...] | None) -> list[Op]:
    op = Op(Gate.X, (qubit,))
    return [op] if basis is None else translate_op(op, basis)


def calibration_circuits(
    circuit: Circuit, method: str = "tensored", basis: tuple[str, ...] | None = None
) -> list[Variant]:
    """Basis-state preparation + measurement of ``circuit``'s readout qubits.

    ``basis``: the target's native gates (the X flips are translated into them), or None.
    Suffix ``cal_B``: character i of B is the bit prepared on measured qubit i (``c[i]``).

    Raises:
        ValueError: Without a readout, or for ``full`` beyond 8 measured qubits.
    """
    if circuit.readout is None:
        raise ValueError("the circuit has no readout to calibrate")
    qubits = (
        tuple(circuit.readout.qubits)
        if circuit.readout.kind == "probs"
        else tuple(sorted(circuit.readout.measured_qubits()))
    )
    m = len(qubits)
    if method == "full" and m > MAX_FULL_CALIBRATION_QUBITS:
        raise ValueError(
            f"full calibration of {m} measured qubits needs 2^{m} circuits "
            f"(at most {MAX_FULL_CALIBRATION_QUBITS} qubits)"
        )
    states = range(1 << m) if method == "full" else (0, (1 << m) - 1)
    readout = Readout("probs", qubits=qubits, num_classes=1 << m)
    out = []
    for state in dict.fromkeys(states):
        bits = [(state >> i) & 1 for i in range(m)]
        ops = [op for q, b in zip(qubits, bits, strict=True) if b for op in _flip(q, basis)]
        label = "".join(map(str, bits))
        out.append(
            Variant(
                f"cal_{label}",
                Circuit(
                    circuit.num_qubits, tuple(ops), readout=readout,
                    name=f"{circuit.name}_calibration_{label}",
                ),
                f"readout calibration ({method}): prepares bit c[i] = {label}[i] on the "
                "measured qubits, then measures them",
                calibration=True,
            )
        )
    return out
