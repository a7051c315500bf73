"""White-box attacks on classical inputs: FGSM, BIM, PGD, MIM, optimiser steps, noise baseline.

The attack loop talks to the model through an ``InputOracle`` (class probabilities and
per-sample input gradients), so the same code attacks a qadl ``Classifier`` (white box)
or a scikit-learn surrogate (black-box transfer, ``transfer.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from qadl.adversary import norms
from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.result import AttackResult

__all__ = [
    "ClassifierOracle",
    "InputOracle",
    "adversarial_dataset",
    "attack",
    "attack_sweep",
    "batch_done",
    "craft",
    "stop_mask",
]


class InputOracle(Protocol):
    """What an attack on classical inputs needs from a model."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(B, C)``."""
        ...

    def loss_and_input_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample loss ``(B,)`` and the gradient of each sample's own loss ``(B, F)``."""
        ...


@dataclass(frozen=True)
class ClassifierOracle:
    """A qadl ``Classifier`` at fixed θ seen as an ``InputOracle`` (white box)."""

    classifier: Any
    theta: np.ndarray
    loss: str = "cross_entropy"
    method: str = "adjoint"

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities of the classifier."""
        return np.asarray(self.classifier.predict_proba(self.theta, x=x))

    def loss_and_input_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample losses and per-sample input gradients (the contract's are of the mean)."""
        losses, grads = self.classifier.loss_and_grads(
            self.theta, y, x=x, loss=self.loss, method=self.method
        )
        if grads.x is None:
            raise ValueError("the classifier's circuit has no input features to attack")
        return np.asarray(losses), np.asarray(grads.x) * x.shape[0]


def stop_mask(
    probs: np.ndarray, labels: np.ndarray, config: AttackConfig | QuantumAttackConfig
) -> np.ndarray:
    """Samples that have reached the attack's stopping criterion.

    With ``until_confidence``: the wrong-class probability (untargeted: the largest
    probability of a class other than the label; targeted: the target's probability)
    is at least the threshold. Otherwise, with ``early_stop``: the goal is reached.
    Neither set: nothing stops early.
    """
    if config.until_confidence is not None:
        return _adversarial_confidence(probs, labels, config.targeted) >= config.until_confidence
    if config.early_stop:
        return _goal_reached(probs.argmax(axis=1), labels, config.targeted)
    return np.zeros(len(labels), dtype=bool)


def batch_done(
    probs: np.ndarray, labels: np.ndarray, config: AttackConfig | QuantumAttackConfig
) -> bool:
    """True once ``until success_rate >= r`` holds: a fraction r of the batch is fooled."""
    reached = _goal_reached(probs.argmax(axis=1), labels, config.targeted)
    return bool(reached.mean() >= config.until_success_rate)


def _adversarial_confidence(probs: np.ndarray, labels: np.ndarray, targeted: bool) -> np.ndarray:
    rows = np.arange(len(labels))
    if targeted:
        return probs[rows, labels]
    others = probs.copy()
    others[rows, labels] = -np.inf
    return others.max(axis=1)


def _goal_reached(pred: np.ndarray, labels: np.ndarray, targeted: bool) -> np.ndarray:
    return pred == labels if targeted else pred != labels


@dataclass
class _StepState:
    """Mutable per-run optimiser memory (momentum for MIM, moments for Adam)."""

    momentum: np.ndarray
    m: np.ndarray
    v: np.ndarray
    t: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _new_state(shape: tuple[int, int]) -> _StepState:
    return _StepState(np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape[0]))


def _update(
    grad: np.ndarray, idx: np.ndarray, state: _StepState, config: AttackConfig, alpha: float
) -> np.ndarray:
    """The additive change of the active rows ``idx`` for one ascent step."""
    if config.method == "mim":
        state.momentum[idx] = config.decay * state.momentum[idx] + norms.l1_normalize(grad)
        return norms.steepest_step(state.momentum[idx], config.norm, alpha)
    if config.method != "gradient_steps":
        return norms.steepest_step(grad, config.norm, alpha)
    if config.optimizer == "sign":
        return config.lr * norms.signed(grad)
    if config.optimizer == "sgd":
        return config.lr * grad
    # Adam (Kingma & Ba), per sample: samples stop at different steps, so each keeps its own t.
    b1, b2 = 0.9, 0.999
    state.t[idx] += 1
    state.m[idx] = b1 * state.m[idx] + (1 - b1) * grad
    state.v[idx] = b2 * state.v[idx] + (1 - b2) * grad**2
    t = state.t[idx][:, None]
    m_hat = state.m[idx] / (1 - b1**t)
    v_hat = state.v[idx] / (1 - b2**t)
    return config.lr * m_hat / (np.sqrt(v_hat) + 1e-8)


