"""``Classifier``: a simulator plus a readout seen as a probabilistic classifier with gradients.

This is the one oracle that training and the attacks query: class probabilities,
and gradients of the mean loss with respect to θ, the input features x, the
perturbation symbols δ and the input state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from qadl.backends.sim.gradients import outputs_then_vjp
from qadl.ir.circuit import Readout
from qadl.learn.losses import loss_and_grad
from qadl.learn.readout import class_probs, class_probs_vjp
from qadl.learn.shots import sample_readout, shot_loss_and_cotangent

__all__ = ["Classifier"]


@dataclass(frozen=True)
class Classifier:
    """A compiled circuit (through its simulator) read out as class probabilities.

    ``sim`` is anything with the ``qadl.backends.sim.Simulator`` interface
    (``outputs`` and ``vjp``); ``readout`` is the circuit's ``Readout``.
    """

    sim: Any
    """The simulator (``qadl.backends.sim.Simulator`` or a stand-in with its interface)."""
    readout: Readout
    """How outputs become class scores."""
    scale: float = 1.0
    """Softmax inverse temperature for multi-observable ``expval`` readouts."""

    @property
    def num_classes(self) -> int:
        """C."""
        return self.readout.num_classes

    @property
    def num_params(self) -> int:
        """Length of θ."""
        return int(self.sim.num_params)

    def predict_proba(
        self,
        theta: np.ndarray,
        x: np.ndarray | None = None,
        state: np.ndarray | None = None,
        delta: np.ndarray | None = None,
    ) -> np.ndarray:
        """Class probabilities ``(B, C)`` of a batch.

        Args:
            theta: trainable parameters ``(P,)``.
            x: features ``(B, F)``, if the circuit has inputs.
            state: input states ``(B, 2**n)``, for quantum data.
            delta: perturbation symbols ``(B, D)``, if the circuit has any.
        """
        outputs = self.sim.outputs(theta, x=x, delta=delta, state=state)
        return class_probs(self.readout, outputs, scale=self.scale)

    def predict(
        self,
        theta: np.ndarray,
        x: np.ndarray | None = None,
        state: np.ndarray | None = None,
        delta: np.ndarray | None = None,
    ) -> np.ndarray:
        """Predicted labels ``(B,)``: the most probable class (ties: the lowest index)."""
        return np.argmax(self.predict_proba(theta, x=x, state=state, delta=delta), axis=1)

    def loss_and_grads(
        self,
        theta: np.ndarray,
        y: np.ndarray,
        x: np.ndarray | None = None,
        state: np.ndarray | None = None,
        delta: np.ndarray | None = None,
        *,
        loss: str = "cross_entropy",
        method: str = "adjoint",
    ) -> tuple[np.ndarray, Any]:
        """Per-sample losses and the gradients of their **mean** over the batch.

        Args:
            theta: trainable parameters ``(P,)``.
            y: labels ``(B,)``.
            x: features ``(B, F)``, as in ``predict_proba``.
            state: input states ``(B, 2**n)``.
            delta: perturbation symbols ``(B, D)``.
            loss: a name in ``qadl.learn.losses.LOSSES``.
            method: ``"adjoint"`` or ``"parameter-shift"`` (passed to the simulator).

        Returns:
            ``(per_sample_loss (B,), Gradients)`` where ``Gradients`` comes from
            ``Simulator.vjp`` with the cotangent of the mean loss, so its ``theta``,
            ``x``, ``delta`` and ``state`` fields are d(mean loss)/d(that input).
        """

        def seed(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            probs = class_probs(self.readout, outputs, scale=self.scale)
            per_sample, dprobs = loss_and_grad(loss, probs, y)
            scaled = dprobs / len(per_sample)
            return class_probs_vjp(self.readout, outputs, scaled, scale=self.scale), per_sample

        grads, per_sample = self._vjp_after(theta, x, state, delta, seed, method)
        return per_sample, grads

    def _vjp_after(self, theta, x, state, delta, seed, method: str) -> tuple[Any, Any]:
        """``(Gradients, aux)`` of ``seed(outputs) = (cotangent, aux)``.

        One forward pass where the simulator offers ``vjp_after`` (the statevector
        ``Simulator``, the density-matrix ``NoisySimulator``); otherwise ``outputs`` then
        ``vjp``.
        """
        vjp_after = getattr(self.sim, "vjp_after", None)
        if vjp_after is not None:
            return vjp_after(theta, x=x, delta=delta, state=state, seed=seed, method=method)
        return outputs_then_vjp(self.sim, theta, x, delta, state, seed, method)

    def sampled_proba(
        self,
        theta: np.ndarray,
        shots: int,
        rng: np.random.Generator,
        x: np.ndarray | None = None,
        state: np.ndarray | None = None,
        delta: np.ndarray | None = None,
    ) -> np.ndarray:
        """Class probabilities ``(B, C)`` estimated from ``shots`` measurements per sample.

        See ``qadl.learn.shots.sample_readout``; the simulator's outputs must be exact.
        """
        outputs = self.sim.outputs(theta, x=x, delta=delta, state=state)
        return sample_readout(self.readout, outputs, shots, rng, scale=self.scale)

    def shot_loss_and_grads(
        self,
        theta: np.ndarray,
        y: np.ndarray,
        shots: int,
        rng: np.random.Generator,
        x: np.ndarray | None = None,
        state: np.ndarray | None = None,
        delta: np.ndarray | None = None,
        *,
        loss: str = "cross_entropy",
        method: str = "adjoint",
    ) -> tuple[np.ndarray, Any]:
        """Like ``loss_and_grads``, for the expected loss of ``shots``-shot class estimates.

        The losses are sampled from ``shots`` measurements per sample; the gradients are
        unbiased estimates of ∇ of the batch mean of ``J = E[L(p̂)]`` (``qadl.learn.shots``):
        a sampled cotangent pulled back through the simulator's exact Jacobian.
        """

        def seed(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            per_sample, cot = shot_loss_and_cotangent(
                self.readout, outputs, y, shots, rng, loss=loss, scale=self.scale
            )
            return cot / len(per_sample), per_sample

        grads, per_sample = self._vjp_after(theta, x, state, delta, seed, method)
        return per_sample, grads

    def accuracy(
        self,
        theta: np.ndarray,
        y: np.ndarray,
        x: np.ndarray | None = None,
        state: np.ndarray | None = None,
    ) -> float:
        """Fraction of samples whose predicted label equals ``y``."""
        return float(np.mean(self.predict(theta, x=x, state=state) == np.asarray(y)))
