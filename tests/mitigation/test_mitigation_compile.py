"""`qadl compile --zne-scales ... --calibration ...`: one valid OpenQASM 3 file per folded
circuit and per calibration circuit; folding keeps the compiled operator."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import openqasm3
import pytest
import qiskit.qasm3
from qiskit.quantum_info import Operator, Statevector

from qadl.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "mitigation.qadl")

TWO_READ = """
model m(x: float[2]) on q[3] {
    param θ[3]
    ry(x[0]) q[0]
    rx(x[1]) q[1]
    cx q[0], q[1]
    rz(θ[0]) q[1]
    ry(θ[1]) q[2]
    cz q[1], q[2]
    rx(θ[2]) q[0]
    readout probs(q[0], q[2]) -> classes 4
}
target chain3 { qubits 3; basis [rz, sx, x, cx]; coupling chain }
"""

WIDE = """
model w(x: float[9]) on q[9] {
    for i in 0..9 { ry(x[i]) q[i] }
    readout probs(q) -> classes 2
}
"""


def _load(text: str):
    """Parse with the reference parser, then import with qiskit-qasm3-import."""
    openqasm3.parse(text)
    return qiskit.qasm3.loads(text)


def _unitary(text: str, values: dict[str, float]) -> np.ndarray:
    qc = _load(text)
    qc.remove_final_measurements(inplace=True)
    qc = qc.assign_parameters({p: values[p.name] for p in qc.parameters})
    return Operator(qc).data


def _gate_lines(text: str) -> int:
    return sum(
        1 for line in text.splitlines()
        if re.match(r"^(rx|ry|rz|sx|x|cx|cz)\b", line)
    )


def _same_up_to_phase(a: np.ndarray, b: np.ndarray) -> float:
    k = int(np.argmax(np.abs(b)))
    phase = b.flat[k] / a.flat[k]
    return float(np.max(np.abs(b - phase / abs(phase) * a)))


@pytest.mark.parametrize("folding", ["global", "local"])
def test_folded_files_keep_the_compiled_operator_and_multiply_the_gates(tmp_path, folding):
    out = tmp_path / folding
    argv = ["compile", EXAMPLE, "--model", "ideal", "--target", "lab3", "-o", str(out),
            "--zne-scales", "1,3,5", "--zne-folding", folding]
    assert main(argv) == 0
    texts = {s: (out / f"ideal.zne{s}.qasm").read_text() for s in (1, 3, 5)}
    rng = np.random.default_rng(4)
    values = {f"theta_{i}": float(v) for i, v in enumerate(rng.uniform(-3, 3, 9))}
    values |= {f"x_{i}": float(v) for i, v in enumerate(rng.uniform(0, 3, 3))}
    base = _unitary(texts[1], values)
    gates = _gate_lines(texts[1])
    assert gates > 10
    for s in (3, 5):
        assert f"fold-{folding} to scale {s}" in texts[s]
        assert _gate_lines(texts[s]) == s * gates
        assert _same_up_to_phase(_unitary(texts[s], values), base) < 1e-9


@pytest.mark.parametrize("method, count", [("tensored", 2), ("full", 4)])
def test_calibration_circuits_prepare_each_basis_state_of_the_measured_qubits(
    tmp_path, method, count
):
    src = tmp_path / "two.qadl"
    src.write_text(TWO_READ)
    out = tmp_path / "out"
    assert main(["compile", str(src), "--target", "chain3", "-o", str(out),
                 "--calibration", method]) == 0
    files = sorted(out.glob("m.cal_*.qasm"))
    assert len(files) == count
    for path in files:
        bits = path.name.split("_")[1].split(".")[0]  # c[i] = bits[i]
        text = path.read_text()
        assert "input float" not in text  # nothing to bind
        qc = _load(text)
        measured = [qc.find_bit(inst.qubits[0]).index for inst in qc.data
                    if inst.operation.name == "measure"]
        clbits = [qc.find_bit(inst.clbits[0]).index for inst in qc.data
                  if inst.operation.name == "measure"]
        qc.remove_final_measurements(inplace=True)
        probs = Statevector(qc).probabilities_dict()
        (state, p), = probs.items()  # a basis state exactly
        assert p == pytest.approx(1.0, abs=1e-9)
        got = {c: state[::-1][q] for q, c in zip(measured, clbits, strict=True)}
        assert "".join(got[i] for i in range(len(bits))) == bits
        names = {s.name.name for s in openqasm3.parse(text).statements
                 if type(s).__name__ == "QuantumGate"}
        assert names <= {"rz", "sx", "x", "cx"}


def test_mitigation_flags_are_refused_with_located_errors(tmp_path, capsys):
    assert main(["compile", EXAMPLE, "--zne-scales", "1,2", "-o", str(tmp_path / "a")]) == 1
    assert "E0973" in capsys.readouterr().err
    assert main(["compile", EXAMPLE, "--zne-scales", "1,3"]) == 1
    err = capsys.readouterr().err
    assert "E0973" in err and "-o DIR" in err
    wide = tmp_path / "wide.qadl"
    wide.write_text(WIDE)
    assert main(["compile", str(wide), "--calibration", "full", "-o", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "E0974" in err and "2^9" in err
    assert main(["compile", str(wide), "--calibration", "tensored", "-o",
                 str(tmp_path / "c")]) == 0
    assert len(list((tmp_path / "c").glob("w.cal_*.qasm"))) == 2
