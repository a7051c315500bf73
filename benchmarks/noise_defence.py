"""Noise as a defence (Du et al., Phys. Rev. Research 3, 023153 (2021)).

Accuracy vs depolarizing strength.

Run from the repository root::

    python benchmarks/noise_defence.py --out docs/figures/noise_defence.png

The classifier is the 3-qubit circuit of ``examples/noise_defence.qadl`` (RY encoding of
3 features in [0, π], 3 layers of RY rotations with CNOT(0,1), CNOT(1,2), read out as the
marginal of qubit 2). Data: teacher-student labels of the noiseless circuit at a seeded
random teacher θ*, 300 samples (200 train / 100 test). For every depolarizing strength
``p`` (single-qubit gates; CNOTs get ``min(4p, 1)``, Du et al.'s 1:4 ratio) the model is
trained on the noisy density-matrix simulator (adjoint gradients through the channels),
then attacked white-box with BIM (L∞, 10 steps, clipped to [0, π]) through the same noisy
model; the table lists clean and robust test accuracy per ε, and the plot draws them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from qadl.adversary.attacks import attack_sweep
from qadl.adversary.config import AttackConfig
from qadl.backends.sim.noisy import NoisySimulator
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.target import NoiseModel
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.optimizers import Adam
from qadl.learn.train import TrainConfig, fit

STRENGTHS = (0.0, 0.01, 0.03, 0.05, 0.1, 0.2)
EPSILONS = (0.05, 0.1, 0.2, 0.4)


def du_circuit() -> Circuit:
    """RY(x_i) encoding, then 3 × (RY(θ) on each qubit, CX(0,1), CX(1,2)); readout qubit 2."""
    ops = [Op(Gate.RY, (i,), (E.x(i),)) for i in range(3)]
    for layer in range(3):
        ops += [Op(Gate.RY, (i,), (E.theta(3 * layer + i),)) for i in range(3)]
        ops += [Op(Gate.CX, (0, 1)), Op(Gate.CX, (1, 2))]
    return Circuit(
        3, tuple(ops), 9, 3, readout=Readout("probs", (2,), num_classes=2), name="du2021"
    )


def teacher_data(seed: int) -> tuple[Dataset, Dataset]:
    """Labels of the noiseless circuit at a random teacher θ*, on 300 uniform inputs."""
    rng = np.random.default_rng(seed)
    circuit = du_circuit()
    teacher = rng.uniform(0, 2 * np.pi, circuit.num_params)
    x = rng.uniform(0, np.pi, (300, 3))
    y = NoisySimulator(circuit).outputs(teacher, x).argmax(axis=1)

    def make(rows: slice, name: str) -> Dataset:
        return Dataset(x=x[rows], y=y[rows], num_classes=2, feature_range=(0.0, np.pi), name=name)

    return make(slice(0, 200), "du-train"), make(slice(200, 300), "du-test")


def run_strength(p: float, train: Dataset, test: Dataset, seed: int, epochs: int) -> dict:
    """Train under depolarizing ``p`` and attack through the same noisy model."""
    circuit = du_circuit()
    noise = NoiseModel(depolarizing_1q=p, depolarizing_2q=min(4 * p, 1.0))
    clf = Classifier(NoisySimulator(circuit, noise, "density"), circuit.readout)
    theta0 = np.random.default_rng(seed).uniform(0, 2 * np.pi, circuit.num_params)
    config = TrainConfig(
        loss="cross_entropy", optimizer=Adam(lr=0.05), epochs=epochs, batch=20, seed=seed
    )
    theta = fit(clf, theta0, train, config, progress=False).theta
    clean = clf.accuracy(theta, test.y, x=test.x)
    attack = AttackConfig("bim", norm="linf", epsilon=EPSILONS, steps=10, clip=(0.0, float(np.pi)))
    results = attack_sweep(clf, theta, test, attack)
    robust = [float(np.mean(r.pred_adv == test.y)) for r in results]
    margin = np.abs(clf.predict_proba(theta, x=test.x)[:, 0] - 0.5).mean()
    return {"p": p, "clean": clean, "robust": robust, "margin": float(margin)}


def plot(rows: list[dict], path: str) -> None:
    """Robust accuracy vs ε, one line per depolarizing strength."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for row in rows:
        ax.plot(
            (0.0, *EPSILONS), (row["clean"], *row["robust"]), marker="o", label=f"p = {row['p']:g}"
        )
    ax.set_xlabel("BIM L∞ budget ε (radians)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Du et al. classifier: accuracy under attack vs depolarizing p")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    """Sweep the depolarizing strength and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default="docs/figures/noise_defence.png")
    args = parser.parse_args(argv)
    train, test = teacher_data(args.seed)
    rows = []
    t0 = time.perf_counter()
    for p in STRENGTHS:
        rows.append(run_strength(p, train, test, args.seed, args.epochs))
    print(
        f"train {len(train.y)} / test {len(test.y)}, seed {args.seed}, {args.epochs} epochs; "
        f"{time.perf_counter() - t0:.1f} s"
    )
    print(
        "| p (1q; 2q = min(4p, 1)) | clean | "
        + " | ".join(f"BIM ε={e:g}" for e in EPSILONS)
        + " | mean |P0−½| |"
    )
    print("|---|---|" + "---|" * len(EPSILONS) + "---|")
    for row in rows:
        cells = " | ".join(f"{a:.2f}" for a in row["robust"])
        print(f"| {row['p']:g} | {row['clean']:.2f} | {cells} | {row['margin']:.3f} |")
    plot(rows, args.out)
    print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
