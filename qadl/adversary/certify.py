"""Certified robustness: per-sample certified radii and certified accuracy per attack ε.

Four methods (``docs/certification.md`` states each bound):

- ``fidelity``: quantum data and amplitude-encoded features; radius in ``√(1 − F)`` of
  the input states (``certify_fidelity``), mapped exactly to the input's L2 norm for
  amplitude encoding;
- ``lipschitz``: features through rotation angles affine in the features; radii in the
  input's L2 and L∞ norms (``certify_lipschitz``);
- ``smoothing(p)``: a depolarising channel on the encoded state, computed exactly
  (``certify_smoothing``); it certifies the smoothed classifier;
- ``exact``: small noiseless quantum-data models; the ``fidelity`` radius, attained, with
  the closest flipping input state of every sample (``certify_exact``).

An attack's ε becomes a budget in a radius' unit (``attack_budget``): L2/L∞ balls of
input attacks directly, and for the local-rotation attacks on quantum data the largest
``√(1 − F)`` such rotations can reach. A sample is certified at ε when its decision is
right and its radius exceeds the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qadl.adversary.certify_exact import closest_flips, exact_problem
from qadl.adversary.certify_fidelity import (
    amplitude_input_radii,
    amplitude_problem,
    decision_scores,
    fidelity_radius,
    predictions,
)
from qadl.adversary.certify_lipschitz import lipschitz_constants, lipschitz_problem, lipschitz_radii
from qadl.adversary.certify_smoothing import mixed_scores, smoothed_scores, smoothing_radius
from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.fidelity import encoding_problem
from qadl.ir.circuit import Circuit

__all__ = [
    "METHODS",
    "Certificate",
    "CertifiedCurve",
    "CertifiedPoint",
    "CertifyMethod",
    "attack_budget",
    "certified_curves",
    "certified_points",
    "certify",
    "method_problem",
    "radii_rows",
]

METHODS = ("fidelity", "lipschitz", "smoothing", "exact")
STATE = "state"
"""Unit ``√(1 − F)`` between the clean and the perturbed input states."""


@dataclass(frozen=True)
class CertifyMethod:
    """One entry of ``certify [...]``: a method name and, for smoothing, its noise ``p``."""

    name: str
    p: float | None = None

    @property
    def label(self) -> str:
        """``fidelity``, ``lipschitz`` or ``smoothing(p = 0.01)``."""
        return self.name if self.p is None else f"{self.name}(p = {self.p:g})"


@dataclass(frozen=True, eq=False)
class Certificate:
    """Per-sample radii of one method: ``radii[unit]`` ``(B,)``, and the decisions certified."""

    method: str
    pred: np.ndarray
    """Decisions of the certified classifier (the smoothed one for smoothing)."""
    y: np.ndarray
    radii: dict[str, np.ndarray]
    """Unit (``state``, ``l2``, ``linf``) -> radius per sample (0 where the decision is wrong)."""
    constants: dict[str, float] | None = None
    """Lipschitz constants per input norm (lipschitz only)."""
    flips: Any = None
    """``ClosestFlips``: the closest input state that flips each sample (exact only)."""

    @property
    def accuracy(self) -> float:
        """Clean accuracy of the certified classifier."""
        return float(np.mean(self.pred == self.y))

    def to_json(self) -> dict[str, Any]:
        """Summary: accuracy and the median radius per unit (no arrays)."""
        return {
            "method": self.method,
            "accuracy": self.accuracy,
            "median_radius": {u: _finite(np.median(r)) for u, r in self.radii.items()},
            "lipschitz_constants": self.constants,
        }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@dataclass(frozen=True)
class CertifiedPoint:
    """Certified accuracy of one method against the budget of one attack at one ε."""

    method: str
    attack: str
    epsilon: float
    certified_accuracy: float
    unit: str

    def to_json(self) -> dict[str, Any]:
        """Field values as a JSON-ready dict."""
        return dict(self.__dict__)


# -- which method applies to which model -------------------------------------------------------


def method_problem(circuit: Circuit, method: str) -> str | None:
    """Why ``method`` cannot certify a model with this circuit, or None."""
    if method == "exact":
        return exact_problem(circuit)
    if method == "lipschitz":
        if circuit.state_input:
            return "its inputs are quantum states, not features (certify it with `fidelity`)"
        if any(op.gate.value == "amplitude" for op in circuit.ops):
            return "its features are amplitude-encoded (certify it with `fidelity`)"
        return lipschitz_problem(circuit)
    if circuit.state_input:
        return None
    problem = encoding_problem(circuit) or amplitude_problem(circuit)
    if problem is not None:
        hint = " (certify it with `lipschitz`)" if lipschitz_problem(circuit) is None else ""
        return problem + hint
    return None


# -- radii -------------------------------------------------------------------------------------


def _outputs(classifier: Any, theta: np.ndarray, data: Any) -> np.ndarray:
    sim = classifier.sim
    exact = getattr(getattr(sim, "engine", sim), "exact_outputs", None)
    if exact is not None:
        return exact(theta, x=data.x, state=data.states)
    return sim.outputs(theta, x=data.x, state=data.states)


def certify(
    classifier: Any, theta: np.ndarray, data: Any, method: CertifyMethod, noise: Any = None
) -> Certificate:
    """Per-sample certified radii of one method on a dataset.

    Args:
        classifier: the ``Classifier`` (noiseless, or noisy with exact probabilities).
        theta: its parameters.
        data: the evaluation ``Dataset`` (features or states, labels).
        method: which certificate.
        noise: the circuit's ``NoiseModel`` (for smoothing's run on ``I/d``), None if noiseless.

    Raises:
        ValueError: ``method_problem`` is not None for the classifier's circuit.
    """
    circuit: Circuit = classifier.sim.circuit
    problem = method_problem(circuit, method.name)
    if problem is not None:
        raise ValueError(f"`{method.name}` cannot certify this model: {problem}")
    y = np.asarray(data.y, dtype=int)
    outputs = _outputs(classifier, theta, data)
    readout = circuit.readout
    if method.name == "lipschitz":
        constants = lipschitz_constants(circuit, theta)
        pred = predictions(decision_scores(readout, outputs))

        def gradient(cotangent: np.ndarray) -> np.ndarray:
            return classifier.sim.vjp(theta, x=data.x, cotangent=cotangent).x

        radii = lipschitz_radii(readout, outputs, y, constants, gradient)
        return Certificate("lipschitz", pred, y, radii, constants)
    if method.name == "exact":
        if noise is not None:
            raise ValueError("`exact` verifies noiseless models only")
        flips = closest_flips(classifier.sim, readout, theta, data.states, y)
        pred = predictions(decision_scores(readout, outputs))
        return Certificate("exact", pred, y, {STATE: flips.radius}, flips=flips)
    if method.name == "fidelity":
        pred = predictions(decision_scores(readout, outputs))
        radius = fidelity_radius(readout, outputs, y)
    else:
        kwargs = {} if noise is None else {"noise": noise}
        mixed = mixed_scores(circuit, theta, **kwargs)
        smoothed = smoothed_scores(decision_scores(readout, outputs), mixed, method.p)
        pred = predictions(smoothed)
        radius = smoothing_radius(readout, smoothed, y, method.p, circuit.num_qubits)
    radii = {STATE: radius}
    if not circuit.state_input:
        radii.update(amplitude_input_radii(circuit, data.x, radius))
    return Certificate(method.label, pred, y, radii)


# -- attack budgets and certified accuracy ------------------------------------------------------


def _rotation_budget(config: QuantumAttackConfig, num_qubits: int, eps: float) -> float:
    """Largest ``√(1 − F)`` local rotations with every angle ``≤ eps`` can reach.

    Each qubit's ``R = RZ·RY·RX`` has ``‖(R − I)ψ‖ ≤ Σ_axes 2·sin(ε/4)`` (a rotation by a
    has eigenvalues ``e^{∓ia/2}``); the qubits' rotations commute, so the distances add
    (telescoping), and ``1 − |⟨ψ|φ⟩|² ≤ ‖ψ − φ‖²``. A fidelity floor caps it at ``√(1 − F_min)``.
    """
    per_angle = 2.0 * np.sin(min(eps, 2.0 * np.pi) / 4.0)
    budget = min(1.0, num_qubits * len(config.axes) * per_angle)
    if config.fidelity_min is not None:
        budget = min(budget, float(np.sqrt(max(0.0, 1.0 - config.fidelity_min))))
    return budget


def attack_budget(
    config: AttackConfig | QuantumAttackConfig, eps: float, num_qubits: int
) -> tuple[str, float]:
    """``(unit, budget)``: how far an attack of radius ``eps`` can move an input."""
    if isinstance(config, QuantumAttackConfig):
        return STATE, _rotation_budget(config, num_qubits, eps)
    return config.norm, float(eps)


def certified_points(
    certificate: Certificate,
    attacks: dict[str, AttackConfig | QuantumAttackConfig],
    epsilons: dict[str, tuple[float, ...]],
    num_qubits: int,
) -> tuple[CertifiedPoint, ...]:
    """Certified accuracy of ``certificate`` at every ε of every attack it can be compared with.

    A sample counts when its decision is right and its radius is strictly larger than
    the attack's budget (on the boundary a tie could flip it).
    """
    points = []
    correct = certificate.pred == certificate.y
    for label, config in attacks.items():
        for eps in epsilons.get(label, ()):
            unit, budget = attack_budget(config, eps, num_qubits)
            radius = certificate.radii.get(unit)
            if radius is None:
                continue
            accuracy = float(np.mean(correct & (radius > budget)))
            points.append(CertifiedPoint(certificate.method, label, float(eps), accuracy, unit))
    return tuple(points)


@dataclass(frozen=True)
class CertifiedCurve:
    """Certified accuracy of one method against one attack's budget on a fine ε grid (plots)."""

    method: str
    attack: str
    epsilons: tuple[float, ...]
    accuracy: tuple[float, ...]


