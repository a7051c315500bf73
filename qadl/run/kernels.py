"""Running quantum kernels: ``train KERNEL`` fits a classifier on its Gram matrix (or
refits a defended one, ``kernel_defence.py``); ``evaluate KERNEL`` scores it on the kernel
of new samples against the training set, clean and under attack (``kernel_attacks.py``).

Training states are kept (one per training sample) so that an evaluation simulates only
its own samples. Results go to the same ``results.json`` sections as variational models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.kernel_classifiers import FittedKernelClassifier, fit_kernel_classifier
from qadl.learn.kernels import (
    bloch_vectors,
    feature_states,
    fidelity_gram,
    projected_gram,
    sample_overlaps,
)
from qadl.program import KernelModel, KernelTrainSpec
from qadl.run.context import say
from qadl.source import Span

__all__ = ["TrainedKernel", "kernel_matrix", "run_kernel_trainings"]


@dataclass(frozen=True)
class TrainedKernel:
    """A fitted kernel classifier and what predicting with it needs: the training features
    (states for the fidelity kernel, Bloch vectors for the projected one)."""

    spec: KernelTrainSpec
    kernel: KernelModel
    features: np.ndarray
    classifier: FittedKernelClassifier
    theta: np.ndarray | None = None
    """The feature map's parameters after ``align`` (None: a fixed feature map)."""


def kernel_features(
    kernel: KernelModel, x: np.ndarray, theta: np.ndarray | None = None
) -> np.ndarray:
    """What the kernel compares: feature states, or their one-qubit Bloch vectors."""
    states = feature_states(kernel.feature_map, x, theta)
    if kernel.kind == "projected":
        return bloch_vectors(states, kernel.num_qubits)
    return states


