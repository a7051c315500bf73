"""Fuzzing the data-file readers: every mutated file loads or gives a located E07xx error.

Mutations of a valid CSV and a valid .npz (byte flips, truncation, inserted bytes, dropped
and duplicated cells) must never surface as a Python exception other than ``QadlError``,
and every error must point at the ``data`` statement.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from qadl.errors import QadlError
from qadl.learn.files import read_file
from qadl.source import Span

SPAN = Span("fuzz.qadl", 3, 40)
GARBAGE = (b"\x00", b"\xff", b",", b"\n", b'"', b"nan", b"-", b"e", b"\xef\xbb\xbf", b"x")


def _valid_csv() -> bytes:
    rows = ["x1,x2,label"] + [f"{i / 10:.2f},{(i * 7) % 5 - 2},{i % 3}" for i in range(12)]
    return ("\n".join(rows) + "\n").encode()


def _valid_npz() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buffer, X=rng.normal(size=(8, 3)), y=np.arange(8) % 2)
    return buffer.getvalue()


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(4))
        at = int(rng.integers(len(out) + 1))
        if kind == 0 and out:  # flip a byte
            out[min(at, len(out) - 1)] ^= 1 << int(rng.integers(8))
        elif kind == 1:  # truncate
            del out[at:]
        elif kind == 2:  # insert garbage
            out[at:at] = GARBAGE[int(rng.integers(len(GARBAGE)))]
        elif out:  # duplicate a slice
            end = min(len(out), at + int(rng.integers(1, 12)))
            out[at:at] = out[at:end]
    return bytes(out)


def _read_or_error(path) -> None:
    try:
        data = read_file(path, span=SPAN)
    except QadlError as err:
        (diag,) = err.diagnostics
        assert diag.code.startswith("E07") and diag.primary.span == SPAN
        return
    assert len(data) == data.meta["rows"] > 0
    assert data.x is None or np.all(np.isfinite(data.x))


@pytest.mark.parametrize("seed", range(4))
def test_mutated_csv_files_load_or_fail_located(tmp_path, seed) -> None:
    rng = np.random.default_rng(seed)
    base = _valid_csv()
    for i in range(60):
        path = tmp_path / f"m{i}.csv"
        path.write_bytes(_mutate(base, rng))
        _read_or_error(path)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_npz_files_load_or_fail_located(tmp_path, seed) -> None:
    rng = np.random.default_rng(100 + seed)
    base = _valid_npz()
    for i in range(60):
        path = tmp_path / f"m{i}.npz"
        path.write_bytes(_mutate(base, rng))
        _read_or_error(path)


def test_unsupported_zip_compression_is_a_located_error(tmp_path) -> None:
    """Found by this fuzzer: a flipped compression-method field raised NotImplementedError."""
    raw = bytearray(_valid_npz())
    # compression method: offset 8 of every local header, offset 10 of every central entry
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = raw.find(signature)
        while start != -1:
            raw[start + offset : start + offset + 2] = (99).to_bytes(2, "little")
            start = raw.find(signature, start + 4)
    path = tmp_path / "d.npz"
    path.write_bytes(bytes(raw))
    with pytest.raises(QadlError) as excinfo:
        read_file(path, span=SPAN)
    assert excinfo.value.diagnostics[0].code == "E0701"


@pytest.mark.parametrize("seed", range(3))
def test_fast_csv_reader_agrees_with_the_row_by_row_reader(tmp_path, seed) -> None:
    """NumPy's C reader is only a shortcut: on every mutated file it either defers (None)
    or returns exactly what the row-by-row reader returns."""
    from qadl.learn.files import _fast_csv, _slow_csv

    rng = np.random.default_rng(200 + seed)
    base = _valid_csv()
    agreed = 0
    for i in range(80):
        path = tmp_path / f"m{i}.csv"
        path.write_bytes(_mutate(base, rng))
        try:
            fast = _fast_csv(path)
        except (UnicodeDecodeError, OSError):
            continue
        if fast is None:
            continue
        table, header = _slow_csv(path, SPAN)  # must not raise where the fast one succeeded
        assert fast[1] == header
        np.testing.assert_array_equal(fast[0], table)
        agreed += 1
    assert agreed >= 3  # the shortcut was really taken
