"""Classification metrics of clean predictions, computed with scikit-learn.

Precision, recall and F1 per class and macro-averaged, the confusion matrix, and ROC-AUC
for two-class tasks (from the probability of class 1). A class that is never predicted
has precision 0 (``zero_division=0``), as in most papers' tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ClassMetrics", "class_metrics"]


@dataclass(frozen=True)
class ClassMetrics:
    """Metrics of one model's predictions on one data set (classes ``0 … C-1``)."""

    accuracy: float
    precision: tuple[float, ...]
    """Per class."""
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    support: tuple[int, ...]
    """True samples per class."""
    confusion: tuple[tuple[int, ...], ...]
    """``confusion[i][j]``: samples of true class i predicted as j."""
    roc_auc: float | None = None
    """Two classes with both present, from p(class 1); None otherwise."""

    @property
    def precision_macro(self) -> float:
        """Unweighted mean over the classes."""
        return float(np.mean(self.precision))

    @property
    def recall_macro(self) -> float:
        """Unweighted mean over the classes."""
        return float(np.mean(self.recall))

    @property
    def f1_macro(self) -> float:
        """Unweighted mean of the per-class F1 scores (scikit-learn's ``average="macro"``)."""
        return float(np.mean(self.f1))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: macro averages, per-class lists and the confusion matrix."""
        return {
            "accuracy": self.accuracy,
            "precision_macro": self.precision_macro,
            "recall_macro": self.recall_macro,
            "f1_macro": self.f1_macro,
            "roc_auc": self.roc_auc,
            "precision": list(self.precision),
            "recall": list(self.recall),
            "f1": list(self.f1),
            "support": list(self.support),
            "confusion": [list(row) for row in self.confusion],
        }


def class_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, probs: np.ndarray | None = None
) -> ClassMetrics:
    """Metrics of predicted labels ``y_pred`` against ``y_true``.

    Args:
        y_true: true labels ``(N,)``.
        y_pred: predicted labels ``(N,)``.
        num_classes: C; classes absent from both arrays still get a row and column.
        probs: class probabilities ``(N, C)``, for ROC-AUC (two classes only).
    """
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    labels = list(range(num_classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    confusion = confusion_matrix(y_true, y_pred, labels=labels)
    auc = None
    if probs is not None and num_classes == 2 and len(np.unique(y_true)) == 2:
        auc = float(roc_auc_score(y_true, np.asarray(probs)[:, 1]))
    return ClassMetrics(
        accuracy=float(accuracy_score(y_true, y_pred)),
        precision=tuple(float(v) for v in precision),
        recall=tuple(float(v) for v in recall),
        f1=tuple(float(v) for v in f1),
        support=tuple(int(v) for v in support),
        confusion=tuple(tuple(int(v) for v in row) for row in confusion),
        roc_auc=auc,
    )
