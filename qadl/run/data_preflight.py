"""The data part of the preflight: data files read under the data-path policy, every data
set's shape known without generating it, and whether it fits the models it feeds.

Reports data files outside the allowed directories (E0713), unreadable, malformed or too
large (E0701–E0707, E0714, E0715), too few samples to split (E0702); built-in data options
that cannot give a data set (E0718, E0702); data that does not fit its model (E0722).
``DataChecks`` is mixed into the preflight pass (``qadl.run.preflight``).
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from qadl.diagnostics import DiagnosticBag
from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.files import MAX_DATA_BYTES, check_split, read_file
from qadl.program import DataRef, DataSpec, Model, Program
from qadl.run.argtypes import int_at_least
from qadl.run.tabular_checks import (
    digits_pca_problem,
    file_steps_problem,
    preprocess_of,
    stepped_shape,
    tabular_problem,
    tabular_shape,
    tabular_source,
)
from qadl.source import Span

__all__ = [
    "DataChecks",
    "DataPolicy",
    "DataShape",
    "add_data_flags",
    "policy_from",
    "shown",
]

_QUANTUM_QUBITS = {"builtin.aubry_andre": 10, "builtin.ising": 8, "builtin.cluster_ising": 8}
"""Default ``qubits`` of the quantum-data generators (``qadl.run.configs.load_data``)."""


@dataclass(frozen=True)
class DataPolicy:
    """Where data files may come from, and how large they may be.

    A data file must lie (after following symlinks) inside the program's directory or one
    of ``roots``, unless ``allow_outside``: a program from someone else cannot pull
    arbitrary local files into its training data and outputs.
    """

    roots: tuple[Path, ...] = ()
    """Extra directories data files may come from (``--data-root DIR``)."""
    allow_outside: bool = False
    """Any readable path is allowed (``--allow-data-outside``)."""
    max_bytes: int = MAX_DATA_BYTES
    """Size limit of one data file (``--max-data-mb``)."""


@dataclass(frozen=True)
class DataShape:
    """What one ``data`` set feeds a model, known without generating it."""

    features: int | None
    """Features per sample, or None when it holds no features."""
    qubits: int | None
    """Qubits of its input states, or None when it holds no states."""
    classes: int
    """Labels lie in ``0 .. classes - 1``."""
    feature_range: tuple[float, float] | None = None
    """Smallest and largest feature value, where known without generating the data."""


def shown(path: Path) -> str:
    """A path as the user should see it: relative to the working directory when it lies
    below it, absolute otherwise (``../../etc/x`` hides where a file is)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def _allowed(path: Path, program_dir: Path, policy: DataPolicy) -> bool:
    if policy.allow_outside:
        return True
    real = path.resolve()  # follows every symlink, so a link cannot escape
    roots = (program_dir, *policy.roots)
    return any(real.is_relative_to(root.resolve()) for root in roots)


def _read(spec: DataSpec, program_dir: Path, policy: DataPolicy) -> Dataset:
    path = Path(spec.path or "")
    try:
        allowed = _allowed(path, program_dir, policy)
    except (OSError, RuntimeError) as err:  # a symlink loop (RuntimeError before 3.13)
        raise QadlError.at(
            "E0701", f"data file `{shown(path)}`: {err}", spec.span, label="data loaded here"
        ) from None
    if not allowed:
        real = path.resolve()
        via = "" if real == Path(os.path.abspath(path)) else f" (a link to `{real}`)"
        raise QadlError.at(
            "E0713",
            f"data file `{shown(path)}`{via} lies outside the program's directory "
            f"`{shown(program_dir)}`",
            spec.span,
            label="data loaded here",
            help="move the file next to the program, or allow its directory with "
            "`--data-root DIR` (any path: `--allow-data-outside`)",
        )
    # messages name the file as the user sees it; the data set records its full path
    data = read_file(shown(path), span=spec.span, max_bytes=policy.max_bytes)
    check_split(data, _test(spec), spec.span)
    return replace(data, meta={**data.meta, "path": str(path)})


