"""User data files (.npz, .csv): reading and validation with located E07xx diagnostics.

Every problem is a ``QadlError`` whose span is the ``data`` statement that named the
file, so the user sees which line of their program pulled in the bad data.

Codes: E0701 unreadable or unsupported file, E0702 empty data, E0703 missing or
malformed array, E0704 wrong feature count for the model, E0705 NaN or infinite
values, E0706 labels that are not integers in 0..C-1, E0707 input states of the
wrong size or not normalised.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from qadl.errors import QadlError
from qadl.learn.data import Dataset, stratified_split
from qadl.source import NO_SPAN, Span

__all__ = ["load_file", "read_csv", "read_file", "read_npz"]

STATE_NORM_TOL = 1e-6
"""Allowed deviation of an input state's norm from 1."""


def _fail(code: str, message: str, span: Span, help: str | None = None) -> QadlError:
    return QadlError.at(code, message, span, label="data loaded here", help=help)


def read_npz(path: Path, span: Span = NO_SPAN) -> dict[str, np.ndarray]:
    """Arrays ``X`` (or ``x``), ``y`` and optionally ``states`` from an .npz archive."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise _fail("E0701", f"cannot read data file `{path}`: {err}", span) from None
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


def _parse_row(row: list[str]) -> list[float] | None:
    try:
        return [float(cell) for cell in row]
    except ValueError:
        return None


def read_csv(path: Path, span: Span = NO_SPAN) -> dict[str, np.ndarray]:
    """Rows of numbers, the last column the label; one non-numeric header row is skipped."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise _fail("E0701", f"cannot read data file `{path}`: {err}", span) from None
    if rows and _parse_row(rows[0]) is None:
        rows = rows[1:]  # header
    parsed = []
    for number, row in enumerate(rows, start=1):
        values = _parse_row(row)
        if values is None or len(values) < 2 or len(values) != len(rows[0]):
            raise _fail(
                "E0703",
                f"`{path}`: data row {number} is not {len(rows[0])} numbers",
                span,
                help="a CSV data file has one sample per row: features, then the label",
            )
        parsed.append(values)
    if not parsed:
        raise _fail("E0702", f"data file `{path}` has no samples", span)
    table = np.asarray(parsed)
    return {"X": table[:, :-1], "y": table[:, -1]}


def _labels(
    y: np.ndarray, num_classes: int | None, path: Path, span: Span
) -> tuple[np.ndarray, int]:
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind not in "iuf" or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
        raise _fail("E0706", f"`{path}`: labels must be integers", span)
    y = y.astype(np.int64)
    classes = int(y.max()) + 1 if num_classes is None else num_classes
    if y.min() < 0 or y.max() >= classes:
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
            f"`{path}`: X must be a numeric (N, F) array with N = {n}, got shape {x.shape}",
            span,
        )
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
    if s.ndim != 2 or s.shape[0] != n or dim < 2 or dim & (dim - 1):
        raise _fail(
            "E0707", f"`{path}`: states must be (N, 2**n) with N = {n}, got {s.shape}", span
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

    Raises:
        QadlError: E0701–E0707 (see the module docstring), located at ``span``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise _fail(
            "E0701", f"unsupported data file `{path}`", span, help="use a .npz or .csv file"
        )
    if not path.is_file():
        raise _fail("E0701", f"data file `{path}` does not exist", span)
    arrays = read_npz(path, span) if suffix == ".npz" else read_csv(path, span)
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
        meta={"path": str(path)},
    )


def load_file(
    path: str | Path, *, test: float = 0.2, seed: int = 7, **options
) -> tuple[Dataset, Dataset]:
    """``read_file``, then a stratified ``(train, test)`` split (``test = 0``: all for training).

    Raises:
        QadlError: as ``read_file``; E0702 when a class has too few samples to split.
    """
    data = read_file(path, **options)
    try:
        train_idx, test_idx = stratified_split(data.y, test, seed)
    except ValueError as err:
        raise _fail(
            "E0702",
            f"cannot split `{path}` into train and test: {err}",
            options.get("span", NO_SPAN),
        ) from None
    return data.take(train_idx), data.take(test_idx)
