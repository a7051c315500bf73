"""Shadow-model membership inference (Shokri et al. 2017).

The attacker holds data from the target's distribution, disjoint from its training set.
It trains K shadow copies of the target (same circuit, same training), each on its own
``in`` samples with as many ``out`` samples held back, so that it knows which of the
shadows' outputs come from members. An attack classifier learns to tell the two apart
from a sample's class probabilities, and then scores the target's samples.

Features of a sample: its class probabilities sorted in decreasing order (what any
prediction API releases, without the class order) and the log-probability of its true
class (minus its loss). One attack model per true class, as in Shokri et al.: a
scikit-learn logistic regression on standardised features. A class whose shadow
records lack members or non-members falls back to one global model of all classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ShadowAttack", "ShadowSplit", "attack_features", "fit_attack", "shadow_partition"]

_FLOOR = 1e-12
"""Probabilities are clipped here before the log: an exact zero would give −∞."""


def attack_features(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``(n, C + 1)``: sorted class probabilities (largest first) and ``log p(y | x)``."""
    probs = np.asarray(probs, dtype=float)
    ranked = -np.sort(-probs, axis=1)
    true = np.log(np.clip(probs[np.arange(len(probs)), np.asarray(y, dtype=int)], _FLOOR, 1.0))
    return np.column_stack([ranked, true])


@dataclass(frozen=True)
class ShadowAttack:
    """The fitted attack: one model per class where possible, and a global one."""

    per_class: dict[int, Any]
    """True class -> its scikit-learn pipeline (classes with members and non-members)."""
    fallback: Any
    """The pipeline fitted on all records, for the other classes."""

    def scores(self, features: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The attack's probability that each sample is a member."""
        y = np.asarray(y, dtype=int)
        out = np.empty(len(y))
        for label in np.unique(y):
            rows = y == label
            model = self.per_class.get(int(label), self.fallback)
            out[rows] = model.predict_proba(features[rows])[:, 1]
        return out


def _pipeline(features: np.ndarray, inside: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression  # lazy: only attacks need it
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression()).fit(features, inside)


def fit_attack(features: np.ndarray, y: np.ndarray, inside: np.ndarray) -> ShadowAttack:
    """Fit the attack on the shadows' records: ``inside`` is 1 for a shadow's member."""
    y, inside = np.asarray(y, dtype=int), np.asarray(inside, dtype=int)
    per_class = {}
    for label in np.unique(y):
        rows = y == label
        if np.unique(inside[rows]).size == 2:
            per_class[int(label)] = _pipeline(features[rows], inside[rows])
    return ShadowAttack(per_class, _pipeline(features, inside))


@dataclass(frozen=True)
class ShadowSplit:
    """Indices into the target's held-out split: who evaluates, who trains the shadows."""

    non_members: np.ndarray
    """Held-out samples scored as the target's non-members."""
    shadows: tuple[tuple[np.ndarray, np.ndarray], ...]
    """Per shadow: ``(in, out)`` indices, disjoint from each other and from the above."""


def shadow_partition(
    held_out: int, shadows: int, size: int, evaluated: int, rng: np.random.Generator
) -> ShadowSplit:
    """Shuffle the held-out split once: the first ``2·size`` samples per shadow are its
    ``in`` and ``out`` halves, then ``evaluated`` non-members from the rest."""
    need = 2 * shadows * size
    if need + evaluated > held_out:
        raise ValueError(f"{need} shadow samples and {evaluated} non-members > {held_out}")
    order = rng.permutation(held_out)
    chunks = tuple(
        (
            np.sort(order[2 * k * size : (2 * k + 1) * size]),
            np.sort(order[(2 * k + 1) * size : (2 * k + 2) * size]),
        )
        for k in range(shadows)
    )
    return ShadowSplit(np.sort(order[need : need + evaluated]), chunks)
