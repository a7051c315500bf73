"""User data files (.npz, .csv): reading and validation with located E07xx diagnostics.

Every problem is a ``QadlError`` whose span is the ``data`` statement that named the
file, so the user sees which line of their program pulled in the bad data.

Codes: E0701 unreadable or unsupported file, E0702 empty data (or too few samples to
split), E0703 missing or malformed array or CSV row, E0704 wrong feature count for the
model, E0705 NaN or infinite values, E0706 labels that are not integers in 0..C-1, E0707
input states of the wrong size or not normalised, E0714 a file over the size limit, E0715
a CSV whose first row could be a header or data.

Files are read whole, never streamed: a file (for an .npz, also the sum of its uncompressed
arrays) larger than ``MAX_DATA_BYTES`` is refused before anything is read, so a huge file
is a clear error instead of a ``MemoryError`` minutes later.
"""

from __future__ import annotations

import csv
import itertools
import math
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from qadl.errors import QadlError
from qadl.learn.data import Dataset, split_problem, stratified_split
from qadl.source import NO_SPAN, Span

__all__ = [
    "MAX_DATA_BYTES",
    "check_split",
    "load_file",
    "read_csv",
    "read_file",
    "read_npz",
    "split_data",
]

STATE_NORM_TOL = 1e-6
"""Allowed deviation of an input state's norm from 1."""

MAX_DATA_BYTES = 1 << 30
"""Default size limit of one data file: 1 GiB (``qadl check/run --max-data-mb`` changes it)."""

MAX_CLASSES = 1 << 16
"""Labels must lie below this (a larger label is a corrupt file, not a class)."""

_ZIP_ERRORS = (
    OSError,
    ValueError,  # also numpy's refusal of object (pickled) arrays
    EOFError,
    KeyError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,  # a zip version or compression method Python cannot read
    RuntimeError,  # an encrypted zip member
)
"""What reading a corrupt or hostile .npz raises (found by fuzzing the reader)."""

_CSV_CHUNK = 4096
"""Rows parsed into one float block at a time: memory stays ~8 bytes per number."""


def _fail(code: str, message: str, span: Span, help: str | None = None) -> QadlError:
    return QadlError.at(code, message, span, label="data loaded here", help=help)


def _too_large(path: Path, size: int, limit: int, span: Span, what: str) -> QadlError:
    return _fail(
        "E0714",
        f"data file `{path}` is too large: {what} {size / 2**20:.1f} MiB, "
        f"the limit is {limit / 2**20:.1f} MiB",
        span,
        help="use a smaller file, or raise the limit with `--max-data-mb N` "
        "(the whole file is held in memory)",
    )


def _check_size(path: Path, max_bytes: int, span: Span) -> None:
    size = path.stat().st_size
    if size > max_bytes:
        raise _too_large(path, size, max_bytes, span, "it holds")


