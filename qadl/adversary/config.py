"""Frozen option records for attacks on classical inputs, on quantum data, and for defences.

Every attack, defence and evaluation function takes one of these instead of loose
keyword arguments, so a ``.qadl`` ``attack``/``defend`` block lowers to exactly one value
that can be printed, compared and stored beside the results it produced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

__all__ = [
    "AdversarialTrainingConfig",
    "AttackConfig",
    "AttackMethod",
    "MaskKind",
    "Norm",
    "OptimizerKind",
    "QuantumAttackConfig",
    "Schedule",
]

AttackMethod = Literal["fgsm", "bim", "pgd", "mim", "gradient_steps", "noise"]
Norm = Literal["linf", "l2"]
MaskKind = Literal["none", "nonzero"]
OptimizerKind = Literal["adam", "sgd", "sign"]
Schedule = Literal["constant", "linear"]

_METHODS = ("fgsm", "bim", "pgd", "mim", "gradient_steps", "noise")
_BOUNDED = ("fgsm", "bim", "pgd", "mim", "noise")


def _as_epsilons(epsilon: float | tuple[float, ...] | None) -> tuple[float, ...]:
    if epsilon is None:
        return ()
    if isinstance(epsilon, int | float):
        return (float(epsilon),)
    return tuple(float(e) for e in epsilon)


@dataclass(frozen=True)
class AttackConfig:
    """How to craft adversarial examples on classical inputs.

    ``fgsm``/``bim``/``pgd``/``mim`` stay in the ``norm`` ball of radius ``epsilon``;
    ``gradient_steps`` (Ren et al. 2022) takes optimiser steps with no ball at all;
    ``noise`` is the random-perturbation baseline of the same norm and size.

    Example:
        ``AttackConfig("pgd", norm="l2", epsilon=(0.1, 0.2), steps=20, restarts=3)``
    """

    method: AttackMethod = "pgd"
    norm: Norm = "linf"
    epsilon: float | tuple[float, ...] | None = 0.1
    """Radius of the perturbation ball; a tuple asks for an epsilon sweep in one call.

    Optional for ``gradient_steps`` (None: no ball, as in Ren et al.)."""
    steps: int = 10
    """Gradient steps (1 for FGSM); the cap on steps for ``gradient_steps``."""
    step_size: float | None = None
    """Per-step size; ``None`` means ε/steps for BIM/MIM and 2.5·ε/steps for PGD."""
    random_start: bool | None = None
    """Start from a uniform point in the ball; None: the method's default (on for PGD only)."""
    restarts: int = 1
    """Independent random starts; the most damaging one is kept per sample."""
    decay: float = 1.0
    """MIM momentum decay μ."""
    targeted: bool = False
    target: int | None = None
    """Class to reach when ``targeted`` (the loss of this class is minimised)."""
    mask: MaskKind = "none"
    """``nonzero``: only features that are nonzero in the clean input may change."""
    until_confidence: float | None = None
    """Stop a sample once its wrong-class (or target-class) probability reaches this."""
    until_success_rate: float | None = None
    """Stop the whole attack once this fraction of the batch has reached the goal."""
    early_stop: bool = False
    """Stop a sample as soon as its predicted label flips (or reaches the target)."""
    clip: tuple[float, float] | None = None
    """Valid feature range; ``None`` falls back to ``Dataset.feature_range``."""
    clip_to_range: bool = True
    """False leaves the inputs unbounded whatever the ranges say (Ren et al. do not clip)."""
    renormalize: bool = False
    """Rescale each adversarial input to unit L2 norm (Ren-style images).

    Applied after projection and clipping, so the perturbation may leave the ε ball by
    the (small) change of scale."""
    seed: int = 0
    optimizer: OptimizerKind = "adam"
    """Update rule of ``gradient_steps``: Adam, plain gradient ascent, or sign steps."""
    lr: float = 0.01
    """Learning rate of ``gradient_steps``."""
    loss: str = "cross_entropy"

    def __post_init__(self) -> None:
        if self.method not in _METHODS:
            raise ValueError(f"unknown attack method {self.method!r}; expected one of {_METHODS}")
        if self.norm not in ("linf", "l2"):
            raise ValueError(f"unknown norm {self.norm!r}; expected 'linf' or 'l2'")
        if self.method in _BOUNDED and not self.epsilons:
            raise ValueError(f"{self.method} needs an epsilon")
        if any(e < 0 for e in self.epsilons):
            raise ValueError("epsilon must be non-negative")
        if self.steps < 1 or self.restarts < 1:
            raise ValueError("steps and restarts must be at least 1")
        if self.targeted and self.target is None:
            raise ValueError("a targeted attack needs a target class")
        if self.mask not in ("none", "nonzero"):
            raise ValueError(f"unknown mask {self.mask!r}; expected 'none' or 'nonzero'")
        if self.until_confidence is not None and not 0.0 < self.until_confidence <= 1.0:
            raise ValueError("until_confidence must lie in (0, 1]")
        if self.until_success_rate is not None and not 0.0 < self.until_success_rate <= 1.0:
            raise ValueError("until_success_rate must lie in (0, 1]")

    @property
    def epsilons(self) -> tuple[float, ...]:
        """The epsilon values of the sweep (one for a single attack, none if unbounded)."""
        return _as_epsilons(self.epsilon)

    @property
    def bounded(self) -> bool:
        """True when the attack projects onto an epsilon ball.

        ``gradient_steps`` is unbounded (Ren et al.) unless an epsilon is given.
        """
        return self.method in _BOUNDED or (self.method == "gradient_steps" and bool(self.epsilons))

    @property
    def num_steps(self) -> int:
        """Steps actually taken: FGSM and noise take one whatever ``steps`` says."""
        return 1 if self.method in ("fgsm", "noise") else self.steps

    def at(self, epsilon: float) -> AttackConfig:
        """This attack with a single epsilon (one point of a sweep)."""
        return replace(self, epsilon=float(epsilon))

    def alpha(self, epsilon: float) -> float:
        """Step size for one epsilon, following the usual defaults of each method."""
        if self.step_size is not None:
            return self.step_size
        if self.method in ("fgsm", "noise"):
            return epsilon
        factor = 2.5 if self.method == "pgd" else 1.0
        return factor * epsilon / self.steps

    @property
    def starts_random(self) -> bool:
        """PGD starts at a random point of the ball by default (Madry et al. 2018)."""
        return self.method == "pgd" if self.random_start is None else self.random_start

    def describe(self) -> str:
        """Short human label, e.g. ``pgd-linf`` or ``gradient_steps``."""
        return self.method if not self.bounded else f"{self.method}-{self.norm}"


