"""``train m on d.train { mitigate ... }``: fit θ on the mitigated outputs of the model's device.

The classifier trained is ``mitigated_classifier`` of the bound device (``device m on T``):
its outputs are readout-inverted and/or zero-noise extrapolated, and its gradients are
the exact vector-Jacobian products through the mitigation (``MitigatedSimulator.vjp``).
Evaluations afterwards run the trained θ on the device as declared; ``evaluate { mitigate
... }`` evaluates it mitigated.
"""

from __future__ import annotations

from typing import Any

__all__ = ["mitigation_record", "training_classifier"]


def training_classifier(session: Any, spec: Any) -> Any:
    """The classifier a ``train`` statement fits: the model's own, or its mitigated one."""
    if "mitigate" not in spec.options:
        return session.classifier(spec.model)
    from qadl.run.mitigation import mitigated_classifier, parse_mitigation

    model = session.model(spec.model)
    target = session.program.target_of(model.name)
    if target is None:  # the preflight refuses this (E0620) before any work
        raise ValueError(f"model {spec.model!r} has no device to mitigate")
    mitigation = parse_mitigation(spec.options["mitigate"])
    return mitigated_classifier(model, target, mitigation, int(spec.options.get("seed", 0)))


def mitigation_record(spec: Any) -> dict[str, Any] | None:
    """What the training mitigated, for results.json (None without ``mitigate``)."""
    if "mitigate" not in spec.options:
        return None
    from qadl.run.mitigation import parse_mitigation

    return parse_mitigation(spec.options["mitigate"]).to_json()
