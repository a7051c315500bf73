"""``defend m with margin_training(...)``: the loss of certified training for one model."""

from __future__ import annotations

from typing import Any

import numpy as np

from qadl.adversary.certify import method_problem
from qadl.adversary.certify_lipschitz import lipschitz_constants
from qadl.errors import QadlError
from qadl.ir.circuit import Circuit
from qadl.learn.margin import MarginLoss

__all__ = ["MARGIN_HELP", "margin_loss", "margin_problem"]

MARGIN_HELP = (
    "`fidelity` raises the radius of quantum-data models and amplitude-encoded features; "
    "`lipschitz` that of features entering rotation angles with fixed weights"
)


def _trained_feature_weight(circuit: Circuit) -> bool:
    """True when some feature's weight in a gate angle involves θ (so L moves with training)."""
    for op in circuit.ops:
        for angle in op.angles:
            for mono, _ in angle.terms:
                kinds = {s.kind for s in mono}
                if "x" in kinds and "theta" in kinds:
                    return True
    return False


def margin_problem(circuit: Circuit, certify: str) -> str | None:
    """Why ``margin_training(certify = certify)`` cannot raise this model's radius, or None."""
    problem = method_problem(circuit, certify)
    if problem is None and certify == "lipschitz" and _trained_feature_weight(circuit):
        problem = (
            "its feature weights depend on θ, so the Lipschitz constant changes during "
            "training and a fixed-L margin would not be its certified radius"
        )
    return problem


def margin_loss(spec: Any, circuit: Circuit, theta: np.ndarray, base: str) -> MarginLoss:
    """The ``MarginLoss`` of a ``margin_training`` defence of a model with ``circuit``.

    Raises:
        QadlError: the certificate does not apply to this model (E0540).
    """
    kw = spec.method.as_dict()
    certify = str(kw["certify"])
    problem = margin_problem(circuit, certify)
    if problem is not None:
        raise QadlError.at(
            "E0540",
            f"`margin_training(certify = {certify})` cannot train model `{spec.model}`: {problem}",
            spec.span,
            help=MARGIN_HELP,
        )
    lipschitz = 1.0
    if certify == "lipschitz":
        lipschitz = lipschitz_constants(circuit, theta)["l2"]
        if lipschitz <= 0.0:
            raise QadlError.at(
                "E0540",
                f"`margin_training(certify = lipschitz)` cannot train model `{spec.model}`: "
                "its output does not depend on its features (Lipschitz constant 0), so every "
                "radius is already infinite",
                spec.span,
                help=MARGIN_HELP,
            )
    return MarginLoss(
        weight=float(kw["lambda"]),
        margin=float(kw["margin"]),
        certify=certify,  # type: ignore[arg-type]
        lipschitz=lipschitz,
        base=base,
    )
