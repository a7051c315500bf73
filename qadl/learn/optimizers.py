"""Optimizers behind one functional interface: ``init(θ) -> state``, ``step(…) -> (θ, state)``.

Gradient-based optimizers (``Adam``, ``SGD``) take ``step(state, theta, grad)``;
gradient-free ones (``SPSA``, ``COBYLA``) take ``step(state, theta, objective)`` where
``objective(theta) -> float``. Optimizers are frozen dataclasses of hyperparameters and
never hold mutable state: the state is a flat ``dict[str, np.ndarray]`` that a
checkpoint stores as it is (``qadl.learn.checkpoint``), so a resumed run continues
bit for bit. Gradient-based steps accept an optional boolean ``mask``: only the
masked entries of θ (and of the optimizer's moment estimates) change, which is what
block-coordinate training (Ren et al. 2022: one qubit's angles per sub-step) needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

__all__ = ["COBYLA", "OPTIMIZERS", "SGD", "SPSA", "Adam", "OptState", "Optimizer", "make_optimizer"]

OptState = dict[str, np.ndarray]
"""Optimizer state: named arrays (scalars as 0-d arrays), serialisable with ``np.savez``."""

Objective = Callable[[np.ndarray], float]


def _masked(mask: np.ndarray | None, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    return new if mask is None else np.where(mask, new, old)


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015) with bias correction; Ren et al. use ``lr = 0.05``.

    ``decay`` sets an inverse-time schedule ``lr_t = lr / (1 + decay · (t − 1))``.
    """

    lr: float = 0.05
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    decay: float = 0.0
    needs_gradient: ClassVar[bool] = True

    def init(self, theta: np.ndarray) -> OptState:
        """Zero moments, step counter 0."""
        zeros = np.zeros_like(np.asarray(theta, dtype=float))
        return {"t": np.array(0), "m": zeros, "v": zeros.copy()}

    def step(
        self,
        state: OptState,
        theta: np.ndarray,
        grad: np.ndarray,
        *,
        mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, OptState]:
        """One update with gradient ``grad``; returns new θ and new state (inputs untouched)."""
        t = int(state["t"]) + 1
        m = self.beta1 * state["m"] + (1 - self.beta1) * grad
        v = self.beta2 * state["v"] + (1 - self.beta2) * grad**2
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        lr = self.lr / (1.0 + self.decay * (t - 1))
        new = theta - lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return _masked(mask, new, theta), {
            "t": np.array(t),
            "m": _masked(mask, m, state["m"]),
            "v": _masked(mask, v, state["v"]),
        }


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with (optionally Nesterov) momentum.

    ``decay`` sets an inverse-time schedule ``lr_t = lr / (1 + decay · (t − 1))``.
    """

    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    decay: float = 0.0
    needs_gradient: ClassVar[bool] = True

    def init(self, theta: np.ndarray) -> OptState:
        """Zero velocity, step counter 0."""
        return {"t": np.array(0), "velocity": np.zeros_like(np.asarray(theta, dtype=float))}

    def step(
        self,
        state: OptState,
        theta: np.ndarray,
        grad: np.ndarray,
        *,
        mask: np.ndarray | None = None,
    ) -> tuple[np.ndarray, OptState]:
        """``v ← μ v + g``; ``θ ← θ − lr (g + μ v)`` (Nesterov) or ``θ − lr v``."""
        t = int(state["t"]) + 1
        velocity = self.momentum * state["velocity"] + grad
        direction = grad + self.momentum * velocity if self.nesterov else velocity
        new = theta - self.lr / (1.0 + self.decay * (t - 1)) * direction
        return _masked(mask, new, theta), {
            "t": np.array(t),
            "velocity": _masked(mask, velocity, state["velocity"]),
        }


@dataclass(frozen=True)
class SPSA:
    """Simultaneous-perturbation stochastic approximation (Spall 1998).

    Gains follow Spall's standard schedules ``a_k = a / (k + 1 + A)^α`` and
    ``c_k = c / (k + 1)^γ`` with ``α = 0.602``, ``γ = 0.101``. Each step costs two
    objective evaluations at ``θ ± c_k Δ`` with Rademacher ``Δ``. ``Δ`` is drawn from
    a generator seeded by ``(seed, k)``, so the state is just the counter ``k``.
    """

    a: float = 0.2
    c: float = 0.1
    A: float = 10.0
    alpha: float = 0.602
    gamma: float = 0.101
    seed: int = 0
    needs_gradient: ClassVar[bool] = False

    def init(self, theta: np.ndarray) -> OptState:
        """Counter ``k = 0``."""
        return {"k": np.array(0)}

    def gains(self, k: int) -> tuple[float, float]:
        """``(a_k, c_k)`` of step ``k`` (0-based)."""
        return self.a / (k + 1 + self.A) ** self.alpha, self.c / (k + 1) ** self.gamma

    def step(
        self, state: OptState, theta: np.ndarray, objective: Objective
    ) -> tuple[np.ndarray, OptState]:
        """One SPSA update from two evaluations of ``objective``."""
        k = int(state["k"])
        a_k, c_k = self.gains(k)
        rng = np.random.default_rng([self.seed, k])
        delta = rng.choice([-1.0, 1.0], size=np.shape(theta))
        diff = objective(theta + c_k * delta) - objective(theta - c_k * delta)
        grad = diff / (2.0 * c_k) * delta  # 1/Δ_i = Δ_i for ±1 entries
        return theta - a_k * grad, {"k": np.array(k + 1)}


@dataclass(frozen=True)
class COBYLA:
    """Powell's COBYLA through ``scipy.optimize.minimize``, a bounded run per step.

    In training, one ``step`` is one mini-batch: COBYLA minimises that batch's mean
    loss for at most ``maxiter`` evaluations, starting from the current θ with trust
    radius ``rhobeg``. With ``batch`` equal to the training-set size this is plain
    COBYLA on the whole objective, ``maxiter`` evaluations per epoch (at least P + 2,
    what its first simplex needs). The state counts the objective evaluations spent so far.
    """

    maxiter: int = 50
    rhobeg: float = 0.3
    tol: float = 1e-6
    needs_gradient: ClassVar[bool] = False

    def init(self, theta: np.ndarray) -> OptState:
        """Evaluation counter 0."""
        return {"nfev": np.array(0)}

    def step(
        self, state: OptState, theta: np.ndarray, objective: Objective
    ) -> tuple[np.ndarray, OptState]:
        """Run COBYLA on ``objective`` from ``theta``; return its best point."""
        from scipy.optimize import minimize

        result = minimize(
            objective,
            np.asarray(theta, dtype=float),
            method="COBYLA",
            tol=self.tol,
            # COBYLA's first simplex alone takes P + 2 evaluations; SciPy raises smaller limits.
            options={"maxiter": max(self.maxiter, np.size(theta) + 2), "rhobeg": self.rhobeg},
        )
        return np.asarray(result.x, dtype=float), {
            "nfev": np.array(int(state["nfev"]) + result.nfev)
        }


Optimizer = Adam | SGD | SPSA | COBYLA

OPTIMIZERS: dict[str, type] = {"adam": Adam, "sgd": SGD, "spsa": SPSA, "cobyla": COBYLA}
"""Optimizer name (as written in a ``train`` block) -> class."""


def make_optimizer(name: str, **options: float | int | bool) -> Optimizer:
    """Build the optimizer called ``name`` with keyword hyperparameters.

    Raises:
        ValueError: unknown name or hyperparameter.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; expected one of {sorted(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[name](**options)
    except TypeError as err:
        raise ValueError(f"bad options for optimizer {name!r}: {err}") from None
