"""A fitted kernel classifier seen as a differentiable classifier (what attacks query).

``KernelClassifier`` offers the interface of the variational ``Classifier`` that the
attacks, transfers and evaluations use (``predict_proba`` and ``loss_and_grads`` with
input gradients; θ is empty), so FGSM/BIM/PGD/MIM run on kernels unchanged.

Every learner here is affine in the kernel row: decision values d = A·K(x, X_train) + b.
Class scores (logits) and their probabilities (softmax of the logits):

- ``svm``, two classes: logits (0, d), so p = sigmoid(d) and the decision is sign(d)
  as in scikit-learn. More classes (one-vs-one): scikit-learn's ``ovr`` decision
  function, votes + Σconf / (3(|Σconf| + 1)); its argmax is ``SVC``'s decision, and its
  gradient is that of the confidence term (the votes are piecewise constant).
- ``kernel_ridge``: logits = the regressed one-hot scores (argmax = its decision).
- ``logistic``: logits = its decision function; the probabilities equal scikit-learn's.

The input gradient chains loss → probabilities → logits → d → weights over the training
samples W = (∂L/∂d)·A → one adjoint sweep (``KernelMap.row_vjp``). With ``shots`` the
probabilities (the decisions) come from sampled kernel rows, as the evaluation's; the
gradients are exact.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qadl.backends.sim import Gradients
from qadl.learn.kernel_classifiers import FittedKernelClassifier
from qadl.learn.kernel_grads import KernelMap
from qadl.learn.losses import loss_and_grad

__all__ = ["DecisionHead", "KernelClassifier", "decision_head"]

_ABSENT = -1e9
"""Logit of a class the training labels never held (probability 0, no gradient)."""


@dataclass(frozen=True)
class DecisionHead:
    """Decision values d = rows[:, columns] @ coef.T + intercept, and logits from them."""

    kind: str
    coef: np.ndarray
    """(P, M) weights over the training samples ``columns``."""
    intercept: np.ndarray
    """(P,)."""
    columns: np.ndarray
    """(M,) training samples the decision reads (an SVM's support vectors)."""
    classes: np.ndarray
    """Labels of the logit columns the learner knows (scikit-learn's ``classes_``)."""
    num_classes: int

    def decisions(self, rows: np.ndarray) -> np.ndarray:
        """(B, P) decision values from kernel rows over ``columns`` (B, M)."""
        return rows @ self.coef.T + self.intercept

    def logits(self, dec: np.ndarray) -> np.ndarray:
        """(B, C) class scores; classes never seen in training get ``_ABSENT``."""
        known = self._known(dec)
        out = np.full((len(dec), self.num_classes), _ABSENT)
        out[:, self.classes] = known
        return out

    def logits_vjp(self, dec: np.ndarray, g_logits: np.ndarray) -> np.ndarray:
        """∂L/∂d (B, P) from ∂L/∂logits (B, C)."""
        g = g_logits[:, self.classes]
        if self.kind == "kernel_ridge" or (self.kind == "logistic" and dec.shape[1] > 1):
            return g
        if dec.shape[1] == 1:  # binary: logits (0, d)
            return g[:, 1:2]
        conf = self._confidence_sums(dec)
        g_conf = g / (3.0 * (np.abs(conf) + 1.0) ** 2)
        out = np.empty_like(dec)
        for k, (i, j) in enumerate(self._pairs()):
            out[:, k] = g_conf[:, i] - g_conf[:, j]
        return out

    def _known(self, dec: np.ndarray) -> np.ndarray:
        if self.kind == "kernel_ridge" or (self.kind == "logistic" and dec.shape[1] > 1):
            return dec
        if dec.shape[1] == 1:
            return np.concatenate([np.zeros_like(dec), dec], axis=1)
        conf = self._confidence_sums(dec)
        votes = np.zeros_like(conf)
        for k, (i, j) in enumerate(self._pairs()):
            votes[:, i] += dec[:, k] >= 0  # scikit-learn: d ≥ 0 votes for the first class
            votes[:, j] += dec[:, k] < 0
        return votes + conf / (3.0 * (np.abs(conf) + 1.0))

    def _pairs(self) -> list[tuple[int, int]]:
        c = len(self.classes)
        return [(i, j) for i in range(c) for j in range(i + 1, c)]

    def _confidence_sums(self, dec: np.ndarray) -> np.ndarray:
        """Per class: Σ of its one-vs-one decision values (positive for the first class)."""
        conf = np.zeros((len(dec), len(self.classes)))
        for k, (i, j) in enumerate(self._pairs()):
            conf[:, i] += dec[:, k]
            conf[:, j] -= dec[:, k]
        return conf


def decision_head(fitted: FittedKernelClassifier, num_train: int) -> DecisionHead:
    """The affine decision of a fitted learner over its training kernel row.

    An SVM's coefficients are read by probing its decision function with unit kernel
    rows at the support vectors (it is affine in the row), so scikit-learn's sign and
    pair conventions are kept as they are.
    """
    est, n = fitted.estimator, num_train
    if fitted.kind == "kernel_ridge":
        coef = np.asarray(est.dual_coef_).reshape(n, -1).T
        return DecisionHead("kernel_ridge", coef, np.zeros(len(coef)), np.arange(n),
                            np.arange(coef.shape[0]), fitted.num_classes)
    classes = np.asarray(est.classes_, dtype=np.int64)
    if fitted.kind == "logistic":
        return DecisionHead("logistic", np.asarray(est.coef_), np.asarray(est.intercept_),
                            np.arange(n), classes, fitted.num_classes)
    probe = copy.copy(est)
    probe.decision_function_shape = "ovo"
    columns = np.asarray(est.support_, dtype=np.int64)
    base = np.asarray(probe.decision_function(np.zeros((1, n)))).reshape(1, -1)
    unit = np.zeros((len(columns), n))
    unit[np.arange(len(columns)), columns] = 1.0
    coef = (np.asarray(probe.decision_function(unit)).reshape(len(columns), -1) - base).T
    return DecisionHead("svm", coef, base[0], columns, classes, fitted.num_classes)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True, eq=False)
