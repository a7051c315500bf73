"""Values bound for OpenQASM must fit the model: a clear E0614, never wrong output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import qadl
from qadl.backends.qasm3 import BindingError

ZZ = Path(__file__).resolve().parents[2] / "examples" / "zz_feature_map.qadl"


@pytest.fixture(scope="module")
def vqc():
    return qadl.load(ZZ).model("vqc")


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"x": [1.0, 2.0, 3.0]}, "3 feature values (x) given, but the circuit declares 2"),
        ({"x": [1.0]}, "1 feature values (x) given, but the circuit declares 2"),
        ({"params": [0.1] * 3}, "3 trainable-parameter values"),
        ({"delta": [1.0]}, "1 perturbation values (delta) given, but the circuit declares 0"),
        ({"x": [[1.0, 2.0], [3.0, 4.0]]}, "must be one sample"),
        ({"x": ["a", "b"]}, "must be numbers"),
        ({"x": [np.nan, 1.0]}, "entry 0 is nan, not a finite number"),
        ({"x": [1.0, np.inf]}, "entry 1 is inf, not a finite number"),
    ],
)
def test_bad_bindings_are_a_located_value_error(vqc, kwargs, says):
    with pytest.raises(BindingError) as info:
        qadl.to_qasm(vqc, **kwargs)
    assert says in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, qadl.QadlError)
    (diag,) = info.value.diagnostics
    assert diag.code == "E0614" and "exactly" in diag.help


def test_exact_bindings_still_emit(vqc):
    text = qadl.to_qasm(vqc, x=[[0.25, 0.5]])  # a one-row batch is one sample
    assert "x_0" not in text and "p(0.5) q[0];" in text
    bound = qadl.to_qasm(vqc, params=np.zeros(vqc.num_params), x=np.array([0.25, 0.5]))
    assert "input float" not in bound
