"""User data files: good files load; each kind of bad file gives a located QadlError."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.errors import QadlError
from qadl.learn.files import load_file, read_file
from qadl.source import Span

SPAN = Span("exp.qadl", 10, 42)


def _code(excinfo) -> str:
    (diag,) = excinfo.value.diagnostics
    assert diag.primary.span == SPAN  # the error points at the data statement
    return diag.code


def test_npz_with_states_and_csv_with_header_load(tmp_path) -> None:
    states = np.eye(4)[[0, 1, 2, 3, 0, 1]]
    np.savez(tmp_path / "d.npz", X=np.ones((6, 3)), y=[0, 1, 0, 1, 0, 1], states=states)
    data = read_file(tmp_path / "d.npz", num_features=3, num_qubits=2, num_classes=2)
    assert data.x.shape == (6, 3) and data.states.shape == (6, 4) and data.num_classes == 2
    (tmp_path / "d.csv").write_text("a,b,label\n0.1,0.2,0\n0.3,0.4,2\n0.5,0.6,1\n")
    data = read_file(tmp_path / "d.csv", span=SPAN)
    np.testing.assert_allclose(data.x, [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    np.testing.assert_array_equal(data.y, [0, 2, 1])
    assert data.num_classes == 3 and data.feature_range == (0.1, 0.6)


def test_load_file_splits_stratified(tmp_path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(40, 2)), y=np.repeat([0, 1], 20))
    train, test = load_file(tmp_path / "d.npz", test=0.25, seed=1)
    assert len(train) == 30 and len(test) == 10
    np.testing.assert_array_equal(test.class_counts(), [5, 5])


@pytest.mark.parametrize(
    ("name", "writer", "options", "code"),
    [
        ("missing.npz", None, {}, "E0701"),
        ("d.txt", lambda p: p.write_text("1,2"), {}, "E0701"),
        ("d.npz", lambda p: p.write_bytes(b"not a zip"), {}, "E0701"),
        ("d.csv", lambda p: p.write_text(""), {}, "E0702"),
        ("d.csv", lambda p: p.write_text("x,y\n"), {}, "E0702"),
        ("d.npz", lambda p: np.savez(p, X=np.zeros((0, 2)), y=np.zeros(0)), {}, "E0702"),
        ("d.npz", lambda p: np.savez(p, X=np.zeros((2, 2))), {}, "E0703"),
        ("d.csv", lambda p: p.write_text("1,2,0\n3,oops,1\n"), {}, "E0703"),
        ("d.csv", lambda p: p.write_text("1,2,0\n3,1\n"), {}, "E0703"),
        (
            "d.npz",
            lambda p: np.savez(p, X=np.zeros((2, 3)), y=[0, 1]),
            {"num_features": 4},
            "E0704",
        ),
        ("d.npz", lambda p: np.savez(p, X=[[0, np.nan], [1, 1]], y=[0, 1]), {}, "E0705"),
        ("d.csv", lambda p: p.write_text("1,inf,0\n1,2,1\n"), {}, "E0705"),
        ("d.npz", lambda p: np.savez(p, X=np.zeros((2, 2)), y=[0, 2]), {"num_classes": 2}, "E0706"),
        ("d.npz", lambda p: np.savez(p, X=np.zeros((2, 2)), y=[0, -1]), {}, "E0706"),
        ("d.csv", lambda p: p.write_text("1,2,0.5\n1,2,1\n"), {}, "E0706"),
        ("d.npz", lambda p: np.savez(p, states=np.ones((2, 3)), y=[0, 1]), {}, "E0707"),
        ("d.npz", lambda p: np.savez(p, states=np.ones((2, 4)), y=[0, 1]), {}, "E0707"),
        (
            "d.npz",
            lambda p: np.savez(p, states=np.eye(4)[:2], y=[0, 1]),
            {"num_qubits": 3},
            "E0707",
        ),
    ],
)
def test_bad_files_raise_located_errors(tmp_path, name, writer, options, code) -> None:
    path = tmp_path / name
    if writer is not None:
        writer(path)
    with pytest.raises(QadlError) as excinfo:
        read_file(path, span=SPAN, **options)
    assert _code(excinfo) == code
    assert str(path.name) in str(excinfo.value)