class KernelClassifier:
    """A fitted kernel classifier with the ``Classifier`` interface (θ is empty)."""

    kernel: KernelMap
    head: DecisionHead
    shots: int | None = None
    """Kernel entries are estimated from this many compute-uncompute shots (fidelity only)."""
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    """Stream of the sampled kernel rows (``shots``)."""

    @staticmethod
    def of(circuit: Any, kind: str, gamma: float, train: np.ndarray,
           fitted: FittedKernelClassifier, *, shots: int | None = None,
           rng: np.random.Generator | None = None, memory_bytes: int = 256 << 20,
           theta: np.ndarray | None = None) -> KernelClassifier:
        """The classifier of a learner fitted on the kernel of ``train`` (states or Bloch
        vectors), keeping only the training samples its decision reads (an SVM's support
        vectors), so that no attack step copies the others."""
        head = decision_head(fitted, len(train))
        kmap = KernelMap(circuit, kind, gamma, np.ascontiguousarray(train[head.columns]),
                         memory_bytes, theta)
        head = replace(head, columns=np.arange(len(head.columns)))
        return KernelClassifier(kmap, head, shots, rng or np.random.default_rng(0))

    @property
    def num_classes(self) -> int:
        """C."""
        return self.head.num_classes

    @property
    def num_params(self) -> int:
        """0: the kernel has no trainable parameters."""
        return 0

    def _rows(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        if x is None:
            raise ValueError("a kernel classifier reads features x")
        return self.kernel.rows(np.asarray(x, dtype=np.float64), self._columns())

    def _columns(self) -> np.ndarray | None:
        """None when the kernel's training side is exactly the decision's columns."""
        cols = self.head.columns
        whole = len(cols) == len(self.kernel.train) and np.array_equal(cols, np.arange(len(cols)))
        return None if whole else cols

    def predict_proba(self, theta: Any = None, x: Any = None, state: Any = None,
                      delta: Any = None) -> np.ndarray:
        """Class probabilities (B, C): softmax of the logits (see the module doc)."""
        if state is not None or delta is not None:
            raise ValueError("a kernel classifier reads features only")
        rows, _ = self._rows(x)
        if self.shots is not None:
            rows = self.rng.binomial(self.shots, np.clip(rows, 0.0, 1.0)) / self.shots
        return _softmax(self.head.logits(self.head.decisions(rows)))

    def predict(self, theta: Any = None, x: Any = None, state: Any = None,
                delta: Any = None) -> np.ndarray:
        """Predicted labels (B,) (ties: the lowest class)."""
        return np.argmax(self.predict_proba(theta, x=x, state=state, delta=delta), axis=1)

    def loss_and_grads(self, theta: Any, y: np.ndarray, x: Any = None, state: Any = None,
                       delta: Any = None, *, loss: str = "cross_entropy",
                       method: str = "adjoint") -> tuple[np.ndarray, Gradients]:
        """Per-sample losses (exact kernel) and the gradient of their mean w.r.t. x.

        The ``Gradients`` hold the class probabilities as ``outputs``, an empty θ and
        d(mean loss)/dx (B, F).
        """
        if method != "adjoint":
            raise ValueError("kernel input gradients are computed with the adjoint only")
        if state is not None or delta is not None:
            raise ValueError("a kernel classifier reads features only")
        x = np.asarray(x, dtype=np.float64)
        rows, psi = self._rows(x)
        dec = self.head.decisions(rows)
        probs = _softmax(self.head.logits(dec))
        per_sample, dprobs = loss_and_grad(loss, probs, np.asarray(y, dtype=np.int64))
        dprobs = dprobs / len(per_sample)
        g_logits = probs * (dprobs - (probs * dprobs).sum(axis=1, keepdims=True))
        weights = self.head.logits_vjp(dec, g_logits) @ self.head.coef
        g_x = self.kernel.row_vjp(x, psi, weights, rows, self._columns())
        return per_sample, Gradients(outputs=probs, theta=np.zeros(0), x=g_x)