def read_npz(
    path: Path, span: Span = NO_SPAN, max_bytes: int = MAX_DATA_BYTES
) -> dict[str, np.ndarray]:
    """Arrays ``X`` (or ``x``), ``y`` and optionally ``states`` from an .npz archive.

    Never unpickles (``allow_pickle=False``); refuses archives whose arrays would take more
    than ``max_bytes`` once uncompressed (checked from the zip directory, before reading).
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except _ZIP_ERRORS as err:
        raise _fail(
            "E0701",
            f"data file `{path}` is not an .npz archive ({err})",
            span,
            help="write it with numpy.savez(path, X=..., y=...); numpy.save writes a "
            "single-array .npy file, which is not an .npz",
        ) from None
    if unpacked > max_bytes:
        raise _too_large(path, unpacked, max_bytes, span, "its arrays take")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_npy_headers(archive)
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except _ZIP_ERRORS as err:
        raise _fail("E0701", f"cannot read data file `{path}`: {err}", span) from None
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):  # a zip member that is not a .npy array
            raise _fail("E0703", f"`{path}`: member `{name}` is not a numpy array", span)
    if "X" in arrays and "x" in arrays:
        raise _fail("E0703", f"`{path}` has both `X` and `x`: which are the features?", span)
    if "X" not in arrays and "x" in arrays:
        arrays["X"] = arrays.pop("x")
    if "y" not in arrays or ("X" not in arrays and "states" not in arrays):
        raise _fail(
            "E0703",
            f"`{path}` must contain arrays `X` (or `states`) and `y`",
            span,
            help=f"found arrays: {', '.join(sorted(arrays)) or 'none'}",
        )
    return arrays


def _check_npy_headers(archive: zipfile.ZipFile) -> None:
    """Refuse members whose .npy header promises more data than the member holds.

    NumPy allocates the array a header declares before reading it, so a small archive
    with a header claiming terabytes would end in ``MemoryError``; object arrays are
    refused here too (they would need unpickling).
    """
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in readers:
                raise ValueError(f"member `{info.filename}`: unsupported .npy version {version}")
            shape, _, dtype = readers[version](member)
        if dtype.hasobject:
            raise ValueError(f"member `{info.filename}` is an object array (never unpickled)")
        declared = math.prod(shape) * dtype.itemsize
        if declared > info.file_size:
            raise ValueError(
                f"member `{info.filename}` declares shape {shape} ({declared} bytes) "
                f"but holds {info.file_size} bytes"
            )


def _numbers(row: list[str]) -> list[float | None]:
    """Each cell as a float, or None where it is not a number."""
    out: list[float | None] = []
    for cell in row:
        try:
            out.append(float(cell))
        except ValueError:
            out.append(None)
    return out


def _is_header(row: list[str], line: int, path: Path, span: Span) -> bool:
    """True for a row of names, False for a row of numbers; a mixed row is refused.

    A row that mixes numbers and text could be a header with numeric column names or a
    data row with a typo; guessing either way silently loses or invents a sample.
    """
    cells = _numbers(row)
    if all(c is None for c in cells):
        return True
    if all(c is not None for c in cells):
        return False
    raise _fail(
        "E0715",
        f"`{path}` line {line} mixes numbers and text: it could be a header or a data row",
        span,
        help="a header row holds only names (e.g. `x1,x2,label`), a data row only numbers",
    )


def _csv_rows(reader: Iterable[list[str]]) -> Iterable[list[str]]:
    return (row for row in reader if row and any(cell.strip() for cell in row))


def read_csv(
    path: Path, span: Span = NO_SPAN, max_bytes: int = MAX_DATA_BYTES
) -> tuple[dict[str, np.ndarray], bool]:
    """Rows of numbers, the last column the label, and whether a header row was skipped.

    A UTF-8 byte-order mark is ignored. The first non-blank row is a header when it holds
    only text, data when it holds only numbers, and an error (E0715) otherwise. Clean files
    are parsed by NumPy's C reader; a file it refuses is read again row by row, which names
    the first bad line (the row-by-row reader defines what is accepted).
    """
    path = Path(path)
    try:
        _check_size(path, max_bytes, span)
        fast = _fast_csv(path)
        table, header = fast if fast is not None else _slow_csv(path, span)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise _fail("E0701", f"cannot read data file `{path}`: {err}", span) from None
    return {"X": table[:, :-1], "y": table[:, -1]}, header


def _fast_csv(path: Path) -> tuple[np.ndarray, bool] | None:
    """``np.loadtxt`` after the header decision, or None where the slow reader must decide
    (quotes in the first row, a row NumPy refuses, no data rows, a ragged table)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for line in fh:
            if line.strip().strip(",").strip():
                break
        else:
            return None
        if '"' in line:
            return None
        row = line.rstrip("\r\n").split(",")
        cells = _numbers(row)
        if None in cells and any(c is not None for c in cells):
            return None  # a mixed first row: the slow reader refuses it with its line
        header = None in cells
        rows = fh if header else itertools.chain([line], fh)
        try:
            with warnings.catch_warnings():  # "input contained no data": the slow reader says so
                warnings.simplefilter("ignore", UserWarning)
                table = np.loadtxt(rows, delimiter=",", ndmin=2, dtype=float, comments=None)
        except ValueError:
            return None
    if table.shape[0] == 0 or table.shape[1] != len(row) or len(row) < 2:
        return None
    return table, header