@dataclass(frozen=True)
class _Problem:
    """One attack problem: clean inputs, the labels the loss is taken against, and constraints."""

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    """Labels of the objective: true labels (ascend) or the target class (descend)."""
    sign: float
    mask: np.ndarray
    feature_range: tuple[float, float] | None
    epsilon: float | None


def _problem(
    x: np.ndarray,
    y: np.ndarray,
    config: AttackConfig,
    epsilon: float | None,
    feature_range: tuple[float, float] | None,
) -> _Problem:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=int)
    labels = np.full_like(y, config.target) if config.targeted else y
    mask = (x != 0).astype(float) if config.mask == "nonzero" else np.ones_like(x)
    rng_ = config.clip if config.clip is not None else feature_range
    if not config.clip_to_range:
        rng_ = None
    return _Problem(x, y, labels, -1.0 if config.targeted else 1.0, mask, rng_, epsilon)


def _finalize(
    prob: _Problem, idx: np.ndarray, delta: np.ndarray, config: AttackConfig
) -> np.ndarray:
    """Adversarial inputs of rows ``idx``: project, clip to the feature range, maybe renormalise."""
    if config.bounded:
        delta = norms.project(delta, config.norm, prob.epsilon)
    x_adv = norms.clip_to_range(prob.x[idx] + delta, prob.feature_range)
    if config.renormalize:
        x_adv = norms.renormalize_rows(x_adv)
    return x_adv


def _start(prob: _Problem, config: AttackConfig, rng: np.random.Generator) -> np.ndarray:
    shape = prob.x.shape
    if config.method == "noise":
        delta = norms.random_on_sphere(rng, shape, config.norm, prob.epsilon)
    elif config.starts_random and config.bounded:
        delta = norms.random_in_ball(rng, shape, config.norm, prob.epsilon)
    else:
        return prob.x.copy()
    return _finalize(prob, np.arange(shape[0]), delta * prob.mask, config)


