"""Tiny models for the adversary tests: a NumPy softmax oracle and small IR classifiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate


@dataclass(frozen=True)
class SoftmaxOracle:
    """Multinomial logistic regression ``softmax(x W + b)`` with exact input gradients.

    A model-free stand-in for the ``InputOracle`` protocol: the attack loop can be
    checked against closed-form answers without any quantum simulation.
    """

    w: np.ndarray
    b: np.ndarray

    def predict_proba(self, x):
        z = np.asarray(x) @ self.w + self.b
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def loss_and_input_grad(self, x, y):
        p = self.predict_proba(x)
        rows = np.arange(len(y))
        loss = -np.log(np.clip(p[rows, y], 1e-300, None))
        d = p.copy()
        d[rows, y] -= 1.0
        return loss, d @ self.w.T


def softmax_problem(seed: int = 0, n: int = 40, f: int = 6, c: int = 3):
    """A random softmax model and inputs in [0, 1] labelled by the model itself."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(f, c)) * 2.0
    oracle = SoftmaxOracle(w, -0.5 * w.sum(axis=0))  # centred on the cube: classes balanced
    x = rng.uniform(0.0, 1.0, size=(n, f))
    y = oracle.predict_proba(x).argmax(axis=1)
    return oracle, x, y


def encoding_circuit(num_qubits: int = 3, layers: int = 2, num_classes: int = 2) -> Circuit:
    """RY(θ + x) angle encoding on every qubit, then RY/RZ(θ) layers with a CZ chain.

    Readout: the marginal of qubit 0 (two classes) or of qubits (0, 1) (up to four).
    """
    n = num_qubits
    ops = [Op(Gate.RY, (q,), (E.theta(q) + E.x(q),)) for q in range(n)]
    k = n
    for _ in range(layers):
        ops += [Op(Gate.CZ, (q, q + 1)) for q in range(n - 1)]
        for q in range(n):
            ops.append(Op(Gate.RY, (q,), (E.theta(k),)))
            ops.append(Op(Gate.RZ, (q,), (E.theta(k + 1),)))
            k += 2
        ops += [Op(Gate.RY, (q,), (E.theta(k + q) + 0.5 * E.x(q),)) for q in range(n)]
        k += n
    qubits = (0,) if num_classes == 2 else (0, 1)
    return Circuit(
        n,
        tuple(ops),
        num_params=k,
        num_features=n,
        readout=Readout("probs", qubits=qubits, num_classes=num_classes),
        name="enc",
    )


def state_circuit(num_qubits: int = 3, layers: int = 2) -> Circuit:
    """A classifier of input states: RY/RZ(θ) layers with CZ chains, readout qubit 0."""
    n = num_qubits
    ops = []
    k = 0
    for _ in range(layers):
        for q in range(n):
            ops.append(Op(Gate.RY, (q,), (E.theta(k),)))
            ops.append(Op(Gate.RZ, (q,), (E.theta(k + 1),)))
            k += 2
        ops += [Op(Gate.CZ, (q, q + 1)) for q in range(n - 1)]
    ops.append(Op(Gate.RY, (0,), (E.theta(k),)))
    return Circuit(
        n,
        tuple(ops),
        num_params=k + 1,
        state_input=True,
        readout=Readout("probs", qubits=(0,), num_classes=2),
        name="state",
    )


def classifier_for(circuit: Circuit):
    """A ``Classifier`` over the compiled simulator of ``circuit``."""
    from qadl.backends.sim import Simulator
    from qadl.learn.classifier import Classifier

    return Classifier(Simulator(circuit), circuit.readout)


def teacher_dataset(
    clf,
    theta,
    *,
    n: int = 60,
    num_features: int = 3,
    margin: float = 0.1,
    seed: int = 0,
    lo: float = 0.0,
    hi: float = 1.5,
):
    """Inputs in ``[lo, hi]`` labelled by the model itself, keeping points with a clear margin.

    The model at ``theta`` is then 100% accurate on it, and attacks have real work to do.
    """
    from qadl.learn.data import Dataset

    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, size=(20 * n, num_features))
    p = clf.predict_proba(theta, x=x)
    top = np.sort(p, axis=1)
    keep = np.flatnonzero(top[:, -1] - top[:, -2] > margin)[:n]
    assert keep.size == n, "the teacher has too few confident points"
    x, y = x[keep], p[keep].argmax(axis=1)
    return Dataset(x=x, y=y, num_classes=p.shape[1], feature_range=(lo, hi), name="teacher")


@dataclass(frozen=True)
class FiniteDifferenceOracle:
    """Input gradients of a Classifier's per-sample cross-entropy by central differences."""

    clf: object
    theta: np.ndarray
    h: float = 1e-6

    def predict_proba(self, x):
        return self.clf.predict_proba(self.theta, x=x)

    def _loss(self, x, y):
        p = self.predict_proba(x)
        return -np.log(np.maximum(p[np.arange(len(y)), y], 1e-12))

    def loss_and_input_grad(self, x, y):
        grad = np.zeros_like(x)
        for j in range(x.shape[1]):
            e = np.zeros_like(x)
            e[:, j] = self.h
            grad[:, j] = (self._loss(x + e, y) - self._loss(x - e, y)) / (2 * self.h)
        return self._loss(x, y), grad
