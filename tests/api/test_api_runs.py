"""``qadl.runs.load``: trained parameters and results of a run directory, or a located error."""

from __future__ import annotations

import json

import numpy as np
import pytest

import qadl
from qadl.errors import QadlError
from qadl.run.outputs import write_json, write_params


def _run_dir(tmp_path):
    out = tmp_path / "runs" / "api"
    write_params(out / "m.params.npz", np.array([0.1, 0.2, 0.3, 0.4]))
    write_json(out / "results.json", {"models": {"m": {"clean_test_accuracy": 0.5}}})
    return out


def test_load_gives_params_and_results(program_file, tmp_path):
    run = qadl.runs.load(_run_dir(tmp_path))
    assert run.results["models"]["m"]["clean_test_accuracy"] == 0.5
    np.testing.assert_allclose(run.params["m"], [0.1, 0.2, 0.3, 0.4])
    clf = qadl.load(program_file).classifier("m", params=run)
    np.testing.assert_allclose(clf.params, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(KeyError, match=r"no parameters for `n` \(it has: m\)"):
        qadl.load(program_file).classifier("n", params=run)


def _code(err: QadlError) -> str:
    (diag,) = err.diagnostics
    return diag.code


def test_not_a_run_directory(tmp_path):
    with pytest.raises(QadlError, match="is not a directory") as err:
        qadl.runs.load(tmp_path / "missing")
    assert _code(err.value) == "E0850"
    with pytest.raises(QadlError, match="not a run directory") as err:
        qadl.runs.load(tmp_path)
    assert _code(err.value) == "E0850"


def test_damaged_files(tmp_path):
    out = _run_dir(tmp_path)
    (out / "results.json").write_text("{ not json")
    with pytest.raises(QadlError, match=r"cannot read .*results\.json") as err:
        qadl.runs.load(out)
    assert _code(err.value) == "E0850"
    (out / "results.json").write_text(json.dumps([1, 2]))
    with pytest.raises(QadlError, match="not a JSON object") as err:
        qadl.runs.load(out)
    assert _code(err.value) == "E0850"
    (out / "results.json").write_text("{}")
    (out / "m.params.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(QadlError, match="cannot read the parameters") as err:
        qadl.runs.load(out)
    assert _code(err.value) == "E0851"
    write_params(out / "m.params.npz", np.array([1.0, np.inf]))
    with pytest.raises(QadlError, match="not a finite vector") as err:
        qadl.runs.load(out)
    assert _code(err.value) == "E0851"
    np.savez(out / "m.params.npz", weights=np.zeros(3))
    with pytest.raises(QadlError, match="no array `theta`") as err:
        qadl.runs.load(out)
    assert _code(err.value) == "E0851"


def test_run_refuses_bad_limits(program_file):
    """`qadl.runs.run` takes the command line's positive limits, checked before any work."""
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_epochs must be a positive integer"):
            qadl.runs.run(program_file, out=program_file.parent / "out", max_epochs=bad)
    with pytest.raises(ValueError, match="samples must be a positive integer"):
        qadl.runs.run(program_file, samples=0)
    assert not (program_file.parent / "out").exists()


def test_run_reports_program_errors(tmp_path):
    """A wrong program is the located QadlError `qadl run` prints."""
    path = tmp_path / "bad.qadl"
    path.write_text("model m(x: float[2]) on q[1] { ry(x[5]) q[0]\n readout probs(q[0]) }\n")
    with pytest.raises(QadlError) as err:
        qadl.runs.run(path, out=tmp_path / "out")
    assert err.value.diagnostics[0].primary.span.file == str(path)
