"""User data files: good files load; each kind of bad file gives a located QadlError."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.errors import QadlError
from qadl.learn.files import check_split, load_file, read_file
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
        ("d.npz", lambda p: p.write_bytes(b""), {}, "E0701"),
        ("d.npz", lambda p: np.savez(p, X=np.zeros((4, 0)), y=[0, 1, 0, 1]), {}, "E0703"),
        ("d.npz", lambda p: np.savez(p, X=np.zeros(4), y=[0, 1, 0, 1]), {}, "E0703"),
        ("d.npz", lambda p: np.savez(p, X=np.zeros((2, 2)), y=np.zeros((2, 2))), {}, "E0703"),
        ("d.npz", lambda p: np.savez(p, X=[["a", "b"]], y=[0]), {}, "E0703"),
        ("d.npz", lambda p: np.savez(p, X=np.ones((2, 2)) * 1j, y=[0, 1]), {}, "E0703"),
        (
            "d.npz",
            lambda p: np.savez(p, X=np.ones((2, 2)), x=np.ones((2, 2)), y=[0, 1]),
            {},
            "E0703",
        ),
        ("d.npz", lambda p: np.savez(p, states=[["a", "b"]], y=[0]), {}, "E0707"),
        ("d.npz", lambda p: np.savez(p, X=np.ones((2, 2)), y=[0, np.nan]), {}, "E0706"),
        ("d.npz", lambda p: np.savez(p, X=np.ones((2, 2)), y=[0, 2**62]), {}, "E0706"),
        ("d.csv", lambda p: p.write_text("1,2,1e30\n1,2,0\n"), {}, "E0706"),
        ("d.csv", lambda p: p.write_text("1,2,-1\n1,2,0\n"), {}, "E0706"),
        ("d.csv", lambda p: p.write_text("1\n2\n"), {}, "E0703"),
        ("d.csv", lambda p: p.write_text("1,2,0\n\x00,1,1\n"), {}, "E0703"),
        ("d.csv", lambda p: p.write_text("a,b,c,d\n1,2,0\n"), {}, "E0703"),
        ("d.csv", lambda p: p.write_text("1,1e400,0\n1,2,1\n"), {}, "E0705"),
        ("d.csv", lambda p: p.write_bytes(b"\xff\xfe1,2\n"), {}, "E0701"),
        ("d.csv", lambda p: p.mkdir(), {}, "E0701"),
        ("d.csv", lambda p: p.write_text("x1,2,label\n1,2,0\n"), {}, "E0715"),
        ("d.csv", lambda p: p.write_text("1,x,0\n1,2,1\n"), {}, "E0715"),
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


def test_utf8_bom_is_ignored_and_no_row_is_lost(tmp_path) -> None:
    """A BOM before the first cell used to turn the first data row into a 'header'."""
    (tmp_path / "d.csv").write_text("\ufeff0.5,1,0\n2,3,1\n", encoding="utf-8")
    data = read_file(tmp_path / "d.csv")
    assert data.meta["rows"] == 2 and data.meta["header"] is False
    np.testing.assert_allclose(data.x, [[0.5, 1.0], [2.0, 3.0]])
    (tmp_path / "h.csv").write_text("\ufeffa,b,y\n0.5,1,0\n2,3,1\n", encoding="utf-8")
    data = read_file(tmp_path / "h.csv")
    assert data.meta["rows"] == 2 and data.meta["header"] is True


def test_readers_report_rows_read(tmp_path) -> None:
    np.savez(tmp_path / "d.npz", X=np.ones((5, 2)), y=[0, 1, 0, 1, 0])
    assert read_file(tmp_path / "d.npz").meta == {
        "path": str(tmp_path / "d.npz"),
        "rows": 5,
        "header": False,
    }
    rows = "".join(f"{i},{i % 3}\n" for i in range(5000))  # more than one parse chunk
    (tmp_path / "d.csv").write_text(rows)
    data = read_file(tmp_path / "d.csv")
    assert data.meta["rows"] == 5000 and data.x.shape == (5000, 1)
    np.testing.assert_array_equal(data.y[:4], [0, 1, 2, 0])


def test_npy_renamed_npz_is_a_located_error_not_a_type_error(tmp_path) -> None:
    """np.load of an .npy returns an array, which used to crash `with np.load(...)`."""
    np.save(tmp_path / "d.npy", np.zeros((3, 3)))
    (tmp_path / "d.npy").rename(tmp_path / "d.npz")
    with pytest.raises(QadlError) as excinfo:
        read_file(tmp_path / "d.npz", span=SPAN)
    assert _code(excinfo) == "E0701"
    assert "numpy.save" in excinfo.value.diagnostics[0].help


def test_object_arrays_are_never_unpickled(tmp_path) -> None:
    """An .npz holding a pickled object is refused, and the pickle never runs."""
    import io
    import zipfile

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(tmp_path / "d.npz", "w") as archive:
        archive.writestr("X.npy", buffer.getvalue())
        archive.writestr("y.npy", buffer.getvalue())
    with pytest.raises(QadlError) as excinfo:
        read_file(tmp_path / "d.npz", span=SPAN)
    assert _code(excinfo) == "E0701" and not marker.exists()


def test_size_limit_refuses_large_files_before_reading(tmp_path) -> None:
    (tmp_path / "d.csv").write_text("1,2,0\n" * 1000)  # 6000 bytes
    with pytest.raises(QadlError) as excinfo:
        read_file(tmp_path / "d.csv", span=SPAN, max_bytes=5000)
    assert _code(excinfo) == "E0714" and "--max-data-mb" in excinfo.value.diagnostics[0].help
    assert len(read_file(tmp_path / "d.csv", max_bytes=6000)) == 1000
    # a small compressed archive whose arrays unpack to 8 MB (a zip bomb in miniature)
    np.savez_compressed(tmp_path / "z.npz", X=np.zeros((500_000, 2)), y=np.zeros(500_000))
    assert (tmp_path / "z.npz").stat().st_size < 100_000
    with pytest.raises(QadlError) as excinfo:
        read_file(tmp_path / "z.npz", span=SPAN, max_bytes=1_000_000)
    assert _code(excinfo) == "E0714"


def test_split_problems_are_located_errors(tmp_path) -> None:
    (tmp_path / "d.csv").write_text("1,2,0\n1,2,1\n3,3,1\n")
    data = read_file(tmp_path / "d.csv")
    with pytest.raises(QadlError) as excinfo:
        check_split(data, 0.25, SPAN)
    assert _code(excinfo) == "E0702" and "only 1 sample" in str(excinfo.value)
    check_split(data, 0.0, SPAN)  # no test part: nothing to stratify
    train, test = load_file(tmp_path / "d.csv", test=0.0)
    assert len(train) == 3 and len(test) == 0


def test_npy_header_promising_terabytes_is_refused_before_allocating(tmp_path) -> None:
    """NumPy allocates what a member's header declares before reading: a 200-byte archive
    claiming a 10^6 x 10^6 array used to end in MemoryError."""
    import io
    import zipfile

    def member(shape, descr, payload):
        buffer = io.BytesIO()
        header = {"descr": descr, "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(buffer, header)
        return buffer.getvalue() + payload

    with zipfile.ZipFile(tmp_path / "d.npz", "w") as archive:
        archive.writestr("X.npy", member((10**6, 10**6), "<f8", b"\0" * 64))
        archive.writestr("y.npy", member((2,), "<i8", b"\0" * 16))
    with pytest.raises(QadlError) as excinfo:
        read_file(tmp_path / "d.npz", span=SPAN)
    assert _code(excinfo) == "E0701" and "declares shape" in str(excinfo.value)


def test_unsearchable_directory_is_a_located_error(tmp_path, monkeypatch) -> None:
    """`Path.exists` raises PermissionError for a path below a directory we may not search
    (simulated: the suite may run as root, which may search everything)."""
    from pathlib import Path

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "exists", denied)
    with pytest.raises(QadlError) as excinfo:
        read_file(tmp_path / "locked" / "d.csv", span=SPAN)
    assert _code(excinfo) == "E0701" and "Permission denied" in str(excinfo.value)
