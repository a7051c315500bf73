"""Imports: stdlib modules, relative files, the project sandbox and cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from qadl.api import load
from qadl.errors import QadlError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def codes(path: Path) -> list[str]:
    with pytest.raises(QadlError) as info:
        load(path)
    return [d.code for d in info.value.diagnostics]


MODEL = "model m() on q[3] {\n  %s\n  readout probs(q[0])\n}\n"


def test_stdlib_import_makes_blocks_visible(tmp_path):
    main = write(
        tmp_path / "main.qadl", "import ansatz.brickwall_cnot\n" + MODEL % "brickwall_cnot(q)"
    )
    model = load(main).models["m"]
    assert [op.gate.value for op in model.circuit.ops] == ["cx", "cx"]


def test_local_import_relative_to_importing_file(tmp_path):
    write(
        tmp_path / "lib" / "blocks.qadl",
        'import "more.qadl"\ngate twice(q: qubits) { once(q)\n once(q) }',
    )
    write(tmp_path / "lib" / "more.qadl", "gate once(q: qubits) { h q }")
    main = write(tmp_path / "main.qadl", 'import "lib/blocks.qadl"\n' + MODEL % "twice(q[0])")
    assert len(load(main).models["m"].circuit.ops) == 2


def test_imports_are_not_reexported(tmp_path):
    write(tmp_path / "lib" / "blocks.qadl", 'import "more.qadl"\ngate twice(q: qubits) { once(q) }')
    write(tmp_path / "lib" / "more.qadl", "gate once(q: qubits) { h q }")
    main = write(tmp_path / "main.qadl", 'import "lib/blocks.qadl"\n' + MODEL % "once(q[0])")
    assert codes(main) == ["E0201"]


def test_escaping_the_project_is_an_error(tmp_path):
    write(tmp_path / "secret.qadl", "const S = 1")
    main = write(tmp_path / "proj" / "main.qadl", 'import "../secret.qadl"\nconst A = 1')
    assert codes(main) == ["E0212"]


def test_symlink_escape_is_caught(tmp_path):
    write(tmp_path / "secret.qadl", "const S = 1")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "link.qadl").symlink_to(tmp_path / "secret.qadl")
    main = write(tmp_path / "proj" / "main.qadl", 'import "link.qadl"\nconst A = 1')
    assert codes(main) == ["E0212"]


def test_cycle_is_detected(tmp_path):
    write(tmp_path / "a.qadl", 'import "b.qadl"\nconst A = 1')
    write(tmp_path / "b.qadl", 'import "c.qadl"\nconst B = 1')
    write(tmp_path / "c.qadl", 'import "a.qadl"\nconst C = 1')
    main = write(tmp_path / "main.qadl", 'import "a.qadl"\nconst M = 1')
    with pytest.raises(QadlError) as info:
        load(main)
    (diag,) = info.value.diagnostics
    assert diag.code == "E0213"
    assert "a.qadl -> " in diag.message and diag.message.count("->") == 3


def test_self_import(tmp_path):
    main = write(tmp_path / "main.qadl", 'import "main.qadl"\nconst M = 1')
    assert codes(main) == ["E0213"]


def test_diamond_is_not_a_cycle(tmp_path):
    write(tmp_path / "a.qadl", 'import "c.qadl"\nconst A = 1')
    write(tmp_path / "b.qadl", 'import "c.qadl"\nconst B = 1')
    write(tmp_path / "c.qadl", "const C = 1")
    main = write(tmp_path / "main.qadl", 'import "a.qadl"\nimport "b.qadl"\nconst M = 1')
    load(main)


def test_unknown_stdlib_module_suggests(tmp_path):
    main = write(tmp_path / "main.qadl", "import ansatz.brickwal_cnot\nconst M = 1")
    with pytest.raises(QadlError) as info:
        load(main)
    assert info.value.diagnostics[0].help == "did you mean `ansatz.brickwall_cnot`?"


def test_syntax_error_in_imported_file_points_there(tmp_path):
    write(tmp_path / "lib.qadl", "gate g(q: qubits) { h q[0] x q[1] }")
    main = write(tmp_path / "main.qadl", 'import "lib.qadl"\nconst M = 1')
    with pytest.raises(QadlError) as info:
        load(main)
    assert info.value.diagnostics[0].primary.span.file.endswith("lib.qadl")


def test_local_definition_clashing_with_import(tmp_path):
    write(tmp_path / "lib.qadl", "const N = 1")
    main = write(tmp_path / "main.qadl", 'import "lib.qadl"\nconst N = 2')
    assert codes(main) == ["E0206"]
