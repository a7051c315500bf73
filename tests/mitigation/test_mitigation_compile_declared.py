"""`qadl compile --target T -o DIR` without flags emits the circuits the file's `mitigate`
needs on T (byte-identical to the flags), with a manifest; channel scaling is refused."""

from __future__ import annotations

import json
from pathlib import Path

import openqasm3
import pytest
import qiskit.qasm3

from qadl.cli import main

HEAD = """
data circle = builtin.circles(samples = 40, noise = 0.05, factor = 0.5, test = 0.5, seed = 2)
model m(x: float[2]) on q[2] {
    param θ[4]
    for i in 0..2 { ry(x[i]) q[i] }
    for i in 0..2 { ry(θ[i]) q[i] }
    cx q[0], q[1]
    for i in 0..2 { ry(θ[2 + i]) q[i] }
    readout probs(q[0], q[1]) -> classes 2
}
noise lab { depolarizing(1q = 0.01, 2q = 0.05); readout_error(p01 = 0.02, p10 = 0.05) }
target lab2 { qubits 2; basis [rz, sx, x, cx]; coupling chain; noise lab }
target other2 { qubits 2; basis [rx, ry, rz, cx]; coupling chain; noise lab }
train m on circle.train { loss mse; optimizer adam(lr = 0.1); epochs 1; batch 10; seed 1 }
"""

DECLARED = HEAD + """
evaluate m on circle.test under [clean] {
    device lab2
    mitigate [readout, zne(scales = [1, 3, 5])]
}
"""


def _program(tmp_path: Path, text: str, name: str = "p.qadl") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_declared_mitigation_emits_the_flags_files_and_a_manifest(tmp_path):
    src = _program(tmp_path, DECLARED)
    assert main(["compile", src, "--target", "lab2", "-o", str(tmp_path / "file")]) == 0
    assert main(["compile", src, "--target", "lab2", "-o", str(tmp_path / "flags"),
                 "--zne-scales", "1,3,5", "--calibration", "tensored"]) == 0
    declared, flags = _files(tmp_path / "file"), _files(tmp_path / "flags")
    qasm = {n for n in declared if n.endswith(".qasm")}
    assert qasm == {"m.qasm", "m.zne1.qasm", "m.zne3.qasm", "m.zne5.qasm",
                    "m.cal_00.qasm", "m.cal_11.qasm"}
    assert {n: declared[n] for n in qasm} == {n: flags[n] for n in qasm}  # byte-identical
    for name in qasm:
        text = declared[name].decode()
        openqasm3.parse(text)
        qiskit.qasm3.loads(text)
    record = json.loads(declared["m.mitigation.json"])
    assert record["from"] == "file" and record["target"] == "lab2"
    assert record["circuit"] == "m.qasm"
    assert record["zne"] == {"folding": "global",
                             "files": {"1": "m.zne1.qasm", "3": "m.zne3.qasm", "5": "m.zne5.qasm"}}
    assert record["calibration"]["method"] == "tensored"
    assert record["calibration"]["files"] == {"00": "m.cal_00.qasm", "11": "m.cal_11.qasm"}
    (mit,) = record["mitigations"]
    assert mit["statement"] == "evaluate" and mit["at"] == f"{src}:16:1"
    assert mit["zne"]["scales"] == [1, 3, 5] and mit["zne"]["extrapolation"] == "richardson"
    assert mit["readout"]["method"] == "tensored"
    assert "inverse" in record["combine"] and "scale 0" in record["combine"]
    assert json.loads(flags["m.mitigation.json"])["from"] == "flags"


def test_declarations_are_merged_and_flags_override_them(tmp_path):
    text = HEAD.replace(
        "epochs 1;", "epochs 1; mitigate readout(method = full);"
    ).replace("noise lab }\ntarget other2", "noise lab }\ndevice m on lab2\ntarget other2") + """
evaluate m on circle.test under [clean] { mitigate zne(scales = [1, 3], extrapolation = linear) }
evaluate m on circle.test under [clean] { device lab2; mitigate zne(scales = [1, 5]) }
evaluate m on circle.test under [clean] { device other2; mitigate zne(scales = [1, 7]) }
"""
    src = _program(tmp_path, text)
    out = tmp_path / "merged"
    assert main(["compile", src, "--target", "device", "-o", str(out)]) == 0
    record = json.loads((out / "m.mitigation.json").read_text())
    assert list(record["zne"]["files"]) == ["1", "3", "5"]  # not other2's 7
    assert record["calibration"]["method"] == "full"  # the training's: all 4 basis states
    assert sorted(record["calibration"]["files"]) == ["00", "01", "10", "11"]
    assert [m["statement"] for m in record["mitigations"]] == ["train", "evaluate", "evaluate"]
    assert {p.name for p in out.glob("m.zne*.qasm")} == {f"m.zne{s}.qasm" for s in (1, 3, 5)}
    flags = tmp_path / "flags"
    assert main(["compile", src, "--target", "lab2", "-o", str(flags),
                 "--zne-scales", "1,9"]) == 0
    assert sorted(p.name for p in flags.iterdir()) == [
        "m.mitigation.json", "m.qasm", "m.zne1.qasm", "m.zne9.qasm"]
    other = tmp_path / "other"
    assert main(["compile", src, "--target", "other2", "-o", str(other)]) == 0
    assert sorted(json.loads((other / "m.mitigation.json").read_text())["zne"]["files"]) == [
        "1", "7"]
    assert (other / "m.cal_00.qasm").exists() is False  # the readout mitigation is on lab2


def test_no_mitigation_and_no_target_emit_the_plain_circuit(tmp_path, capsys):
    src = _program(tmp_path, DECLARED)
    for argv, name in ((["--no-mitigation", "--target", "lab2"], "plain"), ([], "bare")):
        out = tmp_path / name
        assert main(["compile", src, *argv, "-o", str(out)]) == 0
        assert [p.name for p in out.iterdir()] == ["m.qasm"]
    capsys.readouterr()
    assert main(["compile", src, "--target", "lab2"]) == 0  # stdout: the plain circuit only
    captured = capsys.readouterr()
    assert captured.out.count("OPENQASM 3") == 1
    assert "declares mitigation on `lab2`" in captured.err and "-o DIR" in captured.err
    assert main(["compile", src, "--no-mitigation", "--zne-scales", "1,3",
                 "-o", str(tmp_path / "x")]) == 1
    assert "error[E0977]" in capsys.readouterr().err


@pytest.mark.parametrize(
    "mitigations, code, hint",
    [
        ("mitigate zne(scales = [1, 2, 3], scaling = channel)", "E0975", "scaling = fold"),
        ("mitigate zne(scales = [1, 3], folding = local)", "E0976", "--zne-folding"),
    ],
)
def test_declarations_that_cannot_be_compiled_are_located_errors(
    tmp_path, capsys, mitigations, code, hint
):
    text = DECLARED + f"""
evaluate m on circle.test under [clean] {{
    device lab2
    {mitigations}
}}
"""
    src = _program(tmp_path, text)
    assert main(["compile", src, "--target", "lab2", "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{src}:21:1: error[{code}]" in err
    assert "^^^" in err and hint in err
    if code == "E0976":  # points at the other declaration too
        assert f"the one at {src}:16:1 `global`" in err
    assert not list((tmp_path / "out").glob("*.qasm"))  # nothing half-written
    assert main(["compile", src, "--target", "lab2", "-o", str(tmp_path / "flags"),
                 "--zne-scales", "1,3"]) == 0  # the flags override the file
    assert main(["check", src]) == 0  # valid for the simulator: refused for compile only
