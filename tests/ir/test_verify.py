"""verify() accepts valid IR and names the first broken invariant otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.errors import InternalError
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.verify import verify
from qadl.testing import random_circuit


def test_random_circuits_are_valid() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        verify(random_circuit(rng, 4, 12))


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (Op(Gate.CX, (0,)), "takes 2 qubits"),
        (Op(Gate.RX, (0,)), "takes 1 angles"),
        (Op(Gate.CZ, (1, 1)), "repeated qubit"),
        (Op(Gate.H, (5,)), "out of range"),
        (Op(Gate.RZ, (0,), (E.theta(9),)), "not declared"),
    ],
)
def test_broken_ops_are_reported(op: Op, message: str) -> None:
    with pytest.raises(InternalError, match=message):
        verify(Circuit(2, (op,), num_params=1))


def test_amplitude_must_come_first_on_its_qubits() -> None:
    amp = Op(Gate.AMPLITUDE, (0, 1), tuple(E.x(i) for i in range(4)))
    verify(Circuit(2, (amp, Op(Gate.H, (0,))), num_features=4))
    with pytest.raises(InternalError, match="amplitude preparation after"):
        verify(Circuit(2, (Op(Gate.H, (0,)), amp), num_features=4))


def test_readout_classes_fit_outcomes() -> None:
    with pytest.raises(InternalError, match="more classes"):
        verify(Circuit(1, (), readout=Readout("probs", (0,), num_classes=3)))
