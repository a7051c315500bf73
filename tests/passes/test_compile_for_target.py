"""compile_for_target: native, coupled, same semantics; on a line, chain10 and heavy-hex."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given

from qadl.errors import QadlError
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.passes import compile_for_target
from qadl.passes.analysis import non_native_ops, uncoupled_ops
from qadl.passes.devices import chain_target, heavy_hex_27
from qadl.testing import assert_equivalent, random_bindings, reference_outputs, reference_state

from .helpers import (
    PROPERTY_SMALL,
    compact,
    line_target,
    random_case,
    random_readout,
    relabel,
    seeds,
)

LINE_BASES = {
    "rxyz-cz": (Gate.RX, Gate.RY, Gate.RZ, Gate.CZ),
    "ibm": (Gate.RZ, Gate.SX, Gate.X, Gate.CX),
}


def assert_native_and_coupled(compiled, target) -> None:
    assert non_native_ops(compiled.circuit, target) == ()
    assert uncoupled_ops(compiled.circuit, target) == ()


@pytest.mark.parametrize("basis", sorted(LINE_BASES))
@pytest.mark.parametrize("level", [0, 1, 3])
@PROPERTY_SMALL
@given(seed=seeds)
def test_random_circuits_on_a_line(basis, level, seed):
    """Any gate mix on 4 qubits to a line of 5: operator kept up to layouts (no readout)."""
    target = line_target(5, LINE_BASES[basis])
    c = random_case(seed, num_qubits=4, num_ops=14)
    compiled = compile_for_target(c, target, level, seed=seed % 5, verify_each=True)
    assert_native_and_coupled(compiled, target)
    placed = relabel(c, compiled.layout, 5)
    inverse = {p: v for v, p in enumerate(compiled.layout)}
    permutation = tuple(compiled.final_permutation[inverse[p]] for p in range(5))
    assert_equivalent(
        compiled.circuit, placed, permutation=permutation, rng=np.random.default_rng(seed)
    )


def _outputs_on_used_qubits(compiled, original: Circuit, seed: int) -> None:
    """Readout values equal, simulating only the physical qubits the compiled circuit uses."""
    circuit = compiled.circuit
    used = {q for o in circuit.ops for q in o.qubits} | set(circuit.readout.measured_qubits())
    small, index = compact(circuit, used)
    r = circuit.readout
    small = replace(
        small,
        readout=replace(
            r,
            qubits=tuple(index[q] for q in r.qubits),
            observables=tuple(tuple((p, index[q]) for p, q in o) for o in r.observables),
        ),
    )
    theta, x, delta = random_bindings(np.random.default_rng(seed), original)
    want = reference_outputs(original, reference_state(original, theta, x, delta))
    got = reference_outputs(small, reference_state(small, theta, x, delta))
    np.testing.assert_allclose(got, want, atol=1e-9)


@pytest.mark.parametrize("target", [chain_target(), heavy_hex_27()], ids=["chain10", "heavyhex27"])
@pytest.mark.parametrize("kind", ["probs", "expval"])
@PROPERTY_SMALL
@given(seed=seeds)
def test_random_circuits_on_devices(target, kind, seed):
    """5-qubit random circuits with readouts on the real targets: native, coupled, same outputs."""
    rng = np.random.default_rng(seed)
    c = replace(random_case(seed, num_qubits=5, num_ops=16), readout=random_readout(rng, 5, kind))
    compiled = compile_for_target(c, target, 3, seed=1)
    assert_native_and_coupled(compiled, target)
    _outputs_on_used_qubits(compiled, c, seed)
    assert compile_for_target(c, target, 3, seed=1).circuit == compiled.circuit


def test_report_trace_lists_every_stage():
    """The trace has the level passes, route-sabre and translate-basis, with timings."""
    c = random_case(3, num_qubits=4, num_ops=10)
    compiled = compile_for_target(c, chain_target(), 2)
    names = [e.name for e in compiled.trace.entries]
    assert (
        "route-sabre" in names and names.count("translate-basis") == 2 and "commute-cancel" in names
    )
    assert all(e.seconds >= 0 for e in compiled.trace.entries)


def test_symbolic_amplitude_is_a_located_user_error_and_bound_one_compiles():
    """amplitude(x) cannot be compiled symbolically (E0610); with x bound it is expanded first."""
    c = Circuit(
        2,
        (Op(Gate.AMPLITUDE, (0, 1), tuple(E.x(i) for i in range(4))), Op(Gate.CX, (0, 1))),
        num_features=4,
        readout=Readout("probs", (0, 1), num_classes=4),
    )
    with pytest.raises(QadlError) as info:
        compile_for_target(c, chain_target(), 3)
    assert info.value.diagnostics[0].code == "E0610"
    x = np.array([0.1, 0.5, -0.3, 0.8])
    compiled = compile_for_target(c, chain_target(), 3, x=x)
    assert_native_and_coupled(compiled, chain_target())
    want = reference_outputs(c, reference_state(c, x=x))
    small, index = compact(compiled.circuit, {q for o in compiled.circuit.ops for q in o.qubits})
    r = compiled.circuit.readout
    small = replace(small, readout=replace(r, qubits=tuple(index[q] for q in r.qubits)))
    np.testing.assert_allclose(
        reference_outputs(small, reference_state(small, x=x)), want, atol=1e-9
    )


def test_too_wide_circuit_is_a_user_error():
    """A 12-qubit circuit on the 10-qubit chain: E0610 naming the target."""
    with pytest.raises(QadlError, match="chain10"):
        compile_for_target(Circuit(12, ()), chain_target(), 1)


def test_zero_amplitude_sample_is_a_user_error():
    """An all-zero bound sample cannot be prepared: E0610, not an internal error."""
    c = Circuit(
        1,
        (Op(Gate.AMPLITUDE, (0,), (E.x(0), E.x(1))),),
        num_features=2,
        readout=Readout("probs", (0,), num_classes=2),
    )
    with pytest.raises(QadlError, match="amplitude"):
        compile_for_target(c, chain_target(), 3, x=np.zeros(2))
