"""Labelled data sets (``Dataset``) and the built-in classical one: scikit-learn's digits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

__all__ = [
    "Dataset",
    "Normalize",
    "digits",
    "resize_images",
    "split_problem",
    "stratified_split",
]

Normalize = Literal["l2", "range", "none"]


@dataclass(frozen=True, eq=False, kw_only=True)
class Dataset:
    """A labelled set of classical feature vectors and/or quantum input states.

    All fields are keyword-only. Arrays are treated as immutable: methods return new
    datasets and never write into the arrays they were given. Equality is identity
    (arrays have no useful ``==``).
    """

    x: np.ndarray | None = None
    """Features ``(N, F)`` float64, or None for pure quantum data."""
    states: np.ndarray | None = None
    """Input states ``(N, 2**n)`` complex128, or None for classical data."""
    y: np.ndarray
    """Integer labels ``(N,)`` in ``0 … num_classes-1``."""
    num_classes: int
    """Number of classes C."""
    feature_range: tuple[float, float] | None = None
    """Valid range of one feature (attacks clip to it), or None for unbounded."""
    image_shape: tuple[int, int] | None = None
    """``(height, width)`` when each feature row is a flattened image (row-major)."""
    name: str = "data"
    """A short human-readable name (for reports and plots)."""
    meta: dict = field(default_factory=dict, repr=False)
    """Generator parameters, and per-sample arrays (first axis of length N, e.g. the
    potentials of quantum samples) that ``take`` and ``concat`` keep aligned."""

    def __post_init__(self) -> None:
        y = np.asarray(self.y, dtype=np.int64).reshape(-1)
        object.__setattr__(self, "y", y)
        if self.x is None and self.states is None:
            raise ValueError("a dataset needs features x, input states, or both")
        if self.x is not None:
            x = np.asarray(self.x, dtype=float)
            if x.ndim != 2 or x.shape[0] != y.size:
                raise ValueError(f"x must be (N, F) with N = {y.size}, got {x.shape}")
            object.__setattr__(self, "x", x)
        if self.states is not None:
            s = np.asarray(self.states, dtype=complex)
            if s.ndim != 2 or s.shape[0] != y.size:
                raise ValueError(f"states must be (N, 2**n) with N = {y.size}, got {s.shape}")
            object.__setattr__(self, "states", s)
        if y.size and (y.min() < 0 or y.max() >= self.num_classes):
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}")

    def __len__(self) -> int:
        return int(self.y.size)

    @property
    def num_features(self) -> int:
        """F, or 0 for pure quantum data."""
        return 0 if self.x is None else int(self.x.shape[1])

    @property
    def num_qubits(self) -> int:
        """n of the input states, or 0 for classical data."""
        return 0 if self.states is None else int(self.states.shape[1]).bit_length() - 1

    def take(self, indices: np.ndarray) -> Dataset:
        """The samples at ``indices`` (in that order), per-sample ``meta`` arrays included."""
        idx = np.asarray(indices, dtype=np.int64)
        meta = {k: v[idx] if self._per_sample(v) else v for k, v in self.meta.items()}
        return replace(
            self,
            meta=meta,
            y=self.y[idx],
            x=None if self.x is None else self.x[idx],
            states=None if self.states is None else self.states[idx],
        )

    def _per_sample(self, value: object) -> bool:
        """True for a meta entry that holds one value per sample."""
        return isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == len(self)

    def with_inputs(self, x: np.ndarray | None = None, states: np.ndarray | None = None) -> Dataset:
        """A copy with other features and/or states (labels kept); None keeps the current ones."""
        return replace(
            self,
            x=self.x if x is None else x,
            states=self.states if states is None else states,
        )

    def concat(self, other: Dataset) -> Dataset:
        """This dataset followed by ``other`` (same kinds of input and number of classes)."""
        if (self.x is None) != (other.x is None) or (self.states is None) != (other.states is None):
            raise ValueError("cannot concatenate datasets with different kinds of input")
        if self.num_classes != other.num_classes:
            raise ValueError("cannot concatenate datasets with different numbers of classes")
        meta = {k: v for k, v in self.meta.items() if not self._per_sample(v)}
        for k, v in self.meta.items():
            w = other.meta.get(k)
            if self._per_sample(v) and w is not None and other._per_sample(w):
                meta[k] = np.concatenate([v, w])
        return replace(
            self,
            meta=meta,
            y=np.concatenate([self.y, other.y]),
            x=None if self.x is None else np.concatenate([self.x, other.x]),
            states=None if self.states is None else np.concatenate([self.states, other.states]),
        )

    def class_counts(self) -> np.ndarray:
        """Number of samples of each class, ``(C,)``."""
        return np.bincount(self.y, minlength=self.num_classes)


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinearly resize a stack of images ``(N, h, w)`` to ``(N, *size)``.

    Corner pixels are aligned (``scipy.ndimage.zoom`` with ``order=1``,
    ``grid_mode=False``), so an 8×8 digit becomes a smooth 16×16 one.
    """
    from scipy import ndimage

    n, h, w = images.shape
    if (h, w) == tuple(size):
        return images.astype(float)
    factors = (1.0, size[0] / h, size[1] / w)
    out = ndimage.zoom(images.astype(float), factors, order=1, mode="nearest")
    return out.reshape(n, *size)


