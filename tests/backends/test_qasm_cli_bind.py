"""``qadl compile FILE --bind params.npz``: fully bound OpenQASM that runs like the reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import qiskit.qasm3
from qiskit.quantum_info import Statevector

import qadl
from qadl.cli import main
from qadl.ir.stateprep import expand_amplitude
from qadl.testing import reference_state

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.qadl"))
CASES = [(path, name) for path in EXAMPLES for name in qadl.load(path).models]


def _params_file(tmp_path: Path, model, rng, *, with_x: bool) -> tuple[Path, dict]:
    arrays = {"theta": rng.uniform(-np.pi, np.pi, model.num_params)}
    if with_x and model.num_features:
        arrays["x"] = rng.uniform(0.05, 1.0, model.num_features)
    path = tmp_path / "params.npz"
    np.savez(path, **arrays)
    return path, arrays


@pytest.mark.parametrize(("path", "name"), CASES, ids=lambda v: getattr(v, "stem", v))
def test_bound_compile_has_no_free_parameters_and_the_reference_state(path, name, tmp_path):
    """θ and one sample's x from the file: no `input`s left, the state equals the reference."""
    model = qadl.load(path).models[name]
    rng = np.random.default_rng(1)
    params, arrays = _params_file(tmp_path, model, rng, with_x=True)
    out = tmp_path / "out"
    assert main(["compile", str(path), "--model", name, "--bind", str(params), "-o", str(out)]) == 0
    text = (out / f"{name}.qasm").read_text(encoding="utf-8")
    assert "\ninput " not in text
    qc = qiskit.qasm3.loads(text)
    assert len(qc.parameters) == 0
    qc.remove_final_measurements(inplace=True)
    state = None
    if model.circuit.state_input:
        state = rng.normal(size=1 << model.num_qubits) + 1j * rng.normal(size=1 << model.num_qubits)
        state /= np.linalg.norm(state)
    start = Statevector(state) if state is not None else Statevector.from_int(0, 1 << qc.num_qubits)
    # The dense reference prepares amplitudes by a 2^k×2^k QR (seconds for k = 8); the
    # RY/CX lowering is checked against it in test_amplitude_stateprep.py.
    circuit = expand_amplitude(model.circuit, arrays.get("x"))
    expected = reference_state(circuit, arrays["theta"], arrays.get("x"), state=state)
    np.testing.assert_allclose(start.evolve(qc).data, expected, atol=1e-9)


def test_theta_only_keeps_features_as_inputs(tmp_path, capsys):
    """Without `x` in the file the features stay `input float[64] x_i` (angle encodings)."""
    path = REPO / "examples" / "reuploading.qadl"
    model = qadl.load(path).models["reupload"]
    params, _ = _params_file(tmp_path, model, np.random.default_rng(2), with_x=False)
    assert main(["compile", str(path), "--bind", str(params)]) == 0
    qc = qiskit.qasm3.loads(capsys.readouterr().out)
    assert sorted(p.name for p in qc.parameters) == [f"x_{i}" for i in range(model.num_features)]


def test_amplitude_model_without_features_is_a_located_user_error(tmp_path, capsys):
    """Amplitude encoding needs the sample: exit 1, E0712 at the amplitude op, no traceback."""
    path = REPO / "examples" / "lu2020_amplitude.qadl"
    model = qadl.load(path).models["classifier"]
    params, _ = _params_file(tmp_path, model, np.random.default_rng(3), with_x=False)
    assert main(["compile", str(path), "--bind", str(params)]) == 1
    err = capsys.readouterr().err
    assert "error[E0712]: amplitude encoding needs bound features" in err
    assert "amplitude.qadl:" in err and "Traceback" not in err


def test_features_of_the_wrong_size_are_a_user_error(tmp_path, capsys):
    """`x` must hold exactly one sample's features: exit 1 with E0711."""
    path = REPO / "examples" / "zz_feature_map.qadl"
    model = qadl.load(path).models["vqc"]
    params = tmp_path / "params.npz"
    np.savez(params, theta=np.zeros(model.num_params), x=np.zeros(model.num_features + 1))
    assert main(["compile", str(path), "--bind", str(params)]) == 1
    assert "E0711" in capsys.readouterr().err
