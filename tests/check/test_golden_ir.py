"""The lowered IR of a fixed program is stable (golden file; `--update-golden`).

Structure (gates, qubits, symbols, sizes) must match exactly; float literals to
``qadl.testing.GOLDEN_ATOL + GOLDEN_RTOL·|x|``, since their last digits depend on the CPU.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qadl.api import load
from qadl.ir.printer import format_circuit
from qadl.testing import assert_text_close

GOLDEN = Path(__file__).resolve().parent / "golden"


def test_layered_ir_golden(update_golden):
    model = load(GOLDEN / "layered.qadl").models["m"]
    text = format_circuit(model.circuit)
    init = "".join(f"init {p.name} {p.start}+{p.size} {p.kind}{p.args}\n" for p in model.param_init)
    text += init
    path = GOLDEN / "layered.ir"
    if update_golden:
        path.write_text(text, encoding="utf-8")
    assert_text_close(text, path.read_text(encoding="utf-8"), label=str(path))


def test_to_qasm_api_binds_parameters():
    import numpy as np

    import qadl

    model = qadl.load(GOLDEN / "layered.qadl").model("m")
    with_x = qadl.to_qasm(model, x=np.ones(4))  # amplitude encoding needs numeric features
    assert "input float[64] theta_0;" in with_x and "x_3" not in with_x
    bound = qadl.to_qasm(model, params=np.zeros(model.num_params), x=np.ones(4))
    assert "input float" not in bound
    with pytest.raises(qadl.QadlError):
        qadl.to_qasm(model)
