"""Attacks on the kernel SVM of examples/havlicek2019_kernel.qadl: PGD against random noise
of the same L∞ norm, and the cost of one input gradient (adjoint sweep vs finite differences).

Usage: python benchmarks/kernel_attacks.py [--qubits 2] [--train 100] [--test 100]

The data, kernel, SVM and PGD settings are the example's (ad hoc data, seed 7, gap 0.3;
ZZ map of depth 2; SVC(C = 1); PGD L∞, 20 steps, random start, clipped to [0, 2π]).
With ``--qubits n > 2`` the features are n uniform angles with the labels of a random
parity of the first two (only the timing is meaningful then).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from qadl.adversary.config import AttackConfig
from qadl.adversary.evaluate import evaluate
from qadl.api import loads
from qadl.learn.data import Dataset
from qadl.learn.havlicek import havlicek
from qadl.learn.kernel_classifiers import fit_kernel_classifier
from qadl.learn.kernel_oracle import KernelClassifier
from qadl.learn.kernels import feature_states, fidelity_gram

KERNEL = """import encodings.zz_feature_map
kernel k(x: float[{n}]) on q[{n}] {{ zz_feature_map(q, x, reps = 2) }}
"""


def _data(qubits: int, train: int, test: int) -> tuple[Dataset, Dataset]:
    if qubits == 2:
        return havlicek(samples=train + test, gap=0.3, test=test / (train + test), seed=7)
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 2 * np.pi, size=(train + test, qubits))
    y = (np.cos(x[:, 0]) * np.cos(x[:, 1]) > 0).astype(np.int64)
    box = (0.0, 2 * np.pi)
    return (Dataset(x=x[:train], y=y[:train], num_classes=2, feature_range=box, name="train"),
            Dataset(x=x[train:], y=y[train:], num_classes=2, feature_range=box, name="test"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qubits", type=int, default=2)
    parser.add_argument("--train", type=int, default=100)
    parser.add_argument("--test", type=int, default=100)
    args = parser.parse_args()
    train, test = _data(args.qubits, args.train, args.test)
    fm = loads(KERNEL.format(n=args.qubits), "k.qadl").kernels["k"].feature_map
    states = feature_states(fm, train.x)
    fitted = fit_kernel_classifier("svm", 1.0, fidelity_gram(states), train.y, 2)
    clf = KernelClassifier.of(fm, "fidelity", 1.0, states, fitted)
    eps = (0.1, 0.2, 0.4)
    common = {"norm": "linf", "epsilon": eps, "seed": 7, "clip": (0.0, 2 * np.pi)}
    attacks = {
        "pgd": AttackConfig(method="pgd", steps=20, random_start=True, **common),
        "noise": AttackConfig(method="noise", **common),
    }
    result = evaluate(clf, np.zeros(0), test, attacks, fidelity=False)
    print(f"kernel SVM, {args.qubits} qubits, {len(train)} training points "
          f"({fitted.support_size()} support vectors), {len(test)} test points")
    print(f"clean accuracy {result.clean_accuracy:.2f}")
    for name in attacks:
        accs = " / ".join(f"{p.robust_accuracy:.2f}" for p in result.points if p.attack == name)
        print(f"  {name:5s} L∞ ε = 0.1 / 0.2 / 0.4: accuracy {accs}")

    x, y = test.x, test.y
    clf.loss_and_grads(None, y, x=x)  # compile and warm up

    def loss(v: np.ndarray) -> np.ndarray:  # forward only: states, kernel rows, softmax
        return -np.log(clf.predict_proba(None, x=v)[np.arange(len(y)), y])

    def finite_differences() -> None:  # central: 2 kernel-row evaluations per feature
        for f in range(x.shape[1]):
            step = np.zeros_like(x)
            step[:, f] = 1e-6
            loss(x + step)
            loss(x - step)

    def timed(fn) -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    # interleaved, fastest of 9 each: the runs least disturbed by other jobs on the machine
    rounds = [(timed(lambda: clf.loss_and_grads(None, y, x=x)), timed(lambda: loss(x)),
               timed(finite_differences)) for _ in range(9)]
    adjoint, forward, fd = (min(r[i] for r in rounds) for i in range(3))
    print(f"forward pass (states, kernel rows, loss) of {len(x)} samples: "
          f"{forward * 1e3:.1f} ms")
    print(f"input gradient of {len(x)} samples: adjoint {adjoint * 1e3:.1f} ms, "
          f"central differences {fd * 1e3:.1f} ms (ratio {fd / adjoint:.1f}x)")


if __name__ == "__main__":
    main()
