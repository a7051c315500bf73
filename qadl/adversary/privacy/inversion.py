"""Gradient inversion: recover a client's inputs from the gradient it shares.

For each attacked gradient (``samples`` of them, each the mean over ``batch`` training
samples), the attacker knows θ, the loss and the labels, and minimises the matching loss
from ``restarts`` random starts in the feature box, either with L-BFGS-B on the exact
gradient (``matching``) or with Nelder–Mead (a gradient-free baseline). The restart kept
for a gradient is the one with the lowest matching loss: the attacker cannot see the
error. Reconstructions are paired with the true inputs of the same label (Hungarian
assignment on the max-abs error), since a batch gradient does not order its samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment, minimize

from qadl.adversary.privacy.matching import GradientOracle, objective
from qadl.backends.sim.hessian import serial

__all__ = [
    "INVERSION_OPTIMIZERS",
    "MAX_LABEL_MULTISETS",
    "InversionConfig",
    "InversionResult",
    "aggregated_gradient",
    "invert_gradients",
    "label_multiset_count",
    "label_multisets",
    "peak_snr",
    "released_gradient",
]

INVERSION_OPTIMIZERS = ("lbfgs", "nelder_mead")
"""L-BFGS-B on the exact matching gradient, or gradient-free Nelder–Mead."""


@dataclass(frozen=True)
class InversionConfig:
    """``gradient_inversion(loss, restarts, steps, batch, samples, optimizer, tolerance)``."""

    loss: str = "l2"
    restarts: int = 8
    steps: int = 200
    """Iterations of the optimizer per restart."""
    batch: int = 1
    """Training samples averaged into one client's shared gradient."""
    clients: int = 1
    """Clients whose shared gradients the server sees only as their mean (secure
    aggregation): each attacked gradient averages ``clients`` releases of ``batch``."""
    samples: int = 5
    """Shared gradients attacked."""
    optimizer: str = "lbfgs"
    tolerance: float = 1e-4
    """An input is recovered when every feature is within this of the truth."""
    box: tuple[float, float] = (0.0, 1.0)
    """Search box of every feature (the attack's ``clip``, or the training data's range)."""
    seed: int = 0
    clip_norm: float | None = None
    """The client clips each sample's gradient to this L2 norm before averaging (DP-SGD)."""
    noise: float = 0.0
    """The client adds Gaussian noise of std ``noise · clip_norm`` to the clipped sum."""
    shots: int | None = None
    """The client estimates its gradient from this many shots per sample (None: exact)."""
    infer_labels: bool = False
    """The attacker does not know the labels: every multiset of labels of the gradient's
    inputs is tried (``restarts`` each) and that of the best match is its guess."""


@dataclass(frozen=True)
class InversionResult:
    """Errors of every reconstruction, per attacked gradient, restart and batch slot."""

    errors: np.ndarray
    """(samples, restarts, batch) max-abs error of each reconstructed input."""
    matching: np.ndarray
    """(samples, restarts) final matching loss."""
    relative: np.ndarray
    """(samples, restarts, batch) ‖x' − x‖₂ / ‖x‖₂."""
    tolerance: float
    label_hits: np.ndarray | None = None
    """(samples, restarts) whether the restart's label was the true one (inferred labels)."""
    psnr: np.ndarray | None = None
    """(samples, restarts, batch) peak signal-to-noise ratio in dB, 10·log10(R² / MSE), with
    R the width of the feature box (the image-reconstruction measure for pixel inputs);
    None for state inputs. An exact reconstruction counts as MSE = 1e-30."""

    @property
    def chosen(self) -> np.ndarray:
        """(samples,) the restart the attacker keeps: the lowest matching loss."""
        return np.argmin(self.matching, axis=1)

    def _kept(self, values: np.ndarray) -> np.ndarray:
        return values[np.arange(values.shape[0]), self.chosen]

    @property
    def recovered_fraction(self) -> float:
        """Fraction of attacked inputs recovered within ``tolerance`` (kept restarts)."""
        return float(np.mean(self._kept(self.errors) <= self.tolerance))

    @property
    def restart_recovered_fraction(self) -> float:
        """Fraction of (gradient, restart, input) reconstructions within ``tolerance``."""
        return float(np.mean(self.errors <= self.tolerance))

    def to_json(self) -> dict[str, Any]:
        """Summary numbers and the per-gradient errors, for results.json."""
        kept = self._kept(self.errors)
        return {
            "tolerance": self.tolerance,
            "inputs": int(kept.size),
            "recovered_fraction": self.recovered_fraction,
            "restart_recovered_fraction": self.restart_recovered_fraction,
            "median_error": float(np.median(kept)),
            "mean_relative_error": float(np.mean(self._kept(self.relative))),
            "errors": kept.tolist(),
            "matching_loss": np.min(self.matching, axis=1).tolist(),
            **(
                {}
                if self.label_hits is None
                else {"label_accuracy": float(np.mean(self._kept(self.label_hits)))}
            ),
            **(
                {}
                if self.psnr is None
                else {"median_psnr_db": float(np.median(self._kept(self.psnr)))}
            ),
        }