def certified_curves(
    certificate: Certificate,
    attacks: dict[str, AttackConfig | QuantumAttackConfig],
    epsilons: dict[str, tuple[float, ...]],
    num_qubits: int,
    points: int = 101,
) -> tuple[CertifiedCurve, ...]:
    """The certified accuracy from ε = 0 to each attack's largest ε, on ``points`` values.

    The radii give it at every ε, not only at the attack's: the plot draws it whole.
    """
    correct = certificate.pred == certificate.y
    curves = []
    for label, config in attacks.items():
        if not epsilons.get(label):
            continue
        grid = np.linspace(0.0, max(epsilons[label]), points)
        accuracy = [certificate.accuracy]
        for eps in grid[1:]:
            unit, budget = attack_budget(config, float(eps), num_qubits)
            radius = certificate.radii.get(unit)
            if radius is None:
                break
            accuracy.append(float(np.mean(correct & (radius > budget))))
        if len(accuracy) == points:
            curves.append(CertifiedCurve(certificate.method, label, tuple(grid), tuple(accuracy)))
    return tuple(curves)


def radii_rows(model: str, certificates: tuple[Certificate, ...]) -> list[dict[str, Any]]:
    """One CSV row per (sample, method, unit): the per-sample radii file."""
    rows = []
    for cert in certificates:
        for unit, radius in cert.radii.items():
            for i, r in enumerate(radius):
                rows.append({
                    "model": model, "sample": i, "label": int(cert.y[i]),
                    "prediction": int(cert.pred[i]), "method": cert.method, "unit": unit,
                    "radius": float(r),
                })
    return rows