def _builtin_shape(spec: DataSpec) -> DataShape | None:
    if tabular_source(spec) is not None:
        if tabular_problem(spec) is not None:  # reported once, by `_builtin_problem`
            return None
        features, classes, known = tabular_shape(spec)
        return DataShape(features, None, classes, known)
    if spec.source == "builtin.digits":
        h, w = spec.options.get("size", (16, 16))
        classes = len(tuple(spec.options.get("classes", (1, 9))))
        # l2 and minmax put every pixel in [0, 1]; `none` keeps raw values (not known here)
        known = spec.options.get("normalize", "l2") in ("l2", "minmax")
        steps = preprocess_of(spec.options)
        features = int(h) * int(w) if steps.pca is None else steps.pca
        pixels = (0.0, 1.0) if known else None
        return DataShape(features, None, classes, steps.feature_range(pixels))
    if spec.source in _QUANTUM_QUBITS:
        return DataShape(None, int(spec.options.get("qubits", _QUANTUM_QUBITS[spec.source])), 2)
    if spec.source == "builtin.havlicek":  # points of [0, 2π)², two classes
        return DataShape(2, None, 2, (0.0, 2 * math.pi))
    return None


def _builtin_problem(spec: DataSpec) -> tuple[str, str, str] | None:
    """(code, message, help) for options of a built-in data set that cannot give the data
    set they promise, or None."""
    opts = spec.options
    if tabular_source(spec) is not None:
        return tabular_problem(spec)
    if spec.source == "builtin.digits":
        classes = [int(c) for c in opts.get("classes", (1, 9))]
        if len(set(classes)) != len(classes):
            return "E0718", f"`classes` lists a digit twice: {classes}", "list each digit once"
        return digits_pca_problem(spec)
    if spec.source == "builtin.havlicek":  # half of the samples in each class
        from qadl.learn.data import split_problem

        n = int(opts.get("samples", 200))
        problem = split_problem(np.repeat(np.arange(2), [n // 2, n - n // 2]), _test(spec))
        if problem is not None:
            return _unsplittable(spec, problem)
        return None
    if spec.source not in _QUANTUM_QUBITS:
        return None
    from qadl.learn.data import split_problem
    from qadl.learn.quantum_data import MAX_QUBITS

    qubits = int(opts.get("qubits", _QUANTUM_QUBITS[spec.source]))
    if qubits > MAX_QUBITS:
        return (
            "E0718",
            f"quantum data of {qubits} qubits: the generators stop at {MAX_QUBITS}",
            f"use at most {MAX_QUBITS} qubits",
        )
    field = opts.get("field")
    if field is not None and not float(field[0]) < float(field[1]) <= 2.0:
        return (
            "E0718",
            f"`field = [{field[0]}, {field[1]}]`: the classes take h in [0, a] and [b, 2], "
            "so a < b <= 2 is needed",
            "e.g. field = [0.8, 1.2]",
        )
    per_class = int(opts.get("samples", 600 if spec.source == "builtin.aubry_andre" else 200)) // 2
    labels = np.repeat(np.arange(2), per_class)
    problem = "no samples in a class" if per_class == 0 else split_problem(labels, _test(spec))
    return None if problem is None else _unsplittable(spec, problem)


def _unsplittable(spec: DataSpec, problem: str) -> tuple[str, str, str]:
    """The E0702 (code, message, help) of a generated two-class data set that cannot split."""
    return (
        "E0702",
        f"cannot split `{spec.name}` into train and test: {problem}",
        "use more `samples` (half go to each class), or another `test` fraction",
    )


def _test(spec: DataSpec) -> float:
    """The held-out fraction (the defaults of ``qadl.run.configs.load_data``)."""
    return float(spec.options.get("test", 0.2))


def _file_shape(train: Dataset) -> DataShape:
    return DataShape(
        train.num_features if train.x is not None else None,
        train.num_qubits if train.states is not None else None,
        train.num_classes,
        train.feature_range,
    )


def _fit_problem(model: Model, shape: DataShape, data: str) -> str | None:
    """Why data of ``shape`` cannot feed ``model``, or None."""
    m, d = f"model `{model.name}`", f"data `{data}`"
    if model.input_kind == "state":
        if shape.qubits is None:
            return f"{m} takes input states of {model.num_qubits} qubits, {d} holds none"
        if shape.qubits != model.num_qubits:
            return f"{m} takes {model.num_qubits}-qubit states, {d} holds {shape.qubits}-qubit ones"
    elif model.input_kind == "features":
        if shape.features is None:
            return f"{m} takes {model.num_features} features, {d} holds none"
        if shape.features != model.num_features:
            return f"{m} takes {model.num_features} features per sample, {d} has {shape.features}"
    if shape.classes > model.num_classes:
        return (
            f"{d} has labels up to {shape.classes - 1}, but {m} reads out "
            f"{model.num_classes} classes (0..{model.num_classes - 1})"
        )
    return None


class DataChecks:
    """The preflight pass's data checks (a mixin of ``qadl.run.preflight._Preflight``, which
    provides ``guard``, ``model`` and ``error``)."""

    program: Program
    policy: DataPolicy
    bag: DiagnosticBag
    files: dict[str, Dataset]
    shapes: dict[str, DataShape]

    def data(self) -> None:
        program_dir = Path(self.program.path).resolve().parent
        for name, spec in self.program.datasets.items():
            if spec.source == "file":
                data = self.guard(_read, spec, program_dir, self.policy)
                if data is not None:
                    self.files[name] = data
                    problem = file_steps_problem(spec, data)
                    if problem is not None:
                        code, message, help = problem
                        self.bag.error(
                            code, message, spec.span, label="data declared here", help=help
                        )
                    else:
                        self.shapes[name] = replace(_file_shape(data), **stepped_shape(spec, data))
            else:
                problem = _builtin_problem(spec)
                if problem is not None:
                    code, message, help = problem
                    self.bag.error(code, message, spec.span, label="data declared here", help=help)
                shape = _builtin_shape(spec)
                if shape is not None:
                    self.shapes[name] = shape

    def fits(self, name: str, dataset: str, span: Span) -> None:
        model, shape = self.model(name), self.shapes.get(dataset)
        if model is None or shape is None:
            return
        problem = _fit_problem(model, shape, dataset)
        if problem is not None:
            self.error(
                "E0722", problem, span, help="the model's input and classes must match the data"
            )

    def split_size(self, ref: DataRef) -> int | None:
        """Samples in a data split, where known without generating the data (not digits)."""
        spec = self.program.datasets.get(ref.dataset)
        if spec is None:
            return None
        if spec.source == "file":
            data = self.files.get(ref.dataset)
            total = None if data is None else len(data)
        elif spec.source in _QUANTUM_QUBITS:
            default = 600 if spec.source == "builtin.aubry_andre" else 200
            total = int(spec.options.get("samples", default)) // 2 * 2
        else:
            return None
        if total is None:
            return None
        held_out = math.ceil(_test(spec) * total)  # as the stratified split
        return {"test": held_out, "train": total - held_out}.get(ref.split or "", total)


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    """The data-policy flags shared by ``qadl check`` and ``qadl run``."""
    parser.add_argument(
        "--data-root",
        action="append",
        default=[],
        metavar="DIR",
        help="also allow data files under DIR (default: only under the program's directory)",
    )
    parser.add_argument(
        "--allow-data-outside",
        action="store_true",
        help="allow data files anywhere (only for programs you trust)",
    )
    parser.add_argument(
        "--max-data-mb",
        type=int_at_least(1),
        default=MAX_DATA_BYTES >> 20,
        metavar="N",
        help=f"refuse data files over N MiB (default {MAX_DATA_BYTES >> 20})",
    )


def policy_from(args: argparse.Namespace) -> DataPolicy:
    """The ``DataPolicy`` of parsed ``add_data_flags`` arguments."""
    return DataPolicy(
        roots=tuple(Path(d) for d in args.data_root),
        allow_outside=args.allow_data_outside,
        max_bytes=args.max_data_mb << 20,
    )
