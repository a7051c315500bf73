"""``attack NAME on MODEL { method label_inference(batch = B, samples = S) }``, run.

The attacker knows θ (the trained model's) and the inputs of ``S`` batches of ``B``
training samples, and sees each batch's shared mean gradient; it solves for the labels
by linear algebra (``qadl.adversary.privacy.labels``). A model bound to a noisy device
shares gradients computed under its noise; the attacker's per-class gradients are
the noiseless model's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qadl.adversary.privacy.labels import identifiable, label_inference
from qadl.errors import QadlError
from qadl.program import AttackSpec, TrainSpec

__all__ = ["check_label_inference", "label_table", "run_labels"]


def check_label_inference(
    program: Any, spec: AttackSpec, training: TrainSpec, split_size: Any
) -> None:
    """E0969: ``P < B·(C − 1)`` leaves the labels undetermined; E0564: more samples than
    the training data has (where its size is known)."""
    from qadl.run.privacy import _base_name

    model = program.models[_base_name(program, spec.model)]
    batch = int(spec.method.get("batch", 1))
    classes = int(model.num_classes)
    if not identifiable(model.num_params, batch, classes):
        raise QadlError.at(
            "E0969",
            f"`{spec.name}`: a gradient of {batch} samples of {classes} classes has "
            f"{batch * (classes - 1)} label unknowns beyond the one-hot rule, but `{spec.model}` "
            f"has {model.num_params} parameters: the gradient cannot determine them",
            spec.span,
            label="labels not identifiable",
            help=f"lower `batch` to at most {model.num_params // max(classes - 1, 1)}",
        )
    size = None if split_size is None else split_size(training.data)
    if size is not None:
        name = training.data.dataset + (f".{training.data.split}" if training.data.split else "")
        _check_count(spec, size, name)


def _check_count(spec: AttackSpec, have: int, data: str) -> None:
    """E0564: the attacked batches need more training samples than the data has."""
    batch, samples = int(spec.method.get("batch", 1)), int(spec.method.get("samples", 5))
    if batch * samples <= have:
        return
    raise QadlError.at(
        "E0564",
        f"`{spec.name}` needs {batch * samples} training samples ({samples} gradients of "
        f"{batch}); `{data}` has {have}",
        spec.span,
        help="lower `samples` or `batch`",
    )


def run_labels(session: Any, spec: AttackSpec, training: TrainSpec) -> dict[str, Any]:
    """Infer the labels of ``samples`` batches of training samples from their gradients."""
    from qadl.run.privacy import _oracles

    data = session.split(training.data, spec.span)
    batch, samples = int(spec.method.get("batch", 1)), int(spec.method.get("samples", 5))
    _check_count(spec, len(data), data.name)
    states = session.model(spec.model).input_kind == "state"
    theta = session.theta(spec.model, spec.span)
    loss = str(training.options.get("loss", "cross_entropy"))
    attacker, client, device = _oracles(session, spec.model, theta, loss, states=states)
    order = np.random.default_rng(int(spec.options.get("seed", 0))).permutation(len(data))
    order = order[: batch * samples].reshape(samples, batch)
    inputs = data.states[order] if states else data.x[order]
    print(
        f"attack {spec.name} on {spec.model}: label inference from {samples} shared "
        f"gradient(s) of {batch} sample(s) with known inputs",
        flush=True,
    )
    result = label_inference(
        attacker.shared_gradient,
        inputs,
        data.y[order],
        int(session.model(spec.model).num_classes),
        shared=None if client is None else client.shared_gradient,
    )
    return {
        "model": spec.model,
        "method": spec.method.name,
        "batch": batch,
        "input": "state" if states else "features",
        "device": device,
        **result.to_json(),
    }


def label_table(records: dict[str, dict[str, Any]]) -> str:
    """One row per label inference: labels and whole batches recovered, unique systems."""
    head = (
        f"{'attack':<18} {'model':<12} {'batch':>5} {'batches':>7} {'labels':>7} "
        f"{'all right':>9} {'unique':>6}"
    )
    rows = [head, "-" * len(head)]
    for name, r in records.items():
        rows.append(
            f"{name:<18} {r['model']:<12} {r['batch']:>5} {r['batches']:>7} "
            f"{r['recovered_fraction']:>7.3f} {r['batches_recovered']:>9.3f} "
            f"{r['unique_fraction']:>6.3f}"
        )
    return "\n".join(rows)