def kernel_matrix(
    kernel: KernelModel,
    a: np.ndarray,
    b: np.ndarray | None,
    *,
    memory_mb: float,
    shots: int | None = None,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """The kernel between feature rows ``a`` and ``b`` (``b`` None: ``a`` with itself)."""
    budget = int(memory_mb * (1 << 20))
    if kernel.kind == "projected":
        return projected_gram(a, b, gamma=kernel.gamma, memory_bytes=budget)
    gram = fidelity_gram(a, b, memory_bytes=budget)
    if shots is not None:
        gram = sample_overlaps(gram, shots, rng or np.random.default_rng(), symmetric=b is None)
    return gram


def _check_fits(kernel: KernelModel, data: Dataset, span: Span) -> None:
    if data.x is None or data.x.shape[1] != kernel.num_features:
        have = "quantum states" if data.x is None else f"{data.x.shape[1]} features"
        raise QadlError.at(
            "E0550",
            f"data `{data.name}` does not fit kernel `{kernel.name}`: it needs "
            f"{kernel.num_features} features per sample, the data has {have}",
            span,
        )


def train_kernel(session: Any, spec: KernelTrainSpec) -> dict[str, Any]:
    """Fit one kernel classifier; returns its ``results.json`` record."""
    kernel = session.program.kernels[spec.kernel]
    train = session.split(spec.data, spec.span)
    _check_fits(kernel, train, spec.span)
    say(
        f"train {spec.kernel} on {train.name}: {kernel.kind} kernel, {kernel.num_qubits} qubits, "
        f"{len(train)} samples, classifier {spec.classifier}"
    )
    started = time.perf_counter()
    theta, aligned = (None, {}) if spec.align is None else _align(session, spec, kernel, train)
    gram_started = time.perf_counter()
    features = kernel_features(kernel, train.x, theta)
    rng = np.random.default_rng(spec.seed)
    gram = kernel_matrix(kernel, features, None, memory_mb=spec.memory_mb, shots=spec.shots,
                         rng=rng)
    gram_seconds = time.perf_counter() - gram_started
    trained = keep_fitted(
        session, spec, kernel, features, gram, train.y, train.num_classes, theta, verb="train"
    )
    record: dict[str, Any] = {
        "data": train.name,
        "kernel": kernel.kind,
        "classifier": spec.classifier,
        "shots": spec.shots,
        "gram_seconds": gram_seconds,
        "seconds": time.perf_counter() - started,
        "clean_train_accuracy": float(np.mean(trained.classifier.predict(gram) == train.y)),
        **aligned,
    }
    if kernel.kind == "projected":
        record["gamma"] = kernel.gamma
    return finish_record(session, spec, trained, record, rng)


def keep_fitted(
    session: Any,
    spec: Any,
    kernel: KernelModel,
    features: np.ndarray,
    gram: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    theta: np.ndarray | None,
    *,
    verb: str,
) -> TrainedKernel:
    """Fit ``spec``'s classifier on the Gram matrix of the training ``features`` and keep it
    as kernel ``spec.kernel`` of the session; one that cannot be fitted is E0551
    ("cannot {verb} kernel ...")."""
    try:
        fitted = fit_kernel_classifier(spec.classifier, spec.strength, gram, y, num_classes)
    except ValueError as err:
        raise QadlError.at(
            "E0551", f"cannot {verb} kernel `{spec.kernel}`: {err}", spec.span
        ) from None
    trained = TrainedKernel(spec, kernel, features, fitted, theta)
    session.kernels[spec.kernel] = trained
    return trained


def finish_record(
    session: Any,
    spec: Any,
    trained: TrainedKernel,
    record: dict[str, Any],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Add the support size and, trained on a train split, the test split's accuracy."""
    if trained.classifier.support_size() is not None:
        record["support_vectors"] = trained.classifier.support_size()
    if spec.data.split == "train":
        from qadl.program import DataRef

        test = session.split(DataRef(spec.data.dataset, "test"), spec.span)
        if len(test):
            record["clean_test_accuracy"] = _accuracy(trained, test, spec.span, rng)
    return record


def _accuracy(
    trained: TrainedKernel, data: Dataset, span: Span, rng: np.random.Generator
) -> float:
    _check_fits(trained.kernel, data, span)
    rows = kernel_matrix(
        trained.kernel,
        kernel_features(trained.kernel, data.x, trained.theta),
        trained.features,
        memory_mb=trained.spec.memory_mb,
        shots=trained.spec.shots,
        rng=rng,
    )
    return float(np.mean(trained.classifier.predict(rows) == data.y))


def _align(
    session: Any, spec: KernelTrainSpec, kernel: KernelModel, train: Dataset
) -> tuple[np.ndarray, dict[str, Any]]:
    """Train the feature map's θ by kernel-target alignment; save it like a model's θ.

    Returns θ and the record's alignment entries (``alignment`` per epoch, the first
    being the initial θ's, on the whole training split).
    """
    from qadl.backends.sim import Simulator
    from qadl.learn.alignment import AlignConfig, align_feature_map
    from qadl.learn.checkpoint import CheckpointError
    from qadl.run.outputs import write_params

    epochs = spec.epochs
    if session.options.max_epochs is not None:
        epochs = min(epochs, session.options.max_epochs)
    out = session.options.out_dir
    checkpoints = out / "checkpoints" / spec.kernel
    checkpoints.mkdir(parents=True, exist_ok=True)
    config = AlignConfig(
        spec.optimizer, spec.optimizer_options, epochs, spec.batch, spec.seed,
        int(spec.memory_mb * (1 << 20)), checkpoints, bool(session.options.resume),
    )
    if np.unique(train.y).size < 2:
        raise QadlError.at(
            "E0551",
            f"cannot align kernel `{spec.kernel}`: the training labels hold a single class "
            "(every kernel has the same alignment)",
            spec.span,
        )
    say(
        f"align {spec.kernel}: {kernel.num_params} feature-map parameters, {epochs} epochs, "
        f"batch {min(spec.batch, len(train))}, {spec.optimizer}"
    )
    started = time.perf_counter()
    try:
        result = align_feature_map(
            Simulator(kernel.feature_map),
            kernel.initial_params(spec.seed),
            train.x,
            train.y,
            train.num_classes,
            config,
            kind=kernel.kind,
            gamma=kernel.gamma,
            on_epoch=lambda e, a: say(f"  epoch {e}: alignment {a:.4f}"),
        )
    except CheckpointError as err:
        raise QadlError.at(
            "E0724",
            f"cannot resume from `{checkpoints}`: {err}",
            spec.span,
            help="delete that directory, pick another --out, or run without --resume",
        ) from None
    write_params(out / f"{spec.kernel}.params.npz", result.theta)
    if session.options.plots:
        _plot_alignment(out / "plots" / f"{spec.kernel}_alignment.png", spec.kernel, result.history)
    return result.theta, {
        "align": spec.align,
        "alignment": list(result.history),
        "align_seconds": time.perf_counter() - started,
        "params": f"{spec.kernel}.params.npz",
    }


def _plot_alignment(path: Any, name: str, history: tuple[float, ...]) -> None:
    """Kernel-target alignment on the training split against the epoch (0: before training)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(5.0, 4.0))
    ax = fig.subplots()
    ax.plot(np.arange(len(history)), history, marker="o", markersize=3, label="training split")
    ax.set_xlabel("epoch")
    ax.set_ylabel("kernel-target alignment")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10], min_n_ticks=1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(f"alignment of {name}")
    fig.set_layout_engine("constrained")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def run_kernel_trainings(session: Any) -> None:
    """Every ``train KERNEL`` statement, in order."""
    from qadl.run.kernel_defence import defend_kernel

    for spec in session.program.kernel_trainings:
        defended = hasattr(spec, "source")  # `defend k with adversarial_training … as r`
        record = defend_kernel(session, spec) if defended else train_kernel(session, spec)
        session.results.setdefault("models", {})[spec.kernel] = record
        say(
            f"  -> train accuracy {record['clean_train_accuracy']:.3f}"
            + (
                f", test accuracy {record['clean_test_accuracy']:.3f}"
                if "clean_test_accuracy" in record
                else ""
            )
            + ("" if defended else f" (Gram matrix {record['gram_seconds']:.2f} s)")
        )