def _normalize(x: np.ndarray, how: Normalize) -> tuple[np.ndarray, tuple[float, float] | None]:
    if how == "l2":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        return x / np.where(norms > 0, norms, 1.0), (0.0, 1.0)
    if how == "range":
        lo, hi = x.min(), x.max()
        return (x - lo) / (hi - lo if hi > lo else 1.0), (0.0, 1.0)
    if how == "none":
        return x, (float(x.min()), float(x.max()))
    raise ValueError(f"normalize must be 'l2', 'range' or 'none', got {how!r}")


def split_problem(y: np.ndarray, test: float) -> str | None:
    """Why ``stratified_split(y, test, ...)`` cannot split these labels, or None.

    The same conditions as scikit-learn's stratified split, stated before it runs (and
    without importing it): every class needs two samples, and both parts one per class.
    """
    if test <= 0.0:
        return None
    counts = np.bincount(np.asarray(y, dtype=np.int64))
    counts = counts[counts > 0]
    n, classes = int(counts.sum()), int(counts.size)
    n_test = math.ceil(test * n)
    n_train = n - n_test
    if counts.min() < 2:
        return f"a class has only {int(counts.min())} sample (each needs at least 2)"
    if n_train < classes or n_test < classes:
        return (
            f"{n} samples split {n_train}/{n_test} cannot hold all {classes} classes in both parts"
        )
    return None


def stratified_split(y: np.ndarray, test: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified ``(train, test)`` split with ``test`` as a fraction in (0, 1).

    A fraction of 0 gives an empty test part. Uses scikit-learn's ``train_test_split``.
    """
    idx = np.arange(len(y))
    if test <= 0.0:
        return idx, idx[:0]
    from sklearn.model_selection import train_test_split

    train_idx, test_idx = train_test_split(idx, test_size=test, random_state=seed, stratify=y)
    return np.sort(train_idx), np.sort(test_idx)


def digits(
    classes: tuple[int, ...] = (1, 9),
    size: tuple[int, int] = (16, 16),
    normalize: Normalize = "l2",
    test: float = 0.2,
    seed: int = 7,
    crop: tuple[int, int, int, int] | None = None,
) -> tuple[Dataset, Dataset]:
    """scikit-learn's bundled 8×8 digits, selected, cropped, resized, normalised and split.

    Args:
        classes: digit values to keep; label ``i`` is ``classes[i]``.
        size: output image size ``(height, width)`` after bilinear resizing.
        normalize: ``"l2"`` scales each image to unit Euclidean norm (Ren et al.),
            ``"range"`` maps the pixel range of the whole set onto [0, 1], ``"none"`` keeps 0…16.
        test: fraction of samples in the stratified test part.
        seed: seed of the split.
        crop: optional ``(top, left, height, width)`` window of the 8×8 image, applied
            before resizing.

    Returns:
        ``(train, test)`` datasets with ``image_shape = size``. ``feature_range`` is
        (0, 1) for ``l2`` and ``range`` (pixels of a unit-norm image lie in [0, 1]).
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, target = bunch.images, bunch.target
    keep = np.isin(target, classes)
    images, target = images[keep], target[keep]
    label_of = {int(c): i for i, c in enumerate(classes)}
    y = np.array([label_of[int(t)] for t in target], dtype=np.int64)
    if crop is not None:
        top, left, h, w = crop
        images = images[:, top : top + h, left : left + w]
    images = resize_images(images, tuple(size))
    x, feature_range = _normalize(images.reshape(len(images), -1), normalize)
    train_idx, test_idx = stratified_split(y, test, seed)
    name = "digits_" + "_".join(map(str, classes))
    common = dict(
        num_classes=len(classes),
        feature_range=feature_range,
        image_shape=tuple(size),
        meta={"classes": tuple(classes), "normalize": normalize, "seed": seed},
    )
    return (
        Dataset(y=y[train_idx], x=x[train_idx], name=f"{name}.train", **common),
        Dataset(y=y[test_idx], x=x[test_idx], name=f"{name}.test", **common),
    )
