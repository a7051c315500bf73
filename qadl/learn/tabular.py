"""Built-in tabular data sets from scikit-learn, with preprocessing fitted on the training split.

``builtin.iris``, ``builtin.wine`` and ``builtin.breast_cancer`` ship inside scikit-learn
(nothing is downloaded); ``builtin.moons`` and ``builtin.circles`` are generated
(``make_moons``/``make_circles``, seeded). The split is stratified; then, in this order
and fitted on the training split only: ``standardize`` (zero mean, unit variance per
feature), ``pca = k`` (the first k principal components), ``scale = [lo, hi]`` (each
feature's training range onto [lo, hi]; test values are clipped into it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qadl.learn.data import Dataset, stratified_split

__all__ = ["TABULAR", "Preprocess", "TabularSource", "preprocess", "tabular", "with_steps"]


@dataclass(frozen=True)
class TabularSource:
    """What a built-in tabular set holds before preprocessing."""

    features: int
    counts: tuple[int, ...] | None
    """Samples per class; None for generated sets (``samples``, split in halves)."""

    @property
    def classes(self) -> int:
        """Number of classes."""
        return 2 if self.counts is None else len(self.counts)

    def class_counts(self, samples: int) -> tuple[int, ...]:
        """Samples per class (``samples``: the ``make_*`` size of a generated set)."""
        return (samples // 2, samples - samples // 2) if self.counts is None else self.counts


TABULAR: dict[str, TabularSource] = {
    "iris": TabularSource(4, (50, 50, 50)),
    "wine": TabularSource(13, (59, 71, 48)),
    "breast_cancer": TabularSource(30, (212, 357)),
    "moons": TabularSource(2, None),
    "circles": TabularSource(2, None),
}
"""``builtin.<name>`` -> its size."""


@dataclass(frozen=True)
class Preprocess:
    """The preprocessing steps of a ``data`` statement (applied in field order)."""

    standardize: bool = False
    pca: int | None = None
    scale: tuple[float, float] | None = None

    @property
    def empty(self) -> bool:
        """No step at all."""
        return not self.standardize and self.pca is None and self.scale is None

    def feature_range(self, before: tuple[float, float] | None) -> tuple[float, float] | None:
        """The range of the features after the steps, given the one before."""
        if self.scale is not None:
            return self.scale
        return None if self.standardize or self.pca is not None else before

    def describe(self) -> list[str]:
        """The steps, as recorded in ``results.json``."""
        steps = ["standardize"] if self.standardize else []
        if self.pca is not None:
            steps.append(f"pca({self.pca})")
        if self.scale is not None:
            steps.append(f"scale({self.scale[0]:g}, {self.scale[1]:g})")
        return steps


def _raw(name: str, samples: int, noise: float, factor: float, seed: int):
    from sklearn import datasets

    if name == "moons":
        return datasets.make_moons(n_samples=samples, noise=noise, random_state=seed)
    if name == "circles":
        return datasets.make_circles(
            n_samples=samples, noise=noise, factor=factor, random_state=seed
        )
    loader = {
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
        "breast_cancer": datasets.load_breast_cancer,
    }[name]
    bunch = loader()
    return bunch.data, bunch.target


def preprocess(
    train: np.ndarray, test: np.ndarray, steps: Preprocess, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` fitted on ``train`` and applied to both (no test statistic leaks in)."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if steps.standardize:
        scaler = StandardScaler().fit(train)
        train, test = scaler.transform(train), scaler.transform(test)
    if steps.pca is not None:
        pca = PCA(n_components=steps.pca, svd_solver="full", random_state=seed).fit(train)
        train, test = pca.transform(train), pca.transform(test)
    if steps.scale is not None:
        scaler = MinMaxScaler(feature_range=steps.scale, clip=True).fit(train)
        train, test = scaler.transform(train), scaler.transform(test)
    return np.asarray(train, dtype=float), np.asarray(test, dtype=float)


def tabular(
    name: str,
    *,
    test: float = 0.2,
    seed: int = 7,
    classes: tuple[int, ...] | None = None,
    samples: int = 200,
    noise: float = 0.1,
    factor: float = 0.8,
    steps: Preprocess = Preprocess(),
) -> tuple[Dataset, Dataset]:
    """``(train, test)`` of ``builtin.<name>``.

    Args:
        name: a key of ``TABULAR``.
        test: fraction held out (stratified).
        seed: the split's seed (and the generator's for moons/circles).
        classes: original classes to keep; label ``i`` is ``classes[i]`` (default: all).
        samples, noise, factor: ``make_moons``/``make_circles`` arguments.
        steps: preprocessing, fitted on the training split.
    """
    x, y = _raw(name, samples, noise, factor, seed)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=np.int64)
    kept = tuple(range(TABULAR[name].classes)) if classes is None else tuple(classes)
    keep = np.isin(y, kept)
    label_of = {c: i for i, c in enumerate(kept)}
    x, y = x[keep], np.array([label_of[int(t)] for t in y[keep]], dtype=np.int64)
    train_idx, test_idx = stratified_split(y, test, seed)
    x_train, x_test = preprocess(x[train_idx], x[test_idx], steps, seed)
    meta: dict[str, Any] = {"classes": kept, "preprocess": steps.describe(), "seed": seed}
    common = dict(num_classes=len(kept), feature_range=steps.scale, meta=meta)
    return (
        Dataset(x=x_train, y=y[train_idx], name=f"{name}.train", **common),
        Dataset(x=x_test, y=y[test_idx], name=f"{name}.test", **common),
    )


def with_steps(
    train: Dataset, test: Dataset, steps: Preprocess, seed: int
) -> tuple[Dataset, Dataset]:
    """``(train, test)`` with ``steps`` fitted on ``train``'s features and applied to both.

    PCA drops ``image_shape`` (components are not pixels); ``meta["preprocess"]`` lists
    the steps.
    """
    if steps.empty:
        return train, test
    if train.x is None or test.x is None:
        raise ValueError("preprocessing steps need features; this data set holds states")
    x_train, x_test = preprocess(train.x, test.x, steps, seed)
    changes: dict[str, Any] = {
        "feature_range": steps.feature_range(train.feature_range),
        "image_shape": None if steps.pca is not None else train.image_shape,
    }
    return (
        replace(train, x=x_train, meta={**train.meta, "preprocess": steps.describe()}, **changes),
        replace(test, x=x_test, meta={**test.meta, "preprocess": steps.describe()}, **changes),
    )
