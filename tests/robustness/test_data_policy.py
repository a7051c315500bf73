"""Data-path policy and the preflight: what `qadl check` refuses, and `qadl run` before training.

Policy: a `file("...")` data path must resolve (symlinks followed) inside the program's
directory, or inside a `--data-root DIR`; `--allow-data-outside` lifts the rule.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qadl.api import load
from qadl.cli import main
from qadl.errors import QadlError
from qadl.run.data_preflight import DataPolicy
from qadl.run.preflight import preflight

MODEL = """
model clf(x: float[2]) on q[{n}] {{
    param θ[2]
    ry(x[0] + θ[0]) q[0]
    ry(x[1] + θ[1]) q[{last}]
    readout probs(q[0]) -> classes 2
}}
train clf on d.train {{ epochs 1; batch {batch} }}
"""


def _csv(path: Path, rows: int = 12) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x1,x2,label\n" + "".join(f"{i / 10},{-i / 10},{i % 2}\n" for i in range(rows)))
    return path


def _program(directory: Path, data_path: str, n: int = 2, batch: int = 4, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "prog.qadl"
    text = f'data d = file("{data_path}", test = 0.25)\n' + MODEL.format(
        n=n, last=n - 1, batch=batch
    )
    path.write_text(text + extra)
    return path


def _codes(err: pytest.ExceptionInfo) -> list[str]:
    return [d.code for d in err.value.diagnostics]


def test_data_inside_the_program_directory_is_allowed(tmp_path) -> None:
    _csv(tmp_path / "p" / "data" / "x.csv")
    result = preflight(load(_program(tmp_path / "p", "data/x.csv")))
    assert result.files["d"].meta["rows"] == 12
    shown = tmp_path / "p" / "data" / "x.csv"  # absolute: it is not below the working dir
    assert result.log_lines() == [f"data d: read 12 samples from {shown}, header row skipped"]


def test_data_outside_is_refused_unless_allowed(tmp_path) -> None:
    outside = _csv(tmp_path / "elsewhere" / "x.csv")
    program = load(_program(tmp_path / "p", "../elsewhere/x.csv"))
    with pytest.raises(QadlError) as err:
        preflight(program)
    assert _codes(err) == ["E0713"]
    assert err.value.diagnostics[0].primary.span == program.datasets["d"].span
    assert len(preflight(program, DataPolicy(roots=(outside.parent,))).files["d"]) == 12
    assert len(preflight(program, DataPolicy(allow_outside=True)).files["d"]) == 12
    abs_program = load(_program(tmp_path / "q", str(outside)))  # an absolute path
    with pytest.raises(QadlError) as err:
        preflight(abs_program)
    assert _codes(err) == ["E0713"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_escaping_the_program_directory_are_refused(tmp_path) -> None:
    outside = _csv(tmp_path / "secret" / "x.csv")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "link.csv").symlink_to(outside)  # a file link
    (tmp_path / "p" / "dir").symlink_to(outside.parent, target_is_directory=True)
    for data_path in ("link.csv", "dir/x.csv"):
        with pytest.raises(QadlError) as err:
            preflight(load(_program(tmp_path / "p", data_path)))
        assert _codes(err) == ["E0713"], data_path
        assert "(a link to" in err.value.diagnostics[0].message
    # a symlink loop is a located error, not a RuntimeError
    (tmp_path / "p" / "a.csv").symlink_to(tmp_path / "p" / "b.csv")
    (tmp_path / "p" / "b.csv").symlink_to(tmp_path / "p" / "a.csv")
    with pytest.raises(QadlError) as err:
        preflight(load(_program(tmp_path / "p", "a.csv")))
    assert _codes(err) == ["E0701"]
    # a link that stays inside the directory is fine
    _csv(tmp_path / "p" / "real" / "y.csv")
    (tmp_path / "p" / "inner.csv").symlink_to(tmp_path / "p" / "real" / "y.csv")
    assert len(preflight(load(_program(tmp_path / "p", "inner.csv"))).files["d"]) == 12


def test_cli_check_and_run_flags(tmp_path, capsys) -> None:
    outside = _csv(tmp_path / "elsewhere" / "x.csv")
    program = str(_program(tmp_path / "p", "../elsewhere/x.csv"))
    assert main(["check", program]) == 1
    assert "error[E0713]" in capsys.readouterr().err
    assert main(["check", program, "--data-root", str(outside.parent)]) == 0
    assert main(["check", program, "--allow-data-outside"]) == 0
    assert main(["check", program, "--allow-data-outside", "--max-data-mb", "0"]) == 2
    out = tmp_path / "out"
    assert main(["run", program, "--out", str(out), "--no-progress", "--no-plots"]) == 1
    captured = capsys.readouterr()
    assert "error[E0713]" in captured.err and "train clf" not in captured.out
    assert not out.exists()  # refused before any work


def test_size_limit_flag(tmp_path, capsys) -> None:
    _csv(tmp_path / "p" / "big.csv", rows=120_000)  # about 2 MiB
    program = str(_program(tmp_path / "p", "big.csv"))
    assert main(["check", program, "--max-data-mb", "1"]) == 1
    assert "error[E0714]" in capsys.readouterr().err
    assert main(["check", program, "--max-data-mb", "3"]) == 0


def test_training_memory_is_checked_before_training(tmp_path, monkeypatch, capsys) -> None:
    """16 qubits: one statevector alone takes 1 MiB, a training batch several."""
    monkeypatch.setenv("QADL_MEMORY_LIMIT", "1MiB")
    _csv(tmp_path / "p" / "x.csv")
    program = _program(tmp_path / "p", "x.csv", n=16, batch=20)
    with pytest.raises(QadlError) as err:
        preflight(load(program))
    assert _codes(err) == ["E0803"]
    monkeypatch.setenv("QADL_MEMORY_LIMIT", "1GiB")
    preflight(load(program))


def test_run_stops_before_training_on_a_bad_attack(tmp_path, capsys) -> None:
    """`targeted 5` on a 2-class model used to fail after training; now nothing trains."""
    _csv(tmp_path / "p" / "x.csv")
    extra = (
        "attack a on clf { method fgsm(epsilon = 0.1); targeted 5 }\n"
        "evaluate clf on d.test under [clean, a]\n"
    )
    program = str(_program(tmp_path / "p", "x.csv", extra=extra))
    out = tmp_path / "out"
    assert main(["run", program, "--out", str(out), "--no-progress", "--no-plots"]) == 1
    captured = capsys.readouterr()
    assert "error[E0530]" in captured.err and "train clf" not in captured.out
    assert not (out / "clf.params.npz").exists()


def test_run_session_records_rows_read_and_honours_the_size_limit(tmp_path) -> None:
    """results.json's `data` says what each data set held; `--max-data-mb` reaches the run's
    own loader too (not only the preflight)."""
    from qadl.program import DataRef
    from qadl.run.context import RunOptions, Session

    _csv(tmp_path / "p" / "x.csv", rows=20)
    program = load(_program(tmp_path / "p", "x.csv"))
    span = program.datasets["d"].span
    session = Session(program, RunOptions(out_dir=tmp_path / "out"))
    assert len(session.split(DataRef("d", "train"), span)) == 15
    assert session.results["data"]["d"] == {
        "train": 15,
        "test": 5,
        "path": program.datasets["d"].path,
        "rows": 20,
        "header": True,
    }
    tight = Session(program, RunOptions(out_dir=tmp_path / "out", max_data_bytes=100))
    with pytest.raises(QadlError) as err:
        tight.split(DataRef("d", "train"), span)
    assert _codes(err) == ["E0714"]


def test_evaluation_memory_is_checked_for_splits_of_known_size(tmp_path, monkeypatch) -> None:
    """The evaluated split (10 test samples of a 40-row file) is simulated at once."""
    from qadl.run.resources import estimate_bytes

    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    _csv(tmp_path / "p" / "x.csv", rows=40)
    extra = (
        "attack f on clf { method fgsm(epsilon = 0.1) }\nevaluate clf on d.test under [clean, f]\n"
    )
    program = load(_program(tmp_path / "p", "x.csv", n=16, batch=2, extra=extra))
    training = estimate_bytes(16, 2, gradient=True)
    assert estimate_bytes(16, 10, gradient=True) > training  # so the limit below separates them
    monkeypatch.setenv("QADL_MEMORY_LIMIT", str(training))
    with pytest.raises(QadlError) as err:
        preflight(program)
    assert _codes(err) == ["E0803"]
    assert err.value.diagnostics[0].primary.span == program.evaluations[0].span
    monkeypatch.setenv("QADL_MEMORY_LIMIT", str(estimate_bytes(16, 10, gradient=True)))
    preflight(program)
    # `qadl run --samples 2` evaluates 2 samples: that fits where the whole split does not
    monkeypatch.setenv("QADL_MEMORY_LIMIT", str(training))
    preflight(program, max_samples=2)


def test_run_splits_the_preflights_data_without_reading_the_file_again(tmp_path) -> None:
    """`qadl run` hands the preflight's data to the session: the file is read once."""
    from qadl.program import DataRef
    from qadl.run.context import RunOptions, Session

    path = _csv(tmp_path / "p" / "x.csv", rows=20)
    program = load(_program(tmp_path / "p", "x.csv"))
    read = preflight(program).files
    path.unlink()  # a second read would now fail
    session = Session(program, RunOptions(out_dir=tmp_path / "out"), preread=dict(read))
    assert len(session.split(DataRef("d", "test"), program.datasets["d"].span)) == 5
    assert session.results["data"]["d"]["path"] == program.datasets["d"].path
