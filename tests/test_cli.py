"""The command line: exit codes 0/1/2/101, --help everywhere, outputs, and a light `qadl check`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qadl import __version__
from qadl.cli import SUBCOMMANDS, main

REPO = Path(__file__).resolve().parent.parent
GOOD = """
model m(p: float[2]) on q[2] {
    param θ[2]
    rx(θ[0] + p[0]) q[0]
    ry(θ[1] * p[1]) q[1]
    cz q[0], q[1]
    readout probs(q[1]) -> classes 2
}
"""


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.qadl"
    path.write_text(GOOD, encoding="utf-8")
    return path


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"qadl {__version__}"


@pytest.mark.parametrize("command", [None, *[s.name for s in SUBCOMMANDS]])
def test_help_on_every_command(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "usage: qadl" in out


def test_no_command_is_usage_error(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_bad_flag_is_usage_error(capsys):
    assert main(["compile", "x.qadl", "--emit", "pdf"]) == 2


def test_check_ok(good, capsys):
    assert main(["check", str(good)]) == 0
    assert "ok: m (2 qubits, 2 params)" in capsys.readouterr().out


def test_check_several_files_exit_1_if_any_fails(good, tmp_path, capsys):
    bad = tmp_path / "bad.qadl"
    bad.write_text("model m() on q[2] { h r[0]\n readout probs(q[0]) }", encoding="utf-8")
    assert main(["check", str(good), str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:1:23: error[E0203]" in captured.err
    assert "ok:" in captured.out


def test_check_missing_file(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.qadl")]) == 1
    assert "error[E0001]: cannot read" in capsys.readouterr().err


def test_compile_ir_to_stdout(good, capsys):
    assert main(["compile", str(good), "--emit", "ir"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("circuit m\n  qubits 2\n  params 2\n  features 2\n")
    assert "  ry(theta[1]*x[1]) q[1]\n" in out


def test_compile_qasm_to_directory(good, tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert main(["compile", str(good), "-o", str(out_dir)]) == 0
    text = (out_dir / "m.qasm").read_text(encoding="utf-8")
    assert text.startswith("OPENQASM 3.0;")
    assert "theta_0" in text


def test_compile_with_bound_params(good, tmp_path, capsys):
    params = tmp_path / "p.npz"
    np.savez(params, theta=np.array([0.25, 0.5]))
    assert main(["compile", str(good), "--bind", str(params)]) == 0
    out = capsys.readouterr().out
    assert "theta_0" not in out and "0.25" in out


def test_compile_bind_wrong_length_is_user_error(good, tmp_path, capsys):
    params = tmp_path / "p.npz"
    np.savez(params, theta=np.zeros(5))
    assert main(["compile", str(good), "--bind", str(params)]) == 1
    assert "error[E0711]" in capsys.readouterr().err


def test_compile_unknown_model(good, capsys):
    assert main(["compile", str(good), "--model", "nope"]) == 1
    assert "no model `nope`" in capsys.readouterr().err


def test_internal_error_banner(good, monkeypatch, capsys):
    import qadl.cli_compile as cli

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli, "_emit", boom)
    monkeypatch.delenv("QADL_BACKTRACE", raising=False)
    assert main(["compile", str(good)]) == 101
    err = capsys.readouterr().err
    assert err.startswith("internal error in qadl (this is a bug): RuntimeError: kaboom;")
    assert "Traceback" not in err
    monkeypatch.setenv("QADL_BACKTRACE", "1")
    assert main(["compile", str(good)]) == 101
    assert "Traceback" in capsys.readouterr().err


def test_check_is_light_and_console_entry_works(good):
    """`qadl check` imports neither numba nor qiskit nor matplotlib (fresh interpreter)."""
    code = (
        "import sys; from qadl.cli import main; rc = main(['check', sys.argv[1]]); "
        "heavy = sorted({m.split('.')[0] for m in sys.modules}"
        " & {'numba', 'qiskit', 'matplotlib'}); "
        "print('HEAVY', heavy); sys.exit(rc)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(good)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_python_dash_m(good):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "qadl", "check", str(good)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def test_import_qadl_is_light():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = (
        "import sys, qadl; qadl.load; "
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'numba', 'qiskit', 'matplotlib', 'lark'}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=120
    )
    assert proc.stdout.strip() == "[]", proc.stderr


def test_diagnose_returns_every_diagnostic(good, tmp_path):
    """`qadl.diagnose(path)`: () for a good file, the located diagnostics otherwise."""
    import qadl

    assert qadl.diagnose(good) == ()
    bad = tmp_path / "bad.qadl"
    bad.write_text("const A = B", encoding="utf-8")
    assert [d.code for d in qadl.diagnose(bad)] == ["E0202"]


def test_colour_only_decorates():
    """Colouring adds ANSI codes around the header, gutters and help, and nothing else."""
    import re

    from qadl.cli import _colour

    plain = "a.qadl:1:2: error[E0101]: bad\n  |\n1 | x\n  | ^\n  = help: h"
    coloured = _colour(plain)
    assert "\033[1;31merror[E0101]: " in coloured
    assert re.sub(r"\033\[[\d;]*m", "", coloured) == plain
