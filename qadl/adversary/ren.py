"""The attack of Ren et al. (2022): masked Adam steps on the input until the wrong class has 0.6.

From the released data of "Experimental quantum adversarial learning with programmable
superconducting qubits": only pixels that are nonzero in the clean image change, there
is no epsilon ball, no clipping and no renormalisation, and every adversarial example
has a wrong-class probability of at least 0.600 under the clean model (median 0.62).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qadl.adversary.attacks import attack
from qadl.adversary.config import AttackConfig, MaskKind
from qadl.adversary.result import AttackResult

__all__ = ["RenSummary", "ren_attack", "ren_config", "ren_summary"]


def ren_config(
    *,
    lr: float = 0.005,
    threshold: float = 0.6,
    max_steps: int = 200,
    mask: MaskKind = "nonzero",
    seed: int = 0,
) -> AttackConfig:
    """The Ren et al. attack as an ``AttackConfig``.

    Args:
        lr: Adam learning rate on the pixel. The paper steps on the gate angle π + 2·p
            with lr 0.01; Adam's step does not depend on the gradient's scale, so that
            moves p by 0.005 per step.
        threshold: stop a sample once its wrong-class probability is at least this.
        max_steps: cap on steps for samples that never reach the threshold.
        mask: ``nonzero`` changes only the pixels that are nonzero in the clean image.
        seed: unused by the deterministic attack; kept for a uniform record.
    """
    return AttackConfig(
        method="gradient_steps",
        epsilon=None,
        steps=max_steps,
        optimizer="adam",
        lr=lr,
        mask=mask,
        until_confidence=threshold,
        clip_to_range=False,
        renormalize=False,
        seed=seed,
    )


def ren_attack(
    classifier: Any, theta: np.ndarray, batch: Any, config: AttackConfig | None = None
) -> AttackResult:
    """Run the Ren et al. attack on a batch of images.

    ``ren_config`` does not clip to the batch's ``feature_range``: the paper does not
    (9% of its adversarial pixels are negative).

    Args:
        classifier: a ``qadl.learn.classifier.Classifier`` over image features.
        theta: the clean-trained parameters.
        batch: a ``Dataset`` with features ``x``.
        config: overrides ``ren_config()``.

    Returns:
        The adversarial images with per-sample L∞/L2 perturbation and step counts.
    """
    return attack(classifier, theta, batch, config or ren_config())


@dataclass(frozen=True)
class RenSummary:
    """The statistics Ren et al.'s released adversarial set is described by."""

    n: int
    reached_threshold: float
    """Fraction of samples whose wrong-class probability reached the threshold."""
    robust_accuracy: float
    median_linf: float
    mean_linf: float
    max_linf: float
    mean_l2: float
    mean_steps: float
    mean_changed: float
    """Mean number of features changed per sample."""

    def to_json(self) -> dict[str, float]:
        """Field values as a dict."""
        return {k: float(v) for k, v in self.__dict__.items()}


def ren_summary(result: AttackResult, clean_x: np.ndarray, threshold: float = 0.6) -> RenSummary:
    """Summarise a Ren attack the way the paper's data is summarised."""
    rows = np.arange(result.size)
    others = result.probs_adv.copy()
    others[rows, result.y] = -np.inf
    reached = others.max(axis=1) >= threshold
    changed = np.count_nonzero(np.abs(result.x_adv - clean_x) > 0, axis=1)
    return RenSummary(
        n=result.size,
        reached_threshold=float(np.mean(reached)),
        robust_accuracy=result.robust_accuracy,
        median_linf=float(np.median(result.linf)),
        mean_linf=float(np.mean(result.linf)),
        max_linf=float(np.max(result.linf)),
        mean_l2=float(np.mean(result.l2)),
        mean_steps=float(np.mean(result.steps)),
        mean_changed=float(np.mean(changed)),
    )