def _slow_csv(path: Path, span: Span) -> tuple[np.ndarray, bool]:
    """The row-by-row reader: exact rules, and the line of the first bad row."""
    blocks: list[np.ndarray] = []
    chunk: list[list[float]] = []
    header = False
    width = 0
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        for index, row in enumerate(_csv_rows(reader)):
            if index == 0:
                width = len(row)
                header = _is_header(row, reader.line_num, path, span)
                if header:
                    continue
            chunk.append(_data_row(row, width, reader.line_num, path, span))
            if len(chunk) == _CSV_CHUNK:
                blocks.append(np.array(chunk, dtype=float))
                chunk = []
    if chunk:
        blocks.append(np.array(chunk, dtype=float))
    if not blocks:
        raise _fail("E0702", f"data file `{path}` has no samples", span)
    return np.concatenate(blocks), header


def _data_row(row: list[str], width: int, line: int, path: Path, span: Span) -> list[float]:
    values = _numbers(row)
    if width < 2 or len(values) != width or any(v is None for v in values):
        raise _fail(
            "E0703",
            f"`{path}` line {line}: expected {max(width, 2)} numbers, found `{','.join(row)}`",
            span,
            help="a CSV data file has one sample per row: features, then the label",
        )
    return values  # type: ignore[return-value]  # no None left


def _labels(
    y: np.ndarray, num_classes: int | None, path: Path, span: Span
) -> tuple[np.ndarray, int]:
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
        raise _fail("E0703", f"`{path}`: y must be a vector of labels, got shape {y.shape}", span)
    y = y.reshape(-1)
    if y.dtype.kind not in "iuf" or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
        raise _fail("E0706", f"`{path}`: labels must be integers", span)
    if y.min() < 0 or y.max() >= MAX_CLASSES:
        raise _fail(
            "E0706",
            f"`{path}`: labels must lie in 0..{MAX_CLASSES - 1}, found {y.min():g}..{y.max():g}",
            span,
            help="label the classes 0, 1, 2, ...",
        )
    y = y.astype(np.int64)
    classes = int(y.max()) + 1 if num_classes is None else num_classes
    if y.max() >= classes:
        raise _fail(
            "E0706",
            f"`{path}`: labels must lie in 0..{classes - 1}, found {y.min()}..{y.max()}",
            span,
            help=f"the model reads out {classes} classes",
        )
    return y, classes


def _features(
    x: np.ndarray, n: int, num_features: int | None, path: Path, span: Span
) -> np.ndarray:
    if x.dtype.kind not in "iuf" or x.ndim != 2 or x.shape[0] != n:
        raise _fail(
            "E0703",
            f"`{path}`: X must be a real (N, F) array with N = {n}, "
            f"got {x.dtype} of shape {x.shape}",
            span,
        )
    if x.shape[1] == 0:
        raise _fail("E0703", f"`{path}`: X has no features (shape {x.shape})", span)
    if num_features is not None and x.shape[1] != num_features:
        raise _fail(
            "E0704",
            f"`{path}` has {x.shape[1]} features per sample, the model takes {num_features}",
            span,
        )
    if not np.all(np.isfinite(x)):
        bad = int(np.argwhere(~np.isfinite(x))[0, 0])
        raise _fail("E0705", f"`{path}`: NaN or infinite feature in sample {bad}", span)
    return x.astype(float)


def _states(s: np.ndarray, n: int, num_qubits: int | None, path: Path, span: Span) -> np.ndarray:
    dim = s.shape[1] if s.ndim == 2 else 0
    if s.dtype.kind not in "iufc" or s.ndim != 2 or s.shape[0] != n or dim < 2 or dim & (dim - 1):
        raise _fail(
            "E0707",
            f"`{path}`: states must be a numeric (N, 2**n) array with N = {n}, "
            f"got {s.dtype} of shape {s.shape}",
            span,
        )
    if num_qubits is not None and dim != 1 << num_qubits:
        raise _fail(
            "E0707",
            f"`{path}` holds {dim.bit_length() - 1}-qubit states, "
            f"the model acts on {num_qubits} qubits",
            span,
        )
    if not np.all(np.isfinite(s)):
        raise _fail("E0705", f"`{path}`: NaN or infinite amplitude in states", span)
    norms = np.linalg.norm(s, axis=1)
    if np.any(np.abs(norms - 1.0) > STATE_NORM_TOL):
        bad = int(np.argmax(np.abs(norms - 1.0)))
        raise _fail("E0707", f"`{path}`: state {bad} has norm {norms[bad]:.6g}, not 1", span)
    return s.astype(complex)


