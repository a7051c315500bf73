"""Robustness evaluation: clean accuracy; robust accuracy and perturbation size per attack and ε."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from qadl.adversary.attacks import attack_sweep
from qadl.adversary.certify_fidelity import fidelity_radius
from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.fidelity import amplitude_fidelity
from qadl.adversary.metrics import ClassMetrics, class_metrics
from qadl.adversary.quantum import LocalRotationAdversary, quantum_attack_sweep
from qadl.adversary.result import AttackResult
from qadl.learn.shots import sample_readout

__all__ = [
    "Evaluation",
    "RobustPoint",
    "Scoring",
    "clean_accuracy",
    "clean_metrics",
    "evaluate",
    "fidelity_certified",
    "rescored",
    "with_fidelity",
]

AnyAttack = AttackConfig | QuantumAttackConfig


def _opt(values: np.ndarray | None, fn: Any) -> float | None:
    return None if values is None or values.size == 0 else float(fn(values))


@dataclass(frozen=True)
class RobustPoint:
    """One attack at one epsilon, summarised."""

    attack: str
    epsilon: float | None
    n: int
    robust_accuracy: float
    success_rate: float
    mean_linf: float
    median_linf: float
    mean_l2: float
    mean_steps: float
    mean_fidelity: float | None = None
    """Mean |⟨ψ|ψ_adv⟩|² of the input states (quantum data, or amplitude-encoded features)."""
    min_fidelity: float | None = None

    @staticmethod
    def from_result(name: str, result: AttackResult) -> RobustPoint:
        """Summarise an ``AttackResult`` under the label ``name``."""
        return RobustPoint(
            attack=name,
            epsilon=result.epsilon,
            n=result.size,
            robust_accuracy=result.robust_accuracy,
            success_rate=result.success_rate,
            mean_linf=float(np.mean(result.linf)),
            median_linf=float(np.median(result.linf)),
            mean_l2=float(np.mean(result.l2)),
            mean_steps=float(np.mean(result.steps)),
            mean_fidelity=_opt(result.fidelity, np.mean),
            min_fidelity=_opt(result.fidelity, np.min),
        )

    def to_json(self) -> dict[str, Any]:
        """Field values as a JSON-ready dict."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Evaluation:
    """Clean accuracy and every robust point of one model on one dataset."""

    model: str
    dataset: str
    n: int
    clean_accuracy: float
    points: tuple[RobustPoint, ...] = ()
    certified: tuple[Any, ...] = ()
    """``CertifiedPoint``s: certified accuracy per method, attack and ε (``certify [...]``)."""
    certificates: tuple[Any, ...] = ()
    """``Certificate``s: per-sample radii of each certify method."""
    certified_curves: tuple[Any, ...] = ()
    """``CertifiedCurve``s: certified accuracy on a fine ε grid, for the plots."""
    metrics: ClassMetrics | None = None
    """Precision, recall, F1, confusion matrix (and ROC-AUC) of the clean decisions."""

    def attacks(self) -> tuple[str, ...]:
        """Attack labels in first-seen order."""
        return tuple(dict.fromkeys(p.attack for p in self.points))

    def curve(self, attack: str) -> tuple[np.ndarray, np.ndarray]:
        """``(epsilons, robust accuracies)`` of one attack, epsilon 0 = clean accuracy first."""
        pts = sorted(
            (p for p in self.points if p.attack == attack and p.epsilon is not None),
            key=lambda p: p.epsilon,
        )
        eps = np.array([0.0] + [p.epsilon for p in pts])
        acc = np.array([self.clean_accuracy] + [p.robust_accuracy for p in pts])
        return eps, acc

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (no arrays)."""
        return {
            "model": self.model,
            "dataset": self.dataset,
            "n": self.n,
            "clean_accuracy": self.clean_accuracy,
            "points": [p.to_json() for p in self.points],
        } | ({"metrics": self.metrics.to_json()} if self.metrics is not None else {}) | (
            {
                "certified": [p.to_json() for p in self.certified],
                "certificates": [c.to_json() for c in self.certificates],
            }
            if self.certificates
            else {}
        )

    def certified_curve(self, method: str, attack: str) -> tuple[np.ndarray, np.ndarray]:
        """``(epsilons, certified accuracies)`` of one method against one attack's budgets.

        ε = 0 first, at the certified classifier's clean accuracy.
        """
        cert = next(c for c in self.certificates if c.method == method)
        pts = sorted(
            (p for p in self.certified if p.method == method and p.attack == attack),
            key=lambda p: p.epsilon,
        )
        eps = np.array([0.0] + [p.epsilon for p in pts])
        acc = np.array([cert.accuracy] + [p.certified_accuracy for p in pts])
        return eps, acc


@dataclass(frozen=True)
class Scoring:
    """How an evaluation reads the model's decision: exact probabilities, or ``shots`` samples.

    With ``shots``, every decision (clean and adversarial) is the argmax of class
    probabilities estimated from ``shots`` measurements (``qadl.learn.shots``; ties go to
    the lowest class, as for exact probabilities). The attacks themselves stay white-box:
    they see exact gradients and exact probabilities for their stopping rules; only the
    scoring is sampled. Draws are seeded by ``seed``: the clean decisions by
    ``(seed, 0)``, the adversarial ones of the k-th scored result by ``(seed, 1, k)``,
    so the same seed gives the same numbers.
    """

    shots: int | None = None
    seed: int = 0

    def predict(
        self, classifier: Any, theta: np.ndarray, x: Any, state: Any, stream: tuple[int, ...]
    ) -> np.ndarray:
        """Predicted labels ``(B,)`` of a batch (``stream`` picks the random stream)."""
        return np.argmax(self.proba(classifier, theta, x, state, stream), axis=1)

    def proba(
        self, classifier: Any, theta: np.ndarray, x: Any, state: Any, stream: tuple[int, ...]
    ) -> np.ndarray:
        """The class probabilities ``(B, C)`` the decisions are read from."""
        if self.shots is None:
            return np.asarray(classifier.predict_proba(theta, x=x, state=state))
        outputs = classifier.sim.outputs(theta, x=x, state=state)
        rng = np.random.default_rng((self.seed, *stream))
        return sample_readout(classifier.readout, outputs, self.shots, rng, scale=classifier.scale)


EXACT = Scoring()


def clean_accuracy(
    classifier: Any, theta: np.ndarray, data: Any, scoring: Scoring = EXACT
) -> float:
    """Accuracy of the classifier on the (unperturbed) dataset."""
    pred = scoring.predict(classifier, theta, data.x, data.states, (0,))
    return float(np.mean(pred == data.y))


def clean_metrics(
    classifier: Any, theta: np.ndarray, data: Any, scoring: Scoring = EXACT
) -> ClassMetrics:
    """Precision/recall/F1/confusion (and two-class ROC-AUC) of the clean decisions; the
    probabilities are those the decisions come from (sampled with ``shots``)."""
    probs = scoring.proba(classifier, theta, data.x, data.states, (0,))
    return class_metrics(data.y, np.argmax(probs, axis=1), int(probs.shape[1]), probs)


def rescored(
    result: AttackResult,
    classifier: Any,
    theta: np.ndarray,
    data: Any,
    config: AttackConfig | QuantumAttackConfig,
    scoring: Scoring,
    index: int,
) -> AttackResult:
    """``result`` with its clean and adversarial decisions read out by ``scoring``.

    Exact readouts return ``result`` unchanged; with shots, ``pred_clean``, ``pred_adv``
    and ``success`` come from sampled probabilities (``index`` picks the random stream of
    the adversarial draws; the clean ones are those of ``clean_accuracy``).
    """
    if scoring.shots is None:
        return result
    pred_clean = scoring.predict(classifier, theta, data.x, data.states, (0,))
    pred_adv = scoring.predict(classifier, theta, result.x_adv, result.states_adv, (1, index))
    goal = np.full_like(result.y, config.target) if config.targeted else result.y
    success = pred_adv == goal if config.targeted else pred_adv != goal
    return replace(result, pred_clean=pred_clean, pred_adv=pred_adv, success=success)


def with_fidelity(
    result: AttackResult, classifier: Any, theta: np.ndarray, data: Any, fidelity: bool | None
) -> AttackResult:
    """Fidelities as asked: kept (None), dropped (False), or computed for images (True)."""
    if fidelity is None or (fidelity and result.fidelity is not None):
        return result
    if not fidelity:
        return replace(result, fidelity=None)
    circuit = classifier.sim.circuit
    return replace(result, fidelity=amplitude_fidelity(circuit, theta, data.x, result.x_adv))


def fidelity_certified(
    readout: Any, outputs: np.ndarray, y: np.ndarray, fidelity_min: float
) -> np.ndarray:
    """Samples no input state of fidelity ≥ ``fidelity_min`` to the clean one can misclassify.

    The tight bound of ``qadl.adversary.certify_fidelity`` (any readout, renormalised
    ``probs`` included): certified when the radius ``√(1 − F*)`` exceeds ``√(1 − F_min)``.

    Args:
        readout: the circuit's ``Readout``.
        outputs: exact simulator outputs of the clean inputs ``(B, K)`` (not class
            probabilities: a renormalised readout is certified from its raw marginals).
        y: labels ``(B,)``.
        fidelity_min: the adversary's fidelity floor.

    Returns:
        Boolean mask ``(B,)`` of certified samples.
    """
    radius = fidelity_radius(readout, outputs, y)
    return radius > np.sqrt(max(0.0, 1.0 - fidelity_min))


def _named(attacks: Mapping[str, AnyAttack] | Sequence[AnyAttack]) -> list[tuple[str, AnyAttack]]:
    if isinstance(attacks, Mapping):
        return list(attacks.items())
    return [(cfg.describe(), cfg) for cfg in attacks]


def evaluate(
    classifier: Any,
    theta: np.ndarray,
    data: Any,
    attacks: Mapping[str, AnyAttack] | Sequence[AnyAttack] = (),
    *,
    adversary: LocalRotationAdversary | None = None,
    model: str = "model",
    keep: dict[str, tuple[AttackResult, ...]] | None = None,
    scoring: Scoring = EXACT,
    fidelity: bool | None = None,
    report: Callable[[str, tuple[AttackResult, ...], float], None] | None = None,
) -> Evaluation:
    """Clean accuracy plus one ``RobustPoint`` per attack and epsilon.

    Args:
        classifier: the ``Classifier`` under test.
        theta: its parameters.
        data: the evaluation ``Dataset``.
        attacks: attack configs (labelled by ``describe()``) or a mapping label -> config.
        adversary: the ``LocalRotationAdversary`` of the same model, needed for
            ``QuantumAttackConfig`` entries.
        model: label of the model in reports.
        keep: if given, filled with the full ``AttackResult`` tuples per label
            (for image grids and per-sample analysis).
        scoring: exact decisions (default) or decisions from ``shots`` samples (see
            ``Scoring``); the attacks always use exact gradients.
        fidelity: None keeps whatever fidelities the attacks give (quantum data);
            False drops them; True also computes |⟨φ(x)|φ(x_adv)⟩|² of amplitude-encoded
            features (``qadl.adversary.fidelity``).
        report: if given, called after each attack with its label, results and seconds
            (``qadl run`` logs a line per attack while the evaluation goes on).

    Raises:
        ValueError: a quantum attack without ``adversary``; ``fidelity=True`` on
            features that are not amplitude-encoded.
    """
    points: list[RobustPoint] = []
    scored = 0
    for name, cfg in _named(attacks):
        started = time.perf_counter()
        if isinstance(cfg, QuantumAttackConfig):
            if adversary is None:
                raise ValueError(f"attack {name!r} on quantum data needs a LocalRotationAdversary")
            results = quantum_attack_sweep(adversary, theta, data, cfg)
        else:
            results = attack_sweep(classifier, theta, data, cfg)
        results = tuple(
            with_fidelity(
                rescored(r, classifier, theta, data, cfg, scoring, scored + i),
                classifier,
                theta,
                data,
                fidelity,
            )
            for i, r in enumerate(results)
        )
        scored += len(results)
        if keep is not None:
            keep[name] = results
        if report is not None:
            report(name, tuple(results), time.perf_counter() - started)
        points += [RobustPoint.from_result(name, r) for r in results]
    metrics = clean_metrics(classifier, theta, data, scoring)
    return Evaluation(
        model=model,
        dataset=getattr(data, "name", "data"),
        n=len(data.y),
        clean_accuracy=metrics.accuracy,
        points=tuple(points),
        metrics=metrics,
    )
