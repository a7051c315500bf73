"""Adversarial training of a kernel classifier: refit on an adversarially augmented support set.

``defend k with adversarial_training(attack = A, ratio = r) as k_robust``: a fraction r of
the training samples (drawn with the block's ``seed``) is attacked with A against k's
clean classifier, at A's first ε; k_robust is k's classifier (same kernel, learner and
strength) refitted on the training set plus these adversarial copies, labels kept.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from qadl.adversary.defend import craft_dataset
from qadl.errors import QadlError
from qadl.run import configs
from qadl.run.context import attack_span, check_class_target, named_plan, say
from qadl.run.kernel_attacks import NO_PARAMS, kernel_classifier

__all__ = ["defend_kernel"]


def _adversarial_copies(session: Any, spec: Any, train: Any) -> tuple[Any, Any, str, Any]:
    """Adversarial copies of a ``ratio`` fraction of ``train``, the attack result and label."""
    label, plan = named_plan(session, spec.attack, spec.seed)
    span = attack_span(session, spec.attack, spec.span)
    if isinstance(plan, configs.TransferPlan):  # the preflight reports it first
        raise QadlError.at(
            "E0721", "adversarial training needs a white-box attack, not a transfer attack", span
        )
    check_class_target(plan, f"kernel `{spec.source}`", train.num_classes, span)
    count = max(1, round(spec.ratio * len(train)))
    rng = np.random.default_rng(spec.seed)
    chosen = np.sort(rng.choice(len(train), size=count, replace=False))
    clf = kernel_classifier(session, spec.source, spec.span, spec.seed)
    epsilon = plan.epsilons[0] if plan.bounded else None
    adv, result = craft_dataset(clf, NO_PARAMS, train.take(chosen), plan, epsilon=epsilon)
    return adv, result, label, epsilon


def defend_kernel(session: Any, spec: Any) -> dict[str, Any]:
    """Refit ``spec.source``'s classifier on the augmented set; returns the result's record."""
    from qadl.run.kernels import (
        _accuracy,
        finish_record,
        keep_fitted,
        kernel_features,
        kernel_matrix,
    )

    source = session.kernels[spec.source]
    kernel = session.program.kernels[spec.kernel]
    train = session.split(spec.data, spec.span)
    say(
        f"defend {spec.source} as {spec.kernel}: adversarial training (refit on "
        f"{len(train)} samples plus adversarial copies of {spec.ratio:g} of them)"
    )
    started = time.perf_counter()
    adv, result, label, epsilon = _adversarial_copies(session, spec, train)
    x = np.concatenate([train.x, adv.x])
    y = np.concatenate([train.y, adv.y])
    theta = getattr(source, "theta", None)
    features = kernel_features(kernel, x, theta)
    rng = np.random.default_rng(spec.seed)
    gram = kernel_matrix(kernel, features, None, memory_mb=spec.memory_mb, shots=spec.shots,
                         rng=rng)
    trained = keep_fitted(
        session, spec, kernel, features, gram, y, train.num_classes, theta, verb="refit"
    )
    record: dict[str, Any] = {
        "data": train.name,
        "kernel": kernel.kind,
        "classifier": spec.classifier,
        "shots": spec.shots,
        "defended_from": spec.source,
        "attack": label,
        "epsilon": epsilon,
        "ratio": spec.ratio,
        "adversarial_examples": len(adv),
        "attack_success_rate": result.success_rate,
        "seconds": time.perf_counter() - started,
        "clean_train_accuracy": _accuracy(trained, train, spec.span, rng),
    }
    return finish_record(session, spec, trained, record, rng)
