"""``defend m with margin_training(...)`` / ``lipschitz_regularisation(...)``: certified training.

``margin_training`` changes the loss (a hinge on the certified radius); ``lipschitz_regularisation``
adds ``λ·L₂(θ)``, the certificate's global Lipschitz constant, to it. The second applies only
where ``L₂`` depends on θ (trained feature weights); elsewhere ``L₂`` is a constant of the
encoding and the penalty would be accepted and do nothing, so it is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qadl.adversary.certify import method_problem
from qadl.adversary.certify_lipschitz import lipschitz_constants
from qadl.adversary.lipschitz_penalty import LipschitzPenalty, trained_feature_weight
from qadl.errors import QadlError
from qadl.ir.circuit import Circuit
from qadl.learn.margin import MarginLoss

__all__ = [
    "MARGIN_HELP",
    "REGULARISATION_HELP",
    "lipschitz_penalty",
    "margin_loss",
    "margin_problem",
    "regularisation_problem",
]

MARGIN_HELP = (
    "`fidelity` raises the radius of quantum-data models and amplitude-encoded features; "
    "`lipschitz` that of features entering rotation angles with fixed weights"
)


REGULARISATION_HELP = (
    "`lipschitz_regularisation` needs feature weights that are trained parameters "
    "(e.g. `reuploading`); where the encoding fixes them, raise the radius with "
    "`margin_training(lambda = …, certify = lipschitz, margin = …)`"
)


def margin_problem(circuit: Circuit, certify: str) -> str | None:
    """Why ``margin_training(certify = certify)`` cannot raise this model's radius, or None."""
    problem = method_problem(circuit, certify)
    if problem is None and certify == "lipschitz" and trained_feature_weight(circuit):
        problem = (
            "its feature weights depend on θ, so the Lipschitz constant changes during "
            "training and a fixed-L margin would not be its certified radius "
            "(`lipschitz_regularisation(lambda = …)` penalises that constant itself)"
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


def regularisation_problem(circuit: Circuit) -> str | None:
    """Why ``lipschitz_regularisation`` cannot change this model's Lipschitz constant, or None."""
    problem = method_problem(circuit, "lipschitz")
    if problem is None and not trained_feature_weight(circuit):
        problem = (
            "no feature weight is a trained parameter, so its Lipschitz constant is fixed by "
            "the encoding and a penalty on it would change nothing"
        )
    return problem


def lipschitz_penalty(spec: Any, circuit: Circuit) -> LipschitzPenalty:
    """The ``λ·L₂(θ)`` regulariser of a ``lipschitz_regularisation`` defence.

    Raises:
        QadlError: the penalty cannot move this model's Lipschitz constant (E0540).
    """
    problem = regularisation_problem(circuit)
    if problem is not None:
        raise QadlError.at(
            "E0540",
            f"`lipschitz_regularisation` cannot train model `{spec.model}`: {problem}",
            spec.span,
            help=REGULARISATION_HELP,
        )
    return LipschitzPenalty(circuit, float(spec.method.as_dict()["lambda"]))
