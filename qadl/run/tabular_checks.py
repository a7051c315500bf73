"""What ``qadl check`` knows about data preprocessing and the tabular data sets.

``builtin.iris``/``wine``/``breast_cancer``/``moons``/``circles`` (``qadl.learn.tabular``):
the features and classes after preprocessing, and options that cannot give the data set
they promise; the ``standardize``/``pca``/``scale`` steps of ``builtin.digits`` and of
data files (PCA needs enough features and training samples, files need features).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qadl.learn.data import Dataset, split_problem, stratified_split
from qadl.learn.tabular import TABULAR, Preprocess, TabularSource
from qadl.program import DataSpec

__all__ = [
    "digits_pca_problem",
    "file_steps_problem",
    "preprocess_of",
    "stepped_shape",
    "tabular_kw",
    "tabular_problem",
    "tabular_shape",
    "tabular_source",
]


def tabular_source(spec: DataSpec) -> TabularSource | None:
    """The source of a ``builtin.<tabular>`` statement, None for other sources."""
    if not spec.source.startswith("builtin."):
        return None
    return TABULAR.get(spec.source.removeprefix("builtin."))


def preprocess_of(options: dict[str, Any]) -> Preprocess:
    """The ``standardize``/``pca``/``scale`` options as a ``Preprocess``."""
    scale = options.get("scale")
    pca = options.get("pca")
    return Preprocess(
        standardize=bool(options.get("standardize", False)),
        pca=None if pca is None else int(pca),
        scale=None if scale is None else (float(scale[0]), float(scale[1])),
    )


def tabular_kw(spec: DataSpec) -> dict[str, Any]:
    """Keyword arguments of ``qadl.learn.tabular.tabular`` (the loader's defaults)."""
    opts = spec.options
    classes = opts.get("classes")
    return {
        "test": float(opts.get("test", 0.2)),
        "seed": int(opts.get("seed", 7)),
        "classes": None if classes is None else tuple(int(c) for c in classes),
        "samples": int(opts.get("samples", 200)),
        "noise": float(opts.get("noise", 0.1)),
        "factor": float(opts.get("factor", 0.8)),
        "steps": preprocess_of(opts),
    }


def tabular_shape(spec: DataSpec) -> tuple[int, int, tuple[float, float] | None]:
    """``(features, classes, feature range)`` after preprocessing."""
    source = tabular_source(spec)
    assert source is not None
    kw = tabular_kw(spec)
    features = source.features if kw["steps"].pca is None else kw["steps"].pca
    classes = source.classes if kw["classes"] is None else len(kw["classes"])
    return features, classes, kw["steps"].scale


def tabular_problem(spec: DataSpec) -> tuple[str, str, str] | None:
    """(code, message, help) for options that cannot give the promised data set."""
    source = tabular_source(spec)
    assert source is not None
    kw = tabular_kw(spec)
    classes = kw["classes"]
    if classes is not None:
        bad = [c for c in classes if c >= source.classes]
        if bad:
            return (
                "E0853",
                f"`{spec.source}` has classes 0..{source.classes - 1}; `classes` lists {bad[0]}",
                f"pick classes below {source.classes}",
            )
        if len(set(classes)) != len(classes):
            return "E0853", f"`classes` lists a class twice: {list(classes)}", "list each once"
    counts = source.class_counts(kw["samples"])
    kept = range(len(counts)) if classes is None else classes
    labels = np.repeat(np.arange(len(kept)), [counts[c] for c in kept])
    problem = split_problem(labels, kw["test"])
    if problem is not None:
        return (
            "E0702",
            f"cannot split `{spec.name}` into train and test: {problem}",
            "use more `samples`, or another `test` fraction",
        )
    train = len(stratified_split(labels, kw["test"], kw["seed"])[0])  # the loader's split
    return _pca_problem(spec, kw["steps"].pca, source.features, train)


def _pca_problem(
    spec: DataSpec, pca: int | None, features: int, train: int
) -> tuple[str, str, str] | None:
    """PCA has at most min(features, training samples) components."""
    limit = min(features, train)
    if pca is None or pca <= limit:
        return None
    what = f"{features} features" if limit == features else f"{train} training samples"
    return (
        "E0854",
        f"`pca = {pca}`: `{spec.name}` has {what}, so at most {limit} components",
        f"use `pca` of at most {limit}",
    )


def file_steps_problem(spec: DataSpec, data: Dataset) -> tuple[str, str, str] | None:
    """Preprocessing of a data file: it needs features, and PCA enough of them."""
    steps = preprocess_of(spec.options)
    if steps.empty:
        return None
    if data.x is None:
        return (
            "E0855",
            f"`{spec.name}` holds quantum states: `standardize`, `pca` and `scale` "
            "transform features",
            "drop the preprocessing options, or give the file features `X`",
        )
    test, seed = float(spec.options.get("test", 0.2)), int(spec.options.get("seed", 7))
    if split_problem(data.y, test) is not None:  # reported where the file is split
        return None
    train = len(stratified_split(data.y, test, seed)[0])
    return _pca_problem(spec, steps.pca, data.num_features, train)


def stepped_shape(spec: DataSpec, data: Dataset) -> dict[str, Any]:
    """Features and feature range of a data file after its preprocessing steps."""
    steps = preprocess_of(spec.options)
    if steps.empty or data.x is None:
        return {}
    return {
        "features": data.num_features if steps.pca is None else steps.pca,
        "feature_range": steps.feature_range(data.feature_range),
    }


def digits_pca_problem(spec: DataSpec) -> tuple[str, str, str] | None:
    """``builtin.digits(pca = k)``: at most the pixels and the training images."""
    pca = preprocess_of(spec.options).pca
    if pca is None:
        return None
    from sklearn.datasets import load_digits  # bundled: the labels only, to count the split

    classes = [int(c) for c in spec.options.get("classes", (1, 9))]
    target = load_digits().target
    labels = np.concatenate([np.full(int(np.sum(target == c)), i) for i, c in enumerate(classes)])
    test, seed = float(spec.options.get("test", 0.2)), int(spec.options.get("seed", 7))
    if split_problem(labels, test) is not None:
        return None  # the split itself fails, and says so when the data are built
    h, w = spec.options.get("size", (16, 16))
    train = len(stratified_split(labels, test, seed)[0])
    return _pca_problem(spec, pca, int(h) * int(w), train)
