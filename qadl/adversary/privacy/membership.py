"""Membership inference: was a sample in the training set? Threshold attacks and their AUC.

A trained model is usually more confident, and has lower loss, on the samples it was
trained on. The attacker scores each sample (``loss``: minus the sample's loss, Yeom et al.
2018; ``confidence``: the largest class probability, Salem et al. 2019) and calls it a
member above a threshold. Sweeping the threshold gives the ROC curve; its area (AUC, 0.5
for a model that leaks nothing) and the best advantage ``max(TPR − FPR)`` summarise the
leak, over equally many members (training samples) and non-members (held-out samples).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qadl.learn.losses import loss_and_grad

__all__ = ["MEMBERSHIP_SCORES", "MembershipResult", "membership_inference", "membership_scores"]

MEMBERSHIP_SCORES = ("loss", "confidence")
"""Scores of the threshold attacks: minus the loss, or the top class probability."""


@dataclass(frozen=True)
class MembershipResult:
    """Scores of members and non-members, and the attack's summary numbers."""

    member_scores: np.ndarray
    non_member_scores: np.ndarray
    auc: float
    """Area under the ROC curve (sklearn ``roc_auc_score``)."""
    advantage: float
    """``max over thresholds (TPR − FPR)``."""
    accuracy: float
    """Best balanced accuracy of a threshold: ``(1 + advantage) / 2``."""

    def to_json(self) -> dict[str, Any]:
        """Summary numbers for results.json."""
        return {
            "members": int(self.member_scores.size),
            "non_members": int(self.non_member_scores.size),
            "auc": self.auc,
            "advantage": self.advantage,
            "attack_accuracy": self.accuracy,
            "mean_member_score": float(np.mean(self.member_scores)),
            "mean_non_member_score": float(np.mean(self.non_member_scores)),
        }


def membership_scores(
    classifier: Any,
    theta: np.ndarray,
    y: np.ndarray,
    score: str,
    *,
    x: np.ndarray | None = None,
    state: np.ndarray | None = None,
    loss: str = "cross_entropy",
) -> np.ndarray:
    """Per-sample attack scores (higher: more likely a member)."""
    probs = classifier.predict_proba(theta, x=x, state=state)
    if score == "confidence":
        return probs.max(axis=1)
    return -loss_and_grad(loss, probs, np.asarray(y))[0]


def membership_inference(member_scores: np.ndarray, non_member_scores: np.ndarray):
    """AUC, advantage and best threshold accuracy of the scores of both groups."""
    from sklearn.metrics import roc_auc_score, roc_curve  # lazy: only attacks need it

    truth = np.r_[np.ones(member_scores.size), np.zeros(non_member_scores.size)]
    scores = np.r_[member_scores, non_member_scores]
    fpr, tpr, _ = roc_curve(truth, scores)
    advantage = float(np.max(tpr - fpr))
    return MembershipResult(
        np.asarray(member_scores),
        np.asarray(non_member_scores),
        float(roc_auc_score(truth, scores)),
        advantage,
        (1.0 + advantage) / 2.0,
    )
