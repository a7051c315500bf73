"""Black-box transfer: craft on a surrogate (qadl or scikit-learn model), score on the target.

The scikit-learn surrogates get exact input gradients without autodiff: logistic
regression in closed form, and the MLP by backpropagation through ``coefs_`` and
``intercepts_`` with its own hidden activation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from qadl.adversary.attacks import ClassifierOracle, InputOracle, craft
from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.quantum import LocalRotationAdversary, quantum_attack_sweep
from qadl.adversary.result import AttackResult

__all__ = [
    "SklearnSurrogate",
    "fit_surrogate",
    "quantum_transfer_attack",
    "transfer_attack",
]

SurrogateKind = Literal["logistic", "mlp"]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


_ACTIVATIONS = {
    "identity": (lambda z: z, lambda z, a: np.ones_like(z)),
    "logistic": (_sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a**2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, a: (z > 0).astype(float)),
}


def _onehot(y: np.ndarray, num_classes: int) -> np.ndarray:
    out = np.zeros((len(y), num_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


@dataclass(frozen=True)
class SklearnSurrogate:
    """A fitted ``LogisticRegression`` or ``MLPClassifier`` as an ``InputOracle``.

    Labels must be ``0 … C-1`` and every class must occur in the training set (so the
    estimator's ``classes_`` is ``arange(C)``).
    """

    model: Any
    """The fitted scikit-learn estimator."""

    @property
    def num_classes(self) -> int:
        """C."""
        return len(self.model.classes_)

    def _logits(self, x: np.ndarray) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Output pre-activations and, for the MLP, each hidden layer's (z, a)."""
        if hasattr(self.model, "coef_"):
            return x @ self.model.coef_.T + self.model.intercept_, []
        act, _ = _ACTIVATIONS[self.model.activation]
        layers: list[tuple[np.ndarray, np.ndarray]] = []
        a = x
        for w, b in zip(self.model.coefs_[:-1], self.model.intercepts_[:-1], strict=True):
            z = a @ w + b
            a = act(z)
            layers.append((z, a))
        return a @ self.model.coefs_[-1] + self.model.intercepts_[-1], layers

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(B, C)`` (equal to the estimator's ``predict_proba``)."""
        logits, _ = self._logits(np.asarray(x, dtype=float))
        if logits.shape[1] == 1:  # binary: one logit for class 1
            p1 = _sigmoid(logits[:, 0])
            return np.stack([1.0 - p1, p1], axis=1)
        return _softmax(logits)

    def loss_and_input_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample cross-entropy and its exact gradient with respect to each input."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=int)
        logits, layers = self._logits(x)
        probs = self.predict_proba(x)
        loss = -np.log(np.clip(probs[np.arange(len(y)), y], 1e-300, None))
        if logits.shape[1] == 1:
            dz = (probs[:, 1] - (y == 1))[:, None]
        else:
            dz = probs - _onehot(y, logits.shape[1])
        return loss, self._backprop(dz, layers)

    def _backprop(self, dz: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        if hasattr(self.model, "coef_"):
            return dz @ self.model.coef_
        _, dact = _ACTIVATIONS[self.model.activation]
        for i in range(len(layers), 0, -1):
            z, a = layers[i - 1]
            dz = (dz @ self.model.coefs_[i].T) * dact(z, a)
        return dz @ self.model.coefs_[0].T


def fit_surrogate(
    train: Any,
    kind: SurrogateKind = "logistic",
    *,
    seed: int = 0,
    hidden: tuple[int, ...] = (64,),
    activation: str = "relu",
    max_iter: int = 500,
) -> SklearnSurrogate:
    """Train a scikit-learn surrogate on the same training set as the target.

    Args:
        train: a ``Dataset`` with features ``x``.
        kind: ``logistic`` (LogisticRegression) or ``mlp`` (MLPClassifier).
        seed: random state of the estimator.
        hidden: hidden layer sizes of the MLP.
        activation: hidden activation of the MLP (identity, logistic, tanh, relu).
        max_iter: optimiser iterations.
    """
    if train.x is None:
        raise ValueError("a scikit-learn surrogate needs classical features x")
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=max_iter, random_state=seed, C=10.0)
    elif kind == "mlp":
        from sklearn.neural_network import MLPClassifier

        model = MLPClassifier(
            hidden_layer_sizes=hidden, activation=activation, max_iter=max_iter, random_state=seed
        )
    else:
        raise ValueError(f"unknown surrogate kind {kind!r}; expected 'logistic' or 'mlp'")
    model.fit(train.x, train.y)
    if not np.array_equal(model.classes_, np.arange(train.num_classes)):
        raise ValueError("every class 0..C-1 must occur in the surrogate's training set")
    return SklearnSurrogate(model)


def transfer_attack(
    source: InputOracle,
    target_classifier: Any,
    target_theta: np.ndarray,
    batch: Any,
    config: AttackConfig,
) -> tuple[AttackResult, ...]:
    """Craft adversarial examples on ``source`` and score them on the target model.

    Args:
        source: the surrogate the adversary can differentiate: a ``SklearnSurrogate``,
            or ``ClassifierOracle(other_classifier, other_theta)``.
        target_classifier: the attacked qadl ``Classifier`` (only queried for scoring).
        target_theta: its parameters.
        batch: a ``Dataset`` with features ``x``.
        config: the attack, crafted with the source's gradients.

    Returns:
        One result per epsilon; predictions and success refer to the target model.
    """
    target = ClassifierOracle(target_classifier, np.asarray(target_theta), loss=config.loss)
    epsilons = config.epsilons if config.bounded else (None,)
    return tuple(
        craft(
            source,
            batch.x,
            batch.y,
            config,
            epsilon=eps,
            feature_range=batch.feature_range,
            eval_oracle=target,
        )
        for eps in epsilons
    )


def quantum_transfer_attack(
    source: LocalRotationAdversary,
    source_theta: np.ndarray,
    target_classifier: Any,
    target_theta: np.ndarray,
    batch: Any,
    config: QuantumAttackConfig,
) -> tuple[AttackResult, ...]:
    """Adversarial states crafted with local rotations against ``source``, scored on the target.

    Ren et al.'s protocol for quantum data: perturb the input states of the clean model, then
    ask how the (adversarially trained) target classifies them. Norms and fidelities are those
    of the crafted perturbation; predictions and success refer to the target model.
    """
    clean = np.argmax(target_classifier.predict_proba(target_theta, state=batch.states), axis=1)
    results = []
    for crafted in quantum_attack_sweep(source, source_theta, batch, config):
        probs = np.asarray(target_classifier.predict_proba(target_theta, state=crafted.states_adv))
        pred = np.argmax(probs, axis=1)
        success = pred == config.target if config.targeted else pred != batch.y
        results.append(
            replace(crafted, pred_clean=clean, pred_adv=pred, probs_adv=probs, success=success)
        )
    return tuple(results)