def _run_once(
    oracle: InputOracle, prob: _Problem, config: AttackConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One start of the attack: returns adversarial inputs, steps per sample, objective trace."""
    x_adv = _start(prob, config, rng)
    n = prob.x.shape[0]
    steps = np.zeros(n, dtype=int)
    # one row per step taken, grown as it goes: `steps` is only a cap (never pre-allocate it)
    rows: list[np.ndarray] = []
    if config.method == "noise":
        return x_adv, steps, np.full((0, n), np.nan)
    active = np.ones(n, dtype=bool)
    state = _new_state(prob.x.shape)
    alpha = config.alpha(prob.epsilon) if config.bounded else config.lr
    for _ in range(config.num_steps):
        if config.until_success_rate is not None and batch_done(
            oracle.predict_proba(x_adv), prob.labels, config
        ):
            break
        if config.until_confidence is not None or config.early_stop:
            done = stop_mask(oracle.predict_proba(x_adv[active]), prob.labels[active], config)
            active[np.flatnonzero(active)[done]] = False
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        loss, grad = oracle.loss_and_input_grad(x_adv[idx], prob.labels[idx])
        rows.append(np.full(n, np.nan))
        rows[-1][idx] = prob.sign * loss
        step = _update(prob.sign * grad * prob.mask[idx], idx, state, config, alpha)
        x_adv[idx] = _finalize(prob, idx, x_adv[idx] - prob.x[idx] + step, config)
        steps[idx] += 1
    return x_adv, steps, np.array(rows).reshape(len(rows), n)


def _objective(oracle: InputOracle, prob: _Problem, x_adv: np.ndarray) -> np.ndarray:
    loss, _ = oracle.loss_and_input_grad(x_adv, prob.labels)
    return prob.sign * np.asarray(loss)


def craft(
    oracle: InputOracle,
    x: np.ndarray,
    y: np.ndarray,
    config: AttackConfig,
    *,
    epsilon: float | None = None,
    feature_range: tuple[float, float] | None = None,
    eval_oracle: InputOracle | None = None,
) -> AttackResult:
    """Run one attack at one epsilon against ``oracle``.

    Args:
        oracle: the model whose gradients guide the attack.
        x: clean inputs ``(B, F)``.
        y: true labels ``(B,)``.
        config: the attack; its ``epsilon`` is used when ``epsilon`` is None.
        epsilon: the ball radius of this run (one point of a sweep).
        feature_range: valid feature range when ``config.clip`` is None.
        eval_oracle: the model the result is scored on (the target of a transfer
            attack); defaults to ``oracle``.

    Returns:
        The adversarial inputs and their outcome on ``eval_oracle``. Of several
        restarts, each sample keeps the one that reaches the goal, then the one with
        the largest objective.
    """
    if epsilon is None and config.bounded:
        epsilon = config.epsilons[0]
    prob = _problem(x, y, config, epsilon if config.bounded else None, feature_range)
    rng = np.random.default_rng(config.seed)
    best, best_steps, trace = _run_once(oracle, prob, config, rng)
    if config.restarts > 1:
        best, best_steps = _best_of_restarts(oracle, prob, config, rng, best, best_steps)
    return _score(eval_oracle or oracle, prob, config, best, best_steps, trace)


def _best_of_restarts(
    oracle: InputOracle,
    prob: _Problem,
    config: AttackConfig,
    rng: np.random.Generator,
    best: np.ndarray,
    best_steps: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    def rank(x_adv: np.ndarray) -> np.ndarray:
        reached = _goal_reached(
            oracle.predict_proba(x_adv).argmax(axis=1), prob.labels, config.targeted
        )
        return np.stack([reached.astype(float), _objective(oracle, prob, x_adv)], axis=1)

    best_rank = rank(best)
    for _ in range(config.restarts - 1):
        cand, cand_steps, _ = _run_once(oracle, prob, config, rng)
        cand_rank = rank(cand)
        better = (cand_rank[:, 0] > best_rank[:, 0]) | (
            (cand_rank[:, 0] == best_rank[:, 0]) & (cand_rank[:, 1] > best_rank[:, 1])
        )
        best[better], best_steps[better], best_rank[better] = (
            cand[better],
            cand_steps[better],
            cand_rank[better],
        )
    return best, best_steps


def _score(
    oracle: InputOracle,
    prob: _Problem,
    config: AttackConfig,
    x_adv: np.ndarray,
    steps: np.ndarray,
    trace: np.ndarray,
) -> AttackResult:
    probs_adv = np.asarray(oracle.predict_proba(x_adv))
    pred_clean = np.asarray(oracle.predict_proba(prob.x)).argmax(axis=1)
    pred_adv = probs_adv.argmax(axis=1)
    linf, l2 = norms.perturbation_norms(x_adv - prob.x)
    return AttackResult(
        method=config.describe(),
        epsilon=prob.epsilon,
        y=prob.y,
        pred_clean=pred_clean,
        pred_adv=pred_adv,
        probs_adv=probs_adv,
        success=_goal_reached(pred_adv, prob.labels, config.targeted),
        linf=linf,
        l2=l2,
        steps=steps,
        x_adv=x_adv,
        objective_trace=trace,
    )


def attack_sweep(
    classifier: Any, theta: np.ndarray, batch: Any, config: AttackConfig
) -> tuple[AttackResult, ...]:
    """Attack a qadl ``Classifier`` at every epsilon of ``config`` (one result per epsilon).

    Args:
        classifier: a ``qadl.learn.classifier.Classifier`` whose circuit has input features.
        theta: its trained parameters.
        batch: a ``qadl.learn.data.Dataset`` with ``x``.
        config: the attack.

    Returns:
        One ``AttackResult`` per epsilon (a single one for unbounded attacks).
    """
    if batch.x is None:
        raise ValueError(
            "classical attacks need a dataset with features x; use quantum.py for states"
        )
    oracle = ClassifierOracle(classifier, np.asarray(theta), loss=config.loss)
    epsilons = config.epsilons if config.bounded else (None,)
    return tuple(
        craft(oracle, batch.x, batch.y, config, epsilon=eps, feature_range=batch.feature_range)
        for eps in epsilons
    )


def attack(classifier: Any, theta: np.ndarray, batch: Any, config: AttackConfig) -> AttackResult:
    """Attack a qadl ``Classifier`` at one epsilon (the first of a sweep)."""
    first = config.at(config.epsilons[0]) if config.bounded else config
    return attack_sweep(classifier, theta, batch, first)[0]


def adversarial_dataset(batch: Any, result: AttackResult, name_suffix: str = "adv") -> Any:
    """The batch with its inputs (or states) replaced by the adversarial ones, labels kept."""
    changes: dict[str, Any] = {}
    if result.x_adv is not None:
        changes["x"] = result.x_adv
    if result.states_adv is not None:
        changes["states"] = result.states_adv
    if hasattr(batch, "name"):
        changes["name"] = f"{batch.name}-{name_suffix}"
    return replace(batch, **changes)