def invert_gradients(
    oracle: GradientOracle,
    x: np.ndarray,
    y: np.ndarray,
    config: InversionConfig,
    *,
    client: GradientOracle | None = None,
    shared: np.ndarray | None = None,
) -> InversionResult:
    """Attack ``config.samples`` shared gradients of the inputs ``x`` (in order) with labels ``y``.

    ``x`` needs at least ``samples · clients · batch`` rows; with ``n = clients · batch``,
    gradient ``s`` is the mean of the releases of rows ``s·n … (s+1)·n − 1``, client by
    client (``batch`` consecutive rows each), and all ``n`` inputs are reconstructed.
    ``client`` computes the shared gradients where the client's model is not the one the
    attacker matches with (a noisy device: the attacker uses the noiseless ``oracle``).
    ``shared`` (samples, P) are gradients the clients really shared (recorded in
    training), used instead of simulating the clients.
    """
    from threadpoolctl import threadpool_limits  # lazy: only attacks need it

    # tiny problems: threads (kernels' and BLAS's, inside L-BFGS-B) cost more than they save
    with serial(), threadpool_limits(1):
        return _invert(oracle, client or oracle, x, y, config, shared)


def _invert(
    oracle: GradientOracle,
    client: GradientOracle,
    x: np.ndarray,
    y: np.ndarray,
    config: InversionConfig,
    shared: np.ndarray | None = None,
) -> InversionResult:
    rng = np.random.default_rng(config.seed)
    noise_rng = np.random.default_rng([config.seed, 1])  # the client's, apart from the attacker's
    per_gradient = config.clients * config.batch
    candidates = (
        label_multisets(oracle.classifier.num_classes, per_gradient)
        if config.infer_labels
        else None
    )
    tries = 1 if candidates is None else len(candidates)
    shape = (config.samples, config.restarts * tries, per_gradient)
    errors, relative, psnr = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    matching, hits = np.zeros(shape[:2]), np.zeros(shape[:2], dtype=bool)
    for s in range(config.samples):
        rows = slice(s * per_gradient, (s + 1) * per_gradient)
        xs, ys = np.asarray(x[rows], dtype=np.float64), np.asarray(y[rows], dtype=np.int64)
        if shared is None:
            g = aggregated_gradient(client, xs, ys, config, noise_rng)
        else:
            g = np.asarray(shared[s], dtype=np.float64)
        # known labels: the true ones; inferred: every multiset of labels in turn (a
        # gradient does not order its samples, so a multiset is all it can tell)
        guesses = [ys] if candidates is None else candidates
        for n, labels in enumerate(guesses):
            fun = objective(oracle, g, labels, config.loss, gradient=config.optimizer == "lbfgs")
            for r in range(n * config.restarts, (n + 1) * config.restarts):
                start = rng.uniform(*config.box, size=xs.shape)
                guess, value = _minimise(fun, start, config)
                matching[s, r] = value
                hits[s, r] = bool(np.array_equal(np.sort(labels), np.sort(ys)))
                errors[s, r], relative[s, r], mse = _paired_errors(guess, xs, labels)
                psnr[s, r] = peak_snr(mse, config.box[1] - config.box[0])
    return InversionResult(
        errors,
        matching,
        relative,
        config.tolerance,
        hits if config.infer_labels else None,
        psnr,
    )