@dataclass(frozen=True)
class QuantumAttackConfig:
    """Perturbation unitary of local rotations on quantum-data inputs.

    The adversary prepends RX(δ₃q)·RY(δ₃q₊₁)·RZ(δ₃q₊₂) on each qubit q and ascends the
    loss in δ, keeping every ``|δ_i| ≤ epsilon`` and, optionally, the fidelity to the
    clean state above ``fidelity_min``.
    """

    epsilon: float | tuple[float, ...] = 0.1
    """Bound on every rotation angle (radians); a tuple asks for a sweep."""
    steps: int = 20
    step_size: float | None = None
    """Angle step of sign ascent, learning rate of Adam, or Fubini–Study length of a
    natural-gradient step; ``None`` means 2.5·ε/steps."""
    optimizer: Literal["sign", "adam", "natural"] = "sign"
    """``natural``: steps along metric⁻¹·gradient (the most loss per infidelity) and, at the
    fidelity floor, slides along it; ``sign``/``adam`` halve, then undo, a crossing step."""
    axes: tuple[str, ...] = ("x", "y", "z")
    """Rotation axes the adversary may use; the others stay at 0 (δ keeps 3 slots per qubit)."""
    fidelity_min: float | None = None
    """Lower bound on |⟨ψ|ψ_adv⟩|²; steps that cross it are halved, then undone."""
    random_start: bool = False
    early_stop: bool = False
    """Freeze a sample once its label flips."""
    until_confidence: float | None = None
    """Freeze a sample once its wrong-class (targeted: target) probability reaches this."""
    until_success_rate: float | None = None
    """Stop the whole attack once this fraction of the batch has reached the goal."""
    targeted: bool = False
    target: int | None = None
    seed: int = 0
    loss: str = "cross_entropy"

    def __post_init__(self) -> None:
        if not self.epsilons or any(e < 0 for e in self.epsilons):
            raise ValueError("epsilon must be one or more non-negative angles")
        if self.until_confidence is not None and not 0.0 < self.until_confidence <= 1.0:
            raise ValueError("until_confidence must lie in (0, 1]")
        if self.until_success_rate is not None and not 0.0 < self.until_success_rate <= 1.0:
            raise ValueError("until_success_rate must lie in (0, 1]")
        if self.steps < 1:
            raise ValueError("steps must be at least 1")
        if self.optimizer not in ("sign", "adam", "natural"):
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; expected 'sign', 'adam' or 'natural'"
            )
        if self.fidelity_min is not None and not 0.0 <= self.fidelity_min <= 1.0:
            raise ValueError("fidelity_min must lie in [0, 1]")
        if self.targeted and self.target is None:
            raise ValueError("a targeted attack needs a target class")
        if not self.axes or not set(self.axes) <= {"x", "y", "z"}:
            raise ValueError(f"axes must be a non-empty subset of x, y, z, got {self.axes!r}")

    def axis_mask(self, num_qubits: int) -> np.ndarray:
        """1 where δ₃q₊ₖ may move (k = 0, 1, 2 for x, y, z), 0 elsewhere; shape (3n,)."""
        per_qubit = np.array([float(a in self.axes) for a in ("x", "y", "z")])
        return np.tile(per_qubit, num_qubits)

    @property
    def epsilons(self) -> tuple[float, ...]:
        """The angle bounds of the sweep."""
        return _as_epsilons(self.epsilon)

    def at(self, epsilon: float) -> QuantumAttackConfig:
        """This attack with a single angle bound."""
        return replace(self, epsilon=float(epsilon))

    def alpha(self, epsilon: float) -> float:
        """Per-step angle change (or Adam learning rate)."""
        if self.step_size is not None:
            return self.step_size
        return 2.5 * epsilon / self.steps

    def describe(self) -> str:
        """Short human label."""
        return "local-rotations" if self.fidelity_min is None else "local-rotations-fid"


