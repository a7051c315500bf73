"""``closest_flip(fidelity = F)``: the exact verifier's adversarial states, as an attack.

For a small noiseless quantum-data model, ``certify_exact.closest_flips`` gives every
sample the closest input state (in fidelity) whose decision is not its label. This attack
uses those states as adversarial examples within the budget ``√(1 − F)`` (the ``state``
unit of the certificates):

- where the closest flip lies within the budget, it *is* the adversarial state: no state
  closer to the clean one flips the decision, so none is a stronger example at that
  fidelity, and the attack succeeds on exactly the samples ``certify [exact]`` does not
  prove safe at F;
- where it lies beyond, the state at the budget on the geodesic from the clean state
  towards it (fidelity exactly F): the decision holds there, as the certificate proves,
  and the state is pushed as far as the budget allows in the direction of the nearest
  flip (a natural choice for training, not proved to be the worst state of the ball).

No search and no randomness: the result is a function of θ and the states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from qadl.adversary.certify_exact import closest_flips, exact_problem
from qadl.adversary.result import AttackResult

__all__ = ["ClosestFlipConfig", "closest_flip_attack", "closest_flip_problem", "toward"]


@dataclass(frozen=True)
class ClosestFlipConfig:
    """The attack's budget: a fidelity floor ``F`` (its ε is ``√(1 − F)``)."""

    fidelity: float = 0.95
    targeted: ClassVar[bool] = False
    """Untargeted: each state leaves its label for the nearest class."""
    target: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        if not 0.0 < self.fidelity < 1.0:
            raise ValueError("the fidelity floor must lie in (0, 1)")

    @property
    def epsilons(self) -> tuple[float, ...]:
        """The budget in the ``state`` unit ``√(1 − F)`` (one value)."""
        return (float(np.sqrt(1.0 - self.fidelity)),)

    @property
    def bounded(self) -> bool:
        """It has a budget (a ``linear`` schedule can ramp it)."""
        return True

    def describe(self) -> str:
        return f"closest_flip(fidelity={self.fidelity:g})"


def closest_flip_problem(classifier: Any) -> str | None:
    """Why ``closest_flip`` cannot attack the model of ``classifier``, or None."""
    from qadl.backends.sim import Simulator

    circuit = classifier.sim.circuit
    if not circuit.state_input:
        return "it perturbs input states, and the model takes features"
    problem = exact_problem(circuit)
    if problem is None and not isinstance(classifier.sim, Simulator):
        problem = (
            "the model runs on a noisy device, and mixed states have no closed-form "
            "closest flip"
        )
    return problem


def toward(psi: np.ndarray, phi: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Per row, the state at ``√(1 − F) = distance`` on the geodesic from ψ towards φ."""
    overlap = np.einsum("bi,bi->b", psi.conj(), phi)
    phase = np.where(np.abs(overlap) > 0, overlap / np.maximum(np.abs(overlap), 1e-300), 1.0)
    away = phi / phase[:, None] - np.abs(overlap)[:, None] * psi
    norm = np.linalg.norm(away, axis=1, keepdims=True)
    xi = np.where(norm > 1e-15, away / np.maximum(norm, 1e-300), 0.0)
    sin = np.clip(distance, 0.0, 1.0)[:, None]
    return np.sqrt(1.0 - sin**2) * psi + sin * xi


def closest_flip_attack(
    classifier: Any,
    theta: np.ndarray,
    batch: Any,
    config: ClosestFlipConfig,
    *,
    epsilon: float | None = None,
) -> AttackResult:
    """The closest flipping state of every sample, or the state at the budget towards it.

    Args:
        classifier: the model's noiseless ``Classifier`` (``sim`` with ``states``, ``readout``).
        theta: its parameters.
        batch: a ``Dataset`` with ``states`` and ``y``.
        config: the fidelity floor.
        epsilon: this run's budget in ``√(1 − F)`` (default ``config.epsilons[0]``; a
            linear schedule passes smaller ones).
    """
    budget = config.epsilons[0] if epsilon is None else float(epsilon)
    states = np.asarray(batch.states, dtype=complex)
    y = np.asarray(batch.y, dtype=int)
    flips = closest_flips(classifier.sim, classifier.readout, theta, states, y)
    distance = np.sqrt(np.clip(1.0 - flips.fidelity, 0.0, None))
    within = distance <= budget
    at_budget = toward(states, flips.states, np.full(len(y), budget))
    adv = np.where(within[:, None], flips.states, at_budget)
    fidelity = np.abs(np.einsum("bi,bi->b", states.conj(), adv)) ** 2
    probs = np.asarray(classifier.predict_proba(theta, state=adv))
    pred_clean = np.asarray(classifier.predict_proba(theta, state=states)).argmax(axis=1)
    pred_adv = probs.argmax(axis=1)
    moved = np.sqrt(np.clip(1.0 - fidelity, 0.0, None))
    return AttackResult(
        method=config.describe(),
        epsilon=budget,
        y=y,
        pred_clean=pred_clean,
        pred_adv=pred_adv,
        probs_adv=probs,
        success=pred_adv != y,
        linf=moved,
        l2=moved,
        steps=np.zeros(len(y), dtype=int),
        states_adv=adv,
        fidelity=fidelity,
    )
