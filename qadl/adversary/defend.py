"""Adversarial training via ``fit``'s batch hook: online min-max (Madry) or a fixed set (Ren).

Online: every mini-batch is extended with adversarial versions of some of its samples,
crafted against the current θ with the chosen attack and an epsilon schedule.
Fixed (Ren et al. 2022): adversarial examples are crafted once against the clean model
(500 of them in the paper) and each batch of clean samples gets as many of them
(10 clean + 10 adversarial).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qadl.adversary.attacks import adversarial_dataset, attack
from qadl.adversary.closest_flip import ClosestFlipConfig, closest_flip_attack
from qadl.adversary.config import AdversarialTrainingConfig, AttackConfig, QuantumAttackConfig
from qadl.adversary.quantum import LocalRotationAdversary, quantum_attack

__all__ = [
    "DefenceResult",
    "FixedAdversarialHook",
    "OnlineAdversarialHook",
    "adversarial_training",
    "craft_dataset",
    "fixed_adversarial_set",
    "num_adversarial",
]


def num_adversarial(batch_size: int, ratio: float) -> int:
    """How many adversarial samples join a clean batch so that they are ``ratio`` of the result.

    ``ratio = 1`` means the batch is replaced entirely (pure min-max training).
    """
    if ratio >= 1.0:
        return batch_size
    return max(1, round(batch_size * ratio / (1.0 - ratio)))


def craft_dataset(
    classifier: Any,
    theta: np.ndarray,
    data: Any,
    attack_config: AttackConfig | QuantumAttackConfig,
    *,
    adversary: LocalRotationAdversary | None = None,
    epsilon: float | None = None,
) -> tuple[Any, Any]:
    """Adversarial versions of every sample of ``data`` (labels kept).

    Args:
        classifier: the model attacked (classical inputs).
        theta: its parameters.
        data: the samples to perturb.
        attack_config: a classical or a local-rotation attack.
        adversary: the ``LocalRotationAdversary`` for quantum data.
        epsilon: the bound to use (default: the first of the config's epsilons).

    Returns:
        ``(adversarial Dataset, AttackResult)``.
    """
    if isinstance(attack_config, ClosestFlipConfig):
        result = closest_flip_attack(classifier, theta, data, attack_config, epsilon=epsilon)
    elif isinstance(attack_config, QuantumAttackConfig):
        if adversary is None:
            raise ValueError("adversarial training on quantum data needs a LocalRotationAdversary")
        result = quantum_attack(adversary, theta, data, attack_config, epsilon=epsilon)
    else:
        cfg = (
            attack_config.at(epsilon)
            if epsilon is not None and attack_config.bounded
            else attack_config
        )
        result = attack(classifier, theta, data, cfg)
    return adversarial_dataset(data, result), result


@dataclass
class OnlineAdversarialHook:
    """``batch_hook`` for Madry-style training: attack the current θ on every batch.

    Mutable on purpose: it counts its calls to follow the epsilon schedule and logs,
    per batch, the epsilon used and the attack's success rate.
    """

    classifier: Any
    config: AdversarialTrainingConfig
    total_steps: int
    """Number of batches in the whole training run (for the schedule)."""
    adversary: LocalRotationAdversary | None = None
    calls: int = 0
    log: list[tuple[float | None, float]] = field(default_factory=list)
    """(epsilon, attack success rate) of every batch."""

    def epsilon(self) -> float | None:
        """Epsilon of the next batch under the schedule (None: an attack with no ball)."""
        attack = self.config.attack
        if isinstance(attack, AttackConfig) and not attack.bounded:
            return None
        progress = self.calls / max(self.total_steps, 1)
        return attack.epsilons[0] * self.config.epsilon_scale(progress)

    def __call__(self, theta: np.ndarray, batch: Any, rng: np.random.Generator) -> Any:
        """The batch plus (or, at ratio 1, replaced by) adversarial versions of some samples."""
        eps = self.epsilon()
        self.calls += 1
        m = min(len(batch), num_adversarial(len(batch), self.config.ratio))
        sub = batch.take(np.sort(rng.choice(len(batch), size=m, replace=False)))
        cfg = self.config.attack
        if not isinstance(cfg, ClosestFlipConfig):  # deterministic: no seed to draw
            cfg = replace(cfg, seed=int(rng.integers(2**31)))
        adv, result = craft_dataset(
            self.classifier, theta, sub, cfg, adversary=self.adversary, epsilon=eps
        )
        self.log.append((eps, result.success_rate))
        return adv if self.config.ratio >= 1.0 else batch.concat(adv)


@dataclass
class FixedAdversarialHook:
    """``batch_hook`` for Ren et al.'s protocol: mix in samples of a precomputed adversarial set.

    Each epoch walks a fresh permutation of the set, so every adversarial example is
    seen equally often. Mutable: it keeps its position in the permutation.
    """

    adversarial: Any
    """The fixed adversarial ``Dataset``."""
    ratio: float = 0.5
    order: np.ndarray | None = None
    position: int = 0

    def __call__(self, theta: np.ndarray, batch: Any, rng: np.random.Generator) -> Any:
        """The clean batch followed by the next adversarial samples of the fixed set."""
        m = min(len(self.adversarial), num_adversarial(len(batch), self.ratio))
        picked = []
        while len(picked) < m:
            if self.order is None or self.position >= len(self.order):
                self.order, self.position = rng.permutation(len(self.adversarial)), 0
            take = min(m - len(picked), len(self.order) - self.position)
            picked.extend(self.order[self.position : self.position + take])
            self.position += take
        adv = self.adversarial.take(np.asarray(picked))
        return adv if self.ratio >= 1.0 else batch.concat(adv)


def fixed_adversarial_set(
    classifier: Any,
    theta_clean: np.ndarray,
    train: Any,
    config: AdversarialTrainingConfig,
    *,
    adversary: LocalRotationAdversary | None = None,
) -> Any:
    """Ren et al.'s fixed set: adversarial versions of the first ``num_fixed`` training samples.

    They are crafted once against the clean model ``theta_clean`` (the paper used 500).
    """
    count = len(train) if config.num_fixed is None else min(config.num_fixed, len(train))
    source = train.take(np.arange(count))
    adv_set, _ = craft_dataset(
        classifier, np.asarray(theta_clean), source, config.attack, adversary=adversary
    )
    return adv_set


@dataclass(frozen=True)
class DefenceResult:
    """What adversarial training returns: the defended θ and the record of how it got there."""

    theta: np.ndarray
    training: Any
    """Whatever ``qadl.learn.train.fit`` returned (history, curves)."""
    adversarial_set: Any = None
    """The fixed adversarial set (fixed mode), else None."""
    epsilon_log: tuple[tuple[float | None, float], ...] = ()
    """(epsilon, attack success rate) per batch (online mode; None for an attack with no ball)."""


def _steps_per_run(train: Any, train_config: Any) -> int:
    batch = int(
        getattr(train_config, "batch_size", getattr(train_config, "batch", 0)) or len(train)
    )
    epochs = int(getattr(train_config, "epochs", 1))
    return epochs * -(-len(train) // batch)


def _theta_of(trained: Any) -> np.ndarray:
    if isinstance(trained, np.ndarray):
        return trained
    return np.asarray(trained.theta)


def adversarial_training(
    classifier: Any,
    theta0: np.ndarray,
    train: Any,
    train_config: Any,
    config: AdversarialTrainingConfig,
    *,
    theta_clean: np.ndarray | None = None,
    adversary: LocalRotationAdversary | None = None,
    test: Any = None,
    fixed_set: Any = None,
    progress: bool = True,
) -> DefenceResult:
    """Train ``classifier`` against adversarial examples with ``qadl.learn.train.fit``.

    Args:
        classifier: the model.
        theta0: starting parameters (often the clean-trained θ).
        train: the clean training ``Dataset``.
        train_config: a ``qadl.learn.train.TrainConfig``; its batch size is the number of
            clean samples per batch.
        config: attack, mixing ratio, schedule and mode.
        theta_clean: the model the fixed adversarial set is crafted against (default θ0).
        adversary: the ``LocalRotationAdversary`` when training on quantum data.
        test: optional ``Dataset`` passed to ``fit`` (measured every epoch; it drives
            early stopping and best-epoch restoring when the train config asks for them).
        fixed_set: in fixed mode, a precomputed adversarial set to use instead of
            crafting one (e.g. so that the caller can also monitor it).
        progress: show ``fit``'s progress bar (only on a terminal).

    Returns:
        The defended θ with the training record.
    """
    from qadl.learn.train import fit

    theta0 = np.asarray(theta0, dtype=float)
    if config.mode == "fixed":
        adv_set = fixed_set
        if adv_set is None:
            adv_set = fixed_adversarial_set(
                classifier,
                theta0 if theta_clean is None else theta_clean,
                train,
                config,
                adversary=adversary,
            )
        hook: Any = FixedAdversarialHook(adv_set, ratio=config.ratio)
        trained = fit(
            classifier, theta0, train, train_config, batch_hook=hook, test=test, progress=progress
        )
        return DefenceResult(_theta_of(trained), trained, adversarial_set=adv_set)
    hook = OnlineAdversarialHook(
        classifier, config, _steps_per_run(train, train_config), adversary=adversary
    )
    trained = fit(
        classifier, theta0, train, train_config, batch_hook=hook, test=test, progress=progress
    )
    return DefenceResult(_theta_of(trained), trained, epsilon_log=tuple(hook.log))
