"""``MitigatedSimulator``: noisy outputs with readout-error mitigation and zero-noise extrapolation.

It has the ``Simulator`` interface (docs/api.md), so a ``Classifier`` built on it
decides, trains and is attacked on the mitigated outputs. Per noise scale λ it runs one
noisy simulator of the circuit folded to λ (folding is an IR pass: the caller passes
the folded circuits), or of the base circuit under the noise scaled by λ (channel
scaling: the caller passes one noise model per scale, ``qadl.ir.noise_scaling``); then

1. readout mitigation (``probs`` readouts): ``C⁻¹`` on the full outcome distribution
   of the measured qubits, at every scale;
2. extrapolation of the (mitigated) values to λ = 0;
3. back to physical values: projection onto the probability simplex (``probs``) or
   clipping to [−1, 1] (Pauli expectations), then the first ``num_classes`` outcomes.

Each step is linear or has an exact, piecewise-smooth Jacobian, so ``vjp`` is exact
wherever the simplex support (or the clipping) does not change.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from qadl.backends.sim import noisy_readout as nro
from qadl.backends.sim.extrapolation import Extrapolation
from qadl.backends.sim.gradients import Gradients
from qadl.backends.sim.noisy import NoisySimulator
from qadl.backends.sim.readout_mitigation import (
    ReadoutMitigator,
    calibrated_confusion,
    project_simplex,
    projection_vjp,
)
from qadl.ir.circuit import Circuit, Readout
from qadl.ir.target import NoiseModel

__all__ = ["MitigatedSimulator", "Mitigation"]


@dataclass(frozen=True)
class Mitigation:
    """What to mitigate.

    Args:
        readout: None, ``"tensored"`` or ``"full"`` (confusion-matrix inversion).
        calibration_shots: Estimate the full confusion matrix from this many shots per
            calibration circuit (``readout="full"``); None inverts the declared error.
        extrapolation: Zero-noise extrapolation over the folded circuits' scales, or None.
        seed: Seed of the calibration shots.
    """

    readout: str | None = None
    calibration_shots: int | None = None
    extrapolation: Extrapolation | None = None
    seed: int = 0


def _full_readout(readout: Readout) -> Readout:
    """A ``probs`` readout reporting every outcome of its qubits (others unchanged)."""
    if readout.kind != "probs":
        return readout
    return replace(readout, num_classes=1 << len(readout.qubits))


class MitigatedSimulator:
    """Mitigated noisy outputs behind the ``Simulator`` interface.

    Args:
        circuits: One circuit per noise scale of ``mitigation.extrapolation`` (in its
            order), each the base circuit folded to that scale; a single circuit without
            extrapolation.
        noise: The device noise.
        mitigation: What to mitigate.
        method: Noisy simulation method (``NoisySimulator``).
        noises: Channel scaling: one noise model per scale (``noise`` scaled by it), each
            run on ``circuits[i]``; None runs every circuit under ``noise``. Readout
            mitigation inverts ``noise``'s readout error.

    Raises:
        ValueError: For readout mitigation of an ``expval`` readout, a mismatch between
            circuits, noise models and scales, or circuits that read out differently.
    """

    def __init__(
        self,
        circuits: Sequence[Circuit],
        noise: NoiseModel,
        mitigation: Mitigation,
        method: str = "auto",
        noises: Sequence[NoiseModel] | None = None,
    ):
        circuits = tuple(circuits)
        scales = mitigation.extrapolation.scales if mitigation.extrapolation else (1,)
        if len(circuits) != len(scales):
            raise ValueError(f"{len(circuits)} circuits for {len(scales)} noise scales")
        noises = (noise,) * len(circuits) if noises is None else tuple(noises)
        if len(noises) != len(scales):
            raise ValueError(f"{len(noises)} noise models for {len(scales)} noise scales")
        readout = circuits[0].readout
        if readout is None or any(c.readout != readout for c in circuits):
            raise ValueError("every folded circuit must have the base circuit's readout")
        if mitigation.readout is not None and readout.kind != "probs":
            raise ValueError("readout mitigation inverts the confusion matrix of a probs readout")
        self.circuit = circuits[0]
        self.readout = readout
        self.noise = noise
        self.mitigation = mitigation
        full = _full_readout(readout)
        self.engines = tuple(
            NoisySimulator(replace(c, readout=full), n, method, shots=0)
            for c, n in zip(circuits, noises, strict=True)
        )
        self.mitigator = self._mitigator(readout, mitigation, noise)
        self._asymptote = self._mixed_value(full)

    num_qubits = property(lambda self: self.circuit.num_qubits, doc="Number of qubits.")
    num_params = property(lambda self: self.circuit.num_params, doc="Length of θ.")
    num_features = property(lambda self: self.circuit.num_features, doc="Features per sample.")
    num_deltas = property(lambda self: self.circuit.num_deltas, doc="Perturbation symbols.")
    num_outputs = property(lambda self: self.readout.num_outputs, doc="Outputs per sample.")

    @staticmethod
    def _mitigator(readout: Readout, mitigation: Mitigation, noise: NoiseModel):
        if mitigation.readout is None:
            return None
        bits = len(readout.qubits)
        confusion = None
        if mitigation.calibration_shots is not None:
            rng = np.random.default_rng(mitigation.seed)
            confusion = calibrated_confusion(
                noise.readout_error, bits, mitigation.calibration_shots, rng
            )
        return ReadoutMitigator(noise.readout_error, bits, mitigation.readout, confusion)

    def _mixed_value(self, full: Readout) -> np.ndarray:
        """Readout values of the maximally mixed state after readout mitigation: ``y∞``."""
        dim = 1 << self.num_qubits
        rho = np.eye(dim, dtype=complex)[None] / dim
        value = nro.density_outputs(rho, full, self.num_qubits, self.noise.readout_error)
        return self._unmix(value)[0]

    def _unmix(self, values: np.ndarray) -> np.ndarray:
        return values if self.mitigator is None else self.mitigator.unmix(values)

    def _scaled(self, theta, x, delta, state) -> np.ndarray:
        """``(S, B, K_full)`` readout-mitigated values at every noise scale."""
        return np.stack([self._unmix(e.outputs(theta, x, delta, state)) for e in self.engines])

    def _combine(self, scaled: np.ndarray) -> np.ndarray:
        """Extrapolated (or the single scale's) values ``(B, K_full)``, before projection."""
        ext = self.mitigation.extrapolation
        return scaled[0] if ext is None else ext(scaled, self._asymptote)

    def _physical(self, values: np.ndarray) -> np.ndarray:
        if self.readout.kind == "probs":
            return project_simplex(values)
        return np.clip(values, -1.0, 1.0)

    def outputs(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Mitigated readout values ``(B, K)`` (exact: no shot noise)."""
        values = self._physical(self._combine(self._scaled(theta, x, delta, state)))
        return values[:, : self.readout.num_outputs]

    def vjp(
        self, theta, x=None, delta=None, state=None, *, cotangent, method: str = "adjoint"
    ) -> Gradients:
        """``cotangentᵀ · ∂outputs`` through the mitigation (see the module doc)."""
        grads, _ = self.vjp_after(theta, x, delta, state, method=method,
                                  seed=lambda outputs: (cotangent, None))
        return grads

    def vjp_after(
        self, theta, x=None, delta=None, state=None, *, seed, method: str = "adjoint"
    ) -> tuple[Gradients, object]:
        """``vjp`` with ``seed(outputs) = (cotangent, aux)``, one forward pass per noise scale.

        The engines' ``vjp_after`` calls nest: engine k's cotangent seed runs engine
        k + 1's ``vjp_after``, so the innermost seed holds every scale's outputs, mitigates
        and combines them, calls ``seed`` and hands each engine its cotangent as the calls
        return. Every engine keeps its forward pass meanwhile (each within its own memory
        bound, beyond which it runs ``outputs`` then ``vjp``). Returns ``(Gradients, aux)``;
        the gradients' ``outputs`` are the mitigated outputs ``seed`` saw.
        """
        parts, _, physical, aux = self._nested_vjps(0, [], (theta, x, delta, state), seed,
                                                    method)
        total = functools.reduce(_add, parts)
        return replace(total, outputs=physical[:, : self.readout.num_outputs]), aux

    def _nested_vjps(self, k: int, outs: list, args: tuple, seed, method: str):
        """Engine ``k``'s ``vjp_after``, engines ``k+1 …`` run inside its seed (``outs``:
        the outputs of engines ``0 … k-1``). Returns the gradients of engines ``k …`` in
        order, the per-scale cotangents, the physical values and ``seed``'s aux."""

        def seed_k(out_k):
            seen = [*outs, out_k]
            inner = (self._nested_vjps(k + 1, seen, args, seed, method)
                     if k + 1 < len(self.engines) else ([], *self._cotangents(seen, seed)))
            return self._unmix_vjp(inner[1][k]), inner

        grads, (parts, per_scale, physical, aux) = self.engines[k].vjp_after(
            *args, seed=seed_k, method=method)
        return [grads, *parts], per_scale, physical, aux

    def _cotangents(self, raw: list[np.ndarray], seed):
        """Every scale's cotangent from the engines' outputs ``raw``: mitigate, combine,
        ``seed`` the mitigated values, and back through projection and extrapolation.
        Returns ``(per-scale cotangents (S, B, K_full), physical values, aux)``."""
        scaled = np.stack([self._unmix(o) for o in raw])
        combined = self._combine(scaled)
        physical = self._physical(combined)
        user_cot, aux = seed(physical[:, : self.readout.num_outputs])
        cot = np.zeros_like(physical)
        cot[:, : self.readout.num_outputs] = np.asarray(user_cot, dtype=float).reshape(
            physical.shape[0], -1
        )
        if self.readout.kind == "probs":
            cot = projection_vjp(physical, cot)
        else:
            cot = np.where(np.abs(combined) <= 1.0, cot, 0.0)
        ext = self.mitigation.extrapolation
        per_scale = cot[None] if ext is None else ext.vjp(scaled, cot, self._asymptote)
        return per_scale, physical, aux

    def _unmix_vjp(self, cotangent: np.ndarray) -> np.ndarray:
        return cotangent if self.mitigator is None else self.mitigator.unmix_vjp(cotangent)


def _add(a: Gradients, b: Gradients) -> Gradients:
    def plus(u, v):
        return None if u is None else u + v

    return Gradients(
        a.outputs, a.theta + b.theta, plus(a.x, b.x), plus(a.delta, b.delta), plus(a.state, b.state)
    )
