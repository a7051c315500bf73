"""Classical learners on a precomputed quantum kernel (scikit-learn).

``svm``: ``SVC(kernel="precomputed", C)`` (vote ties between more than two classes go to
the larger one-vs-one confidence: the argmax of its decision function).
``kernel_ridge``: ``KernelRidge(alpha, kernel="precomputed")`` regressing one-hot labels,
predicting the largest output.
``logistic``: ``LogisticRegression(C)`` on the empirical kernel map, i.e. the row
K(x, x_1 … x_N) of each sample against the training set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FittedKernelClassifier", "fit_kernel_classifier"]


@dataclass(frozen=True)
class FittedKernelClassifier:
    """A fitted learner; ``predict`` takes the kernel of new samples against the training set."""

    kind: str
    estimator: Any
    num_classes: int

    def predict(self, gram_test_train: np.ndarray) -> np.ndarray:
        """Labels (M,) of samples from their kernel rows (M, N_train)."""
        if self.kind == "kernel_ridge":
            scores = np.asarray(self.estimator.predict(gram_test_train)).reshape(
                len(gram_test_train), -1
            )
            return np.argmax(scores, axis=1).astype(np.int64)
        return np.asarray(self.estimator.predict(gram_test_train), dtype=np.int64)

    def support_size(self) -> int | None:
        """Number of support vectors (SVM only)."""
        return int(self.estimator.support_.size) if self.kind == "svm" else None


def fit_kernel_classifier(
    kind: str, strength: float, gram: np.ndarray, y: np.ndarray, num_classes: int
) -> FittedKernelClassifier:
    """Fit ``kind`` (svm / kernel_ridge / logistic) on the training Gram matrix
    (all three solvers are deterministic: no seed).

    Raises:
        ValueError: the labels hold a single class (nothing to separate).
    """
    if np.unique(y).size < 2:
        raise ValueError("the training labels hold a single class")
    if kind == "svm":
        from sklearn.svm import SVC

        # break_ties: a one-vs-one vote tie goes to the larger confidence, so the decision
        # is the argmax of the decision function (the class scores the attacks differentiate)
        est: Any = SVC(kernel="precomputed", C=strength, break_ties=np.unique(y).size > 2)
        est.fit(gram, y)
    elif kind == "kernel_ridge":
        from sklearn.kernel_ridge import KernelRidge

        est = KernelRidge(alpha=strength, kernel="precomputed")
        est.fit(gram, np.eye(num_classes)[y])
    elif kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        est = LogisticRegression(C=strength, max_iter=5000)
        est.fit(gram, y)
    else:
        raise ValueError(f"unknown kernel classifier {kind!r}")
    return FittedKernelClassifier(kind, est, num_classes)