def _has_ball(attack: AttackConfig | QuantumAttackConfig) -> bool:
    return isinstance(attack, QuantumAttackConfig) or attack.bounded


@dataclass(frozen=True)
class AdversarialTrainingConfig:
    """Adversarial training: how each mini-batch mixes clean and adversarial examples.

    ``mode="online"`` is Madry's min-max: adversarial examples are crafted against the
    current θ for every batch. ``mode="fixed"`` is Ren et al.'s protocol: a fixed set of
    adversarial examples precomputed against the clean model is mixed into each batch.
    """

    attack: AttackConfig | QuantumAttackConfig
    ratio: float = 0.5
    """Fraction of each returned batch that is adversarial (0.5: as many adversarial as clean)."""
    schedule: Schedule = "constant"
    """``linear``: epsilon ramps from 0 to its final value over ``ramp_fraction`` of training."""
    ramp_fraction: float = 0.5
    mode: Literal["online", "fixed"] = "online"
    num_fixed: int | None = None
    """Size of the precomputed adversarial set in ``fixed`` mode (``None``: whole train set)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.ratio <= 1.0:
            raise ValueError("ratio must lie in (0, 1]")
        if self.schedule not in ("constant", "linear"):
            raise ValueError(f"unknown schedule {self.schedule!r}")
        if not 0.0 < self.ramp_fraction <= 1.0:
            raise ValueError("ramp_fraction must lie in (0, 1]")
        if self.mode not in ("online", "fixed"):
            raise ValueError(f"unknown mode {self.mode!r}")
        if self.schedule == "linear" and self.mode == "fixed":
            raise ValueError("a linear schedule ramps ε per batch; a fixed set is crafted once")
        if self.schedule == "linear" and not _has_ball(self.attack):
            raise ValueError("a linear schedule ramps ε; this attack has no ε-ball")

    def epsilon_scale(self, progress: float) -> float:
        """Multiplier on epsilon after ``progress`` ∈ [0, 1] of training."""
        if self.schedule == "constant":
            return 1.0
        return float(min(1.0, max(0.0, progress) / self.ramp_fraction))
