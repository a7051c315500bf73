"""The Python API on bad input: `diagnose` returns diagnostics, `load`/`loads` raise QadlError."""

from __future__ import annotations

from pathlib import Path

import pytest

import qadl
from qadl.errors import QadlError
from qadl.source import NO_SPAN

GOOD = "const layers = 2\n"
BAD_TEXTS = {
    "latin-1 byte": b"const a = 1 // caf\xe9\n",
    "bidi control": "const a = 1 /* \u202e */\n".encode(),
    "line separator": "const a = 1 // x\u2028const b = 2\n".encode(),
    "bengali digit": "const a = \u09ea\n".encode(),
    "4301 digits": b"const a = " + b"7" * 4301 + b"\n",
    "100000 digits": b"const a = " + b"1" * 100_000 + b"\n",
    "float overflow": b"gate g(q: qubits) { rx(1e400) q }\n",
    "float underflow": b"const a = 1e-400\n",
    "pi overflow": b"const a = " + b"9" * 400 + b"pi\n",
    "deep parens": b"const a = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
    "mixed script": "const p\u0430ram = 1\n".encode(),
    "nul byte": b"const a = 1\x00\n",
}
EXPECTED = {
    "latin-1 byte": "E0001",
    "bidi control": "E0117",
    "line separator": "E0118",
    "bengali digit": "E0120",
    "4301 digits": "E0121",
    "100000 digits": "E0121",
    "float overflow": "E0121",
    "float underflow": "E0122",
    "pi overflow": "E0121",
    "deep parens": "E0110",
    "mixed script": "E0123",
    "nul byte": "E0119",
}


def located(diagnostics) -> bool:
    return bool(diagnostics) and all(d.primary.span is not NO_SPAN for d in diagnostics)


@pytest.mark.parametrize("case", BAD_TEXTS)
def test_diagnose_returns_and_load_raises(case, tmp_path):
    path = tmp_path / "prog.qadl"
    path.write_bytes(BAD_TEXTS[case])
    diagnostics = qadl.diagnose(path)
    assert [d.code for d in diagnostics][:1] == [EXPECTED[case]]
    assert located(diagnostics)
    with pytest.raises(QadlError) as info:
        qadl.load(path)
    assert info.value.diagnostics == diagnostics
    with pytest.raises(QadlError):
        qadl.loads(BAD_TEXTS[case], str(path))


def test_loads_takes_utf8_bytes_and_refuses_other_types():
    assert qadl.loads(GOOD.encode()) is not None
    with pytest.raises(TypeError, match="str or bytes"):
        qadl.loads(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["missing.qadl", "a\x00b.qadl", "."])
def test_unreadable_paths_are_e0001(name, tmp_path):
    path = tmp_path / name if name != "." else tmp_path
    if "\x00" in name:
        path = str(tmp_path) + "/" + name
    (diag,) = qadl.diagnose(path)
    assert diag.code == "E0001"


def test_import_that_is_not_utf8_is_located_at_the_import(tmp_path):
    (tmp_path / "lib.qadl").write_bytes(b"gate g(q: qubits) { h q }\n// \xff\xfe\n")
    main = tmp_path / "main.qadl"
    main.write_text('const a = 1\nimport "lib.qadl"\n', encoding="utf-8")
    (diag,) = qadl.diagnose(main)
    assert diag.code == "E0003"
    assert diag.primary.span.file == str(main)
    assert main.read_text()[diag.primary.span.start :].startswith('import "lib.qadl"')
    assert "line 2" in diag.message


def test_import_that_cannot_be_read_is_located_at_the_import(tmp_path, monkeypatch):
    lib = tmp_path / "lib.qadl"
    lib.write_text("gate g(q: qubits) { h q }\n", encoding="utf-8")
    main = tmp_path / "main.qadl"
    main.write_text('import "lib.qadl"\n', encoding="utf-8")
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == "lib.qadl":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    (diag,) = qadl.diagnose(main)
    assert diag.code == "E0002"
    assert "Permission denied" in diag.message
    assert diag.primary.span.file == str(main)


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.qadl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert qadl.diagnose(path) == ()


@pytest.mark.parametrize("model", ["model m", None, 3])
def test_to_qasm_refuses_what_is_not_a_model(model):
    with pytest.raises(TypeError, match="Model"):
        qadl.to_qasm(model)


def test_to_qasm_takes_a_model_or_its_circuit():
    program = qadl.loads(
        "model m(x: float[1]) on q[1] {\n  ry(x[0]) q[0]\n  readout probs(q[0]) -> classes 2\n}\n"
    )
    (model,) = program.models.values()
    assert qadl.to_qasm(model) == qadl.to_qasm(model.circuit)
    assert "OPENQASM 3" in qadl.to_qasm(model, x=[0.5])
