"""Physical OpenQASM of target-compiled circuits: native gates, coupled `$i` pairs, same readout."""

from __future__ import annotations

import numpy as np
import pytest
import qiskit.qasm3
from qiskit.quantum_info import Statevector

from qadl.backends.qasm3 import emit
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.passes import compile_for_target
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.testing import reference_outputs, reference_state


def _amplitude_classifier() -> Circuit:
    """3-qubit amplitude encoding, one trainable RY layer, a CX ring, P(q[1])."""
    ops = (
        Op(Gate.AMPLITUDE, (0, 1, 2), tuple(E.x(i) for i in range(8))),
        *(Op(Gate.RY, (q,), (E.theta(q) + 0.5 * E.x(q),)) for q in range(3)),
        Op(Gate.CX, (0, 1)),
        Op(Gate.CX, (1, 2)),
        Op(Gate.CX, (2, 0)),  # closes a ring: the chain needs a SWAP
        Op(Gate.RZZ, (0, 2), (E.theta(3),)),
    )
    return Circuit(3, ops, 4, 8, readout=Readout("probs", (1, 2), num_classes=3))


def _clbit_marginal(qc, num_classes: int) -> np.ndarray:
    """Probabilities of c = 0..num_classes-1 (c[0] least significant) from the statevector."""
    measured = {
        qc.find_bit(i.clbits[0]).index: qc.find_bit(i.qubits[0]).index
        for i in qc.data
        if i.operation.name == "measure"
    }
    qc = qc.remove_final_measurements(inplace=False)
    probs = Statevector(qc).probabilities()
    idx = np.arange(probs.size)
    outcome = sum(((idx >> measured[b]) & 1) << b for b in range(len(measured)))
    return np.bincount(outcome, weights=probs, minlength=1 << len(measured))[:num_classes]


@pytest.mark.parametrize("target", [chain_target(5, "line5"), heavy_hex_27()], ids=lambda t: t.name)
def test_compiled_physical_program_is_native_coupled_and_correct(target):
    """compile_for_target -> emit(physical=True): Qiskit sees native gates on coupled pairs
    and the readout distribution of the original circuit."""
    circuit = _amplitude_classifier()
    rng = np.random.default_rng(4)
    theta, x = rng.normal(size=4), rng.normal(size=8)
    compiled = compile_for_target(circuit, target, 3, x=x, seed=1)
    text = emit(compiled.circuit, theta=theta, x=x, physical=True, layout=compiled.layout)
    assert "// layout: logical -> physical" in text
    qc = qiskit.qasm3.loads(text)
    assert qc.num_qubits <= 12, "Qiskit sizes the register by the largest $i: keep it simulable"
    native = {g.value for g in target.basis} | {"measure"}
    assert {i.operation.name for i in qc.data} <= native
    for instruction in qc.data:
        if instruction.operation.num_qubits == 2:
            a, b = (qc.find_bit(q).index for q in instruction.qubits)
            assert target.is_coupled(a, b), f"{instruction.operation.name} on uncoupled ${a}, ${b}"
    expected = reference_outputs(circuit, reference_state(circuit, theta, x))
    np.testing.assert_allclose(_clbit_marginal(qc, 3), expected, atol=1e-9)
