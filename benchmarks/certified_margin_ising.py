"""Why ``margin_training(certify = fidelity)`` barely moves the radius of a small Ising classifier.

The model: 3 qubits, ``ry`` on each, a CNOT chain, ``rz`` on each, qubit 1 read as two
classes, on ``builtin.ising(qubits = 3)`` (the certificate tests' model). It is trained
plainly (40 epochs of Adam), then fine-tuned with the margin hinge at several (λ, κ,
epochs), and plainly for comparison. Printed per run: accuracy and the median and mean
exact radius √(1 − F*) on the training and test states (0 for a wrong decision), so the
table shows whether the hinge raises the radii or only moves them between samples.

Also printed: the θ gradient of the penalised loss against central finite differences;
the largest mean radius *any* classifier that is right on every training state can have
(a linear program: the Fubini–Study angles of two states of different classes, each
within its radius of the decision boundary, add up to at most the angle between them);
and the mean radius when the hinge alone is maximised from random starts (λ = 100,
κ = 1), with the accuracy that leaves.

Usage: ``python benchmarks/certified_margin_ising.py``
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from qadl.adversary.certify_exact import closest_flips
from qadl.api import loads
from qadl.api_model import data_splits
from qadl.learn.margin import MarginLoss
from qadl.learn.optimizers import Adam
from qadl.learn.train import TrainConfig, fit
from qadl.run.build import classifier_of

SOURCE = """
data chain = builtin.ising(qubits = 3, samples = 40, test = 0.5, seed = 3)
model phase(psi: state) on q[3] {
    param θ[6]
    for j in 0..3 { ry(θ[j]) q[j] }
    cx q[0], q[1]
    cx q[1], q[2]
    for j in 0..3 { rz(θ[3 + j]) q[j] }
    readout probs(q[1]) -> classes 2
}
"""


def radii(clf, theta, data) -> np.ndarray:
    return closest_flips(clf.sim, clf.readout, theta, data.states, data.y).radius


def row(label: str, clf, theta, train, test) -> str:
    cells = [label]
    for data in (train, test):
        r = radii(clf, theta, data)
        acc = float(np.mean(clf.predict(theta, state=data.states) == data.y))
        cells.append(f"{acc:.2f} / {np.median(r):.3f} / {np.mean(r):.3f}")
    return "| " + " | ".join(cells) + " |"


def lp_mean_radius(data) -> float:
    """Largest mean sin(angle) radius of a classifier right on every state of ``data``."""
    angles = np.arccos(np.clip(np.abs(data.states.conj() @ data.states.T), 0.0, 1.0))
    n = len(data.y)
    rows, bounds = [], []
    for i in range(n):
        for j in range(i + 1, n):
            if data.y[i] != data.y[j]:
                a = np.zeros(n)
                a[[i, j]] = 1.0
                rows.append(a)
                bounds.append(angles[i, j])
    res = linprog(-np.ones(n), A_ub=np.array(rows), b_ub=np.array(bounds),
                  bounds=[(0.0, np.pi / 2)] * n)
    return float(np.mean(np.sin(res.x)))


def main() -> None:
    program = loads(SOURCE, "ising.qadl")
    clf = classifier_of(program, "phase")
    train, test = data_splits(program, "chain")
    model = program.models["phase"]
    clean = fit(clf, model.initial_params(0), train,
                TrainConfig(epochs=40, batch=10, seed=0, optimizer=Adam(lr=0.1)),
                progress=False).theta
    cells = "accuracy / median / mean radius"
    print(f"| run | train: {cells} | test: {cells} |")
    print("|---|---|---|")
    print(row("trained (40 epochs)", clf, clean, train, test))
    for epochs in (5, 20):
        plain = fit(clf, clean, train, TrainConfig(epochs=epochs, batch=10, seed=1,
                                                     optimizer=Adam(lr=0.05)), progress=False)
        print(row(f"plain fine-tuning, {epochs} epochs", clf, plain.theta, train, test))
    for lam, kappa, epochs in ((1.0, 0.3, 5), (1.0, 0.15, 5), (5.0, 0.3, 5), (5.0, 0.3, 20),
                               (20.0, 0.3, 20)):
        loss = MarginLoss(weight=lam, margin=kappa, certify="fidelity")
        config = TrainConfig(loss=loss, epochs=epochs, batch=10, seed=1, optimizer=Adam(lr=0.05))
        theta = fit(clf, clean, train, config, progress=False).theta
        print(row(f"margin λ = {lam:g}, κ = {kappa:g}, {epochs} epochs", clf, theta, train, test))

    loss = MarginLoss(weight=2.0, margin=0.3, certify="fidelity")
    _, grads = clf.loss_and_grads(clean, train.y, state=train.states, loss=loss)

    def mean_loss(t: np.ndarray) -> float:
        return float(np.mean(loss(clf.predict_proba(t, state=train.states), train.y)[0]))

    fd = np.array([(mean_loss(clean + 1e-6 * e) - mean_loss(clean - 1e-6 * e)) / 2e-6
                   for e in np.eye(clean.size)])
    print(f"\nθ gradient of the penalised loss: {np.round(grads.theta, 6)}")
    print(f"central differences:              {np.round(fd, 6)}")
    print(f"largest mean radius of a classifier right on every training state: "
          f"{lp_mean_radius(train):.3f} (test states: {lp_mean_radius(test):.3f})")
    rng = np.random.default_rng(0)
    for seed in range(3):
        start = rng.uniform(-np.pi, np.pi, clean.size)
        hinge = MarginLoss(weight=100.0, margin=1.0, certify="fidelity")
        config = TrainConfig(loss=hinge, epochs=60, batch=20, seed=1, optimizer=Adam(lr=0.05))
        theta = fit(clf, start, train, config, progress=False).theta
        print(row(f"hinge alone, random start {seed}", clf, theta, train, test))


if __name__ == "__main__":
    main()