def read_file(
    path: str | Path,
    *,
    span: Span = NO_SPAN,
    num_features: int | None = None,
    num_classes: int | None = None,
    num_qubits: int | None = None,
    feature_range: tuple[float, float] | None = None,
    image_shape: tuple[int, int] | None = None,
    max_bytes: int = MAX_DATA_BYTES,
) -> Dataset:
    """Read and validate a user data file as one ``Dataset``.

    Args:
        path: an ``.npz`` (arrays ``X``/``x``, ``y``, optional ``states``) or ``.csv`` file.
        span: the ``data`` statement naming the file (where errors point).
        num_features: the model's input length, if it takes features.
        num_classes: the model's number of classes (default: max label + 1).
        num_qubits: the model's register, if it takes input states.
        feature_range: valid range of a feature (attacks clip to it); default: the data's.
        image_shape: ``(h, w)`` when rows are flattened images.
        max_bytes: refuse larger files (E0714) instead of running out of memory.

    Returns:
        The data set; ``meta`` records ``path``, ``rows`` (samples read) and ``header``
        (whether a CSV header row was skipped).

    Raises:
        QadlError: E0701–E0707, E0714, E0715 (see the module docstring), located at ``span``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise _fail(
            "E0701", f"unsupported data file `{path}`", span, help="use a .npz or .csv file"
        )
    try:
        exists, regular = path.exists(), path.is_file()
    except OSError as err:  # e.g. a directory on the way that may not be searched
        raise _fail("E0701", f"cannot read data file `{path}`: {err}", span) from None
    if not exists:
        raise _fail("E0701", f"data file `{path}` does not exist", span)
    if not regular:  # a FIFO or device would block or never end
        raise _fail("E0701", f"data file `{path}` is not a regular file", span)
    if suffix == ".npz":
        arrays, header = read_npz(path, span, max_bytes), False
    else:
        arrays, header = read_csv(path, span, max_bytes)
    y_raw = np.asarray(arrays["y"])
    if y_raw.size == 0:
        raise _fail("E0702", f"data file `{path}` has no samples", span)
    y, classes = _labels(y_raw, num_classes, path, span)
    x = (
        None
        if "X" not in arrays
        else _features(np.asarray(arrays["X"]), y.size, num_features, path, span)
    )
    states = (
        None
        if "states" not in arrays
        else _states(np.asarray(arrays["states"]), y.size, num_qubits, path, span)
    )
    if x is not None and feature_range is None:
        feature_range = (float(x.min()), float(x.max()))
    if image_shape is not None and x is not None and image_shape[0] * image_shape[1] != x.shape[1]:
        raise _fail(
            "E0704",
            f"`{path}`: {x.shape[1]} features do not form a "
            f"{image_shape[0]}x{image_shape[1]} image",
            span,
        )
    return Dataset(
        x=x,
        states=states,
        y=y,
        num_classes=classes,
        feature_range=feature_range,
        image_shape=image_shape,
        name=path.stem,
        meta={"path": str(path), "rows": int(y.size), "header": header},
    )


def check_split(data: Dataset, test: float, span: Span = NO_SPAN) -> None:
    """Refuse (E0702) labels that a stratified split with fraction ``test`` cannot divide."""
    problem = split_problem(data.y, test)
    if problem is not None:
        raise _fail(
            "E0702",
            f"cannot split `{data.meta.get('path', data.name)}` into train and test: {problem}",
            span,
            help="use more samples, or another `test` fraction",
        )


def load_file(
    path: str | Path, *, test: float = 0.2, seed: int = 7, **options
) -> tuple[Dataset, Dataset]:
    """``read_file``, then a stratified ``(train, test)`` split (``test = 0``: all for training).

    Raises:
        QadlError: as ``read_file``; E0702 when a class has too few samples to split.
    """
    return split_data(read_file(path, **options), test, seed, options.get("span", NO_SPAN))


def split_data(
    data: Dataset, test: float, seed: int, span: Span = NO_SPAN
) -> tuple[Dataset, Dataset]:
    """A stratified ``(train, test)`` split of a data set read by ``read_file``.

    Raises:
        QadlError: E0702 when a class has too few samples to split.
    """
    check_split(data, test, span)
    train_idx, test_idx = stratified_split(data.y, test, seed)
    return data.take(train_idx), data.take(test_idx)
