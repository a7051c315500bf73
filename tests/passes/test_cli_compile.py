"""``qadl compile`` with ``--target``, ``-O``, ``--passes`` and ``--report``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qadl.cli import main

ROOT = Path(__file__).resolve().parents[2]
ZZ = str(ROOT / "examples" / "zz_feature_map.qadl")
REN = str(ROOT / "examples" / "ren2022_images.qadl")


def test_target_report_and_physical_qasm(capsys):
    """--target heavy_hex27 -O3 --report: physical-qubit QASM, native gates, a pass table."""
    assert main(["compile", ZZ, "--target", "heavy_hex27", "-O3", "--report"]) == 0
    out, err = capsys.readouterr()
    assert "route-sabre" in err and "translate-basis" in err and "depth" in err
    assert "$" in out and "target heavy_hex27" in out
    import openqasm3

    program = openqasm3.parse(out)
    names = {s.name.name for s in program.statements if type(s).__name__ == "QuantumGate"}
    assert names <= {"rz", "sx", "x", "cx"}


def test_routed_qasm_imports_in_qiskit_with_same_probabilities(capsys):
    """Ren et al.'s classifier for chain10: Qiskit simulates the emitted QASM to our P(q4)."""
    from qiskit import qasm3
    from qiskit.quantum_info import Statevector

    from qadl.api import load
    from qadl.testing import reference_outputs, reference_state

    assert main(["compile", REN, "--target", "chain10", "-O3"]) == 0
    out = capsys.readouterr().out
    qc = qasm3.loads(out)
    rng = np.random.default_rng(0)
    circuit = load(REN).model("classifier").circuit
    theta, x = rng.uniform(0, 2 * np.pi, 260), rng.uniform(-0.1, 0.1, 256)
    values = {
        p: (theta if p.name.startswith("theta") else x)[int(p.name.split("_")[1])]
        for p in qc.parameters
    }
    bound = qc.remove_final_measurements(inplace=False).assign_parameters(values)
    probs = Statevector(bound).probabilities([4])
    want = reference_outputs(circuit, reference_state(circuit, theta, x))
    np.testing.assert_allclose(probs, want, atol=1e-9)


def test_opt_level_without_target_and_custom_passes(capsys):
    """-O2 --emit ir shrinks nothing it must keep; --passes runs exactly the given passes."""
    assert main(["compile", ZZ, "--emit", "ir", "-O0"]) == 0
    plain = capsys.readouterr().out
    assert (
        main(
            [
                "compile",
                ZZ,
                "--emit",
                "ir",
                "--passes",
                "drop-diagonal-before-measure,lightcone",
                "--report",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert "drop-diagonal-before-measure" in err and "commute-cancel" not in err
    assert out.count("\n") <= plain.count("\n")


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--target", "nowhere"], "E0612"), (["--passes", "merge-rotation"], "E0613")],
)
def test_bad_flags_are_user_errors(args, code, capsys):
    """Unknown targets and passes: exit 1 with a coded diagnostic, no traceback."""
    assert main(["compile", ZZ, *args]) == 1
    err = capsys.readouterr().err
    assert code in err and "Traceback" not in err


def test_symbolic_amplitude_for_target_is_a_user_error(capsys):
    """Amplitude encoding with symbolic features cannot be compiled for a device (E0610)."""
    assert (
        main(["compile", str(ROOT / "examples" / "lu2020_amplitude.qadl"), "--target", "chain10"])
        == 1
    )
    assert "E0610" in capsys.readouterr().err


@pytest.mark.parametrize(
    "spec", ["route-sabre", "lightcone{foo=1}", "route-sabre{coupling=((0, 1),), num_physical=3}"]
)
def test_passes_that_fail_at_run_time_are_user_errors(spec, capsys):
    """A pass given wrong options fails with E0613, not the internal-error banner."""
    assert main(["compile", ZZ, "--passes", spec]) == 1
    err = capsys.readouterr().err
    assert "E0613" in err and "internal error" not in err


def test_route_sabre_spec_with_coupling(capsys):
    """--passes route-sabre{coupling=...,num_physical=...} routes onto the given line."""
    spec = "route-sabre{coupling=((0,1),(1,2)),num_physical=3}"
    assert main(["compile", ZZ, "--emit", "ir", "--passes", spec]) == 0
    assert "  qubits 3\n" in capsys.readouterr().out  # the 2-qubit model now spans the 3-qubit line


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("merge-rotations{", "unclosed '{'"),
        ("merge-rotations}", "unmatched '}'"),
        ("merge-rotations{}}", "unmatched '}'"),
        ("resynth-1q{form=zsx}x", "unclosed options"),
        (",", "empty pass spec"),
        ("commute-cancel{window=-1}", "window must be an integer >= 0"),
        ("commute-cancel{window=abc}", "window must be an integer >= 0"),
        ("resynth-2q{from_zero=1}", "from_zero must be True or False"),
    ],
)
def test_malformed_pass_specs_are_refused_with_a_reason(spec, says, capsys):
    """Every malformed --passes spec is E0613 naming the problem (none is run half-parsed)."""
    assert main(["compile", ZZ, "--passes", spec]) == 1
    err = capsys.readouterr().err
    assert "E0613" in err and says in err and "internal error" not in err


def test_ry_5e_5_between_cx_survives_qadl_compile_o3_heavy_hex(tmp_path, capsys):
    """Regression (CLI path): ``ry(5e-5)`` between two CX is kept and so are the CX."""
    from qiskit import qasm3
    from qiskit.quantum_info import Operator

    src = tmp_path / "tiny.qadl"
    src.write_text(
        "model m(x: float[1]) on q[2] {\n    cx q[0], q[1]\n    ry(5e-5) q[1]\n"
        "    cx q[0], q[1]\n    readout probs(q[1]) -> classes 2\n}\n",
        encoding="utf-8",
    )
    assert main(["compile", str(src), "--target", "heavy_hex27", "-O3"]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert out.count("cx ") == 2
    qc = qasm3.loads(out).remove_final_measurements(inplace=False)
    used = sorted({qc.find_bit(q).index for inst in qc.data for q in inst.qubits})
    small = type(qc)(len(used))
    for inst in qc.data:
        small.append(inst.operation, [used.index(qc.find_bit(q).index) for q in inst.qubits])
    u = Operator(small).data
    phase = u[0, 0] / abs(u[0, 0])
    assert np.max(np.abs(u / phase - np.eye(4))) > 1e-5  # the rotation is there, not dropped
