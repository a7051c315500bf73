"""Kernel classifiers under attack in a run: white-box attacks, transfers to and from them.

A trained kernel becomes a ``KernelClassifier`` (``qadl.learn.kernel_oracle``): the
interface of a variational classifier with an empty θ, so the evaluation, the attack
loop and the transfer code are the ones variational models use. Its tables, metrics,
``results.json`` entries and plots are theirs too.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from qadl.adversary.evaluate import Evaluation, RobustPoint, evaluate
from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.kernel_oracle import KernelClassifier
from qadl.run import configs
from qadl.run.context import attack_span, check_class_target, named_plan, say
from qadl.source import Span

__all__ = ["evaluate_kernel_under", "kernel_classifier", "scorer", "training_data_of"]

NO_PARAMS = np.zeros(0)
"""θ of a kernel classifier (its feature map is fixed, or aligned beforehand)."""


def kernel_classifier(session: Any, name: str, span: Span, seed: int = 0) -> KernelClassifier:
    """The trained kernel ``name`` as a differentiable classifier.

    With ``shots``, its decisions read kernel rows sampled from the stream
    ``(train seed, seed, 1)``; its gradients are exact.
    """
    trained = session.kernels.get(name)
    if trained is None:
        raise QadlError.at(
            "E0723",
            f"kernel `{name}` has no trained classifier at this point",
            span,
            help=f"add `train {name} on DATA.train {{ classifier svm(C = 1.0) }}`",
        )
    kernel = trained.kernel
    return KernelClassifier.of(
        kernel.feature_map, kernel.kind, kernel.gamma, trained.features, trained.classifier,
        shots=trained.spec.shots, rng=np.random.default_rng([trained.spec.seed, seed, 1]),
        memory_bytes=int(trained.spec.memory_mb * (1 << 20)),
        theta=getattr(trained, "theta", None),
    )


def scorer(session: Any, name: str, span: Span, seed: int = 0) -> tuple[Any, np.ndarray]:
    """``(classifier, θ)`` of a trained model or kernel: what attacks and scoring query."""
    if name in session.program.kernels:
        return kernel_classifier(session, name, span, seed), NO_PARAMS
    return session.classifier(name), session.theta(name, span)


def training_data_of(session: Any, name: str) -> Any:
    """The ``DataRef`` a model (or the model a defence copies) or a kernel was trained on."""
    if name in session.program.kernels:
        return next(t.data for t in session.program.kernel_trainings if t.kernel == name)
    base = session.base.get(name, name)
    return next(t.data for t in session.program.trainings if t.model == base)


def evaluate_kernel_under(
    session: Any, name: str, data: Dataset, spec: Any, keep: dict[str, Any]
) -> Evaluation:
    """Clean accuracy, metrics and every attack point of kernel ``name`` on ``data``."""
    from qadl.run.evaluations import _attack_line, _log_attack, _transfer_results
    from qadl.run.kernels import _check_fits

    _check_fits(session.program.kernels[name], data, spec.span)
    seed = int(spec.options.get("seed", 0))
    clf = kernel_classifier(session, name, spec.span, seed)
    white_box: dict[str, Any] = {}
    transfers: list[tuple[str, configs.TransferPlan]] = []
    for item in spec.under:
        if item == "clean":
            continue
        label, plan = named_plan(session, item, seed)
        check_class_target(
            plan, f"kernel `{name}`", data.num_classes, attack_span(session, item, spec.span)
        )
        if isinstance(plan, configs.TransferPlan):
            transfers.append((label, plan))
        else:
            white_box[label] = plan
    timing = session.results.setdefault("timing", {})
    evaluation = evaluate(
        clf, NO_PARAMS, data, white_box, model=name, keep=keep,
        report=partial(_log_attack, timing), fidelity=False,
    )
    extra: list[RobustPoint] = []
    for label, plan in transfers:
        started = time.perf_counter()
        results = _transfer_results(session, plan, name, data, spec.span)
        points = [RobustPoint.from_result(label, r) for r in results]
        extra += points
        seconds = time.perf_counter() - started
        timing["attack"] = timing.get("attack", 0.0) + seconds
        say(_attack_line(label, [(p.epsilon, p.n, p.success_rate) for p in points], seconds))
    return replace(evaluation, points=evaluation.points + tuple(extra))