def peak_snr(mse: np.ndarray, peak: float) -> np.ndarray:
    """PSNR in dB of reconstructions with mean squared errors ``mse`` on a range ``peak``."""
    return 10.0 * np.log10(peak**2 / np.maximum(mse, 1e-30))


MAX_LABEL_MULTISETS = 64
"""``labels = inferred`` tries every label multiset of a gradient's inputs: at most this many."""


def label_multisets(classes: int, inputs: int) -> list[np.ndarray]:
    """Every multiset of ``inputs`` labels among ``classes`` (sorted label arrays):
    ``C(inputs + classes − 1, inputs)`` of them."""
    from itertools import combinations_with_replacement

    return [
        np.array(c, dtype=np.int64) for c in combinations_with_replacement(range(classes), inputs)
    ]


def label_multiset_count(classes: int, inputs: int) -> int:
    """``len(label_multisets(classes, inputs))`` without listing them."""
    from math import comb

    return comb(inputs + classes - 1, inputs)


def aggregated_gradient(
    oracle: GradientOracle,
    x: np.ndarray,
    y: np.ndarray,
    config: InversionConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """What the server sees: the mean of ``config.clients`` clients' releases, client ``c``
    sharing its ``released_gradient`` of rows ``c·batch … (c+1)·batch − 1``. Equal batches
    make it the mean gradient of all rows, which is what the attacker matches."""
    if config.clients == 1:
        return released_gradient(oracle, x, y, config, rng)
    b = config.batch
    parts = [
        released_gradient(oracle, x[c * b : (c + 1) * b], y[c * b : (c + 1) * b], config, rng)
        for c in range(config.clients)
    ]
    return np.mean(parts, axis=0)


def released_gradient(
    oracle: GradientOracle,
    x: np.ndarray,
    y: np.ndarray,
    config: InversionConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """The gradient a client shares: the batch mean, or with ``clip_norm`` the DP-SGD release
    ``(Σ_b clip(∇θ ℓ_b) + N(0, (noise·clip_norm)² I)) / B`` (Abadi et al. 2016); with
    ``shots`` every gradient is a finite-shot estimate."""

    def gradient(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        if config.shots is None:
            return oracle.shared_gradient(xs, ys)
        return oracle.shot_gradient(xs, ys, config.shots, rng)

    if config.clip_norm is None:
        return gradient(x, y)
    total = np.zeros(oracle.classifier.num_params)
    for b in range(len(y)):
        g = gradient(x[b : b + 1], y[b : b + 1])
        norm = float(np.linalg.norm(g))
        total += g * min(1.0, config.clip_norm / norm) if norm > 0 else g
    total += rng.normal(0.0, config.noise * config.clip_norm, size=total.shape)
    return total / len(y)


def _minimise(fun: Any, start: np.ndarray, config: InversionConfig) -> tuple[np.ndarray, float]:
    bounds = [config.box] * start.size
    if config.optimizer == "lbfgs":
        # ftol = 0: stop on the gradient or the step budget, not on a relative loss change,
        # so an exact match is pushed down to rounding
        res = minimize(
            fun,
            start.ravel(),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": config.steps, "ftol": 0.0, "gtol": 1e-14},
        )
    else:
        res = minimize(
            fun,
            start.ravel(),
            method="Nelder-Mead",
            bounds=bounds,
            options={"maxiter": config.steps, "xatol": 1e-12, "fatol": 0.0},
        )
    return res.x.reshape(start.shape), float(res.fun)


def _paired_errors(guess: np.ndarray, truth: np.ndarray, y: np.ndarray):
    """Per-input errors after pairing each reconstruction with a true input of its label."""
    dist = np.abs(guess[:, None, :] - truth[None, :, :]).max(axis=2)
    # reconstruction b was optimised with label y[b]: it may only stand for inputs of that label
    cost = np.where(y[:, None] == y[None, :], dist, np.inf)
    row, col = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e300))
    err = dist[row, col]
    norm = np.maximum(np.linalg.norm(truth[col], axis=1), 1e-300)
    rel = np.linalg.norm(guess[row] - truth[col], axis=1) / norm
    mse = np.mean((guess[row] - truth[col]) ** 2, axis=1)
    return err, rel, mse
