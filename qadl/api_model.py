"""``QadlClassifier``: one model of a program at fixed parameters, as a NumPy classifier.

What ``Program.classifier(name)`` returns. Inputs are the model's own: feature rows
``(B, F)`` for models with features, input states ``(B, 2**n)`` for quantum-data models.
Probabilities are exact (device noise included); ``shots=`` samples them as ``qadl run``
does for a device with ``shots``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from qadl.learn.classifier import Classifier
from qadl.learn.losses import LOSSES, loss_and_grad
from qadl.learn.readout import class_probs, class_probs_vjp
from qadl.learn.shots import sample_readout
from qadl.program import Model

if TYPE_CHECKING:
    from qadl.learn.data import Dataset
    from qadl.program import Program

__all__ = ["QadlClassifier", "classifier", "data_splits", "resolve_model"]


@dataclass(frozen=True, eq=False)
class QadlClassifier:
    """A compiled model with parameters: probabilities, losses, gradients and Jacobians.

    Every method takes a batch of the model's inputs (``inputs``): features ``(B, F)``
    or, for a model whose input is a state (``psi: state``), complex states ``(B, 2**n)``.
    """

    name: str
    """The name it has in the program (a ``model`` or a ``defend ... as`` result)."""
    model: Model
    """The compiled ``model`` (circuit, sizes, readout scale)."""
    core: Classifier
    """The engine ``qadl run`` uses (simulator + readout)."""
    params: np.ndarray
    """θ, shape ``(num_params,)``."""
    shots: int | None = None
    """The ``shots`` of the model's device (None: exact probabilities)."""

    # -- sizes --------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """C."""
        return self.model.num_classes

    @property
    def num_params(self) -> int:
        """Length of θ."""
        return self.model.num_params

    @property
    def input_shape(self) -> tuple[int]:
        """Shape of one input: ``(F,)`` features or ``(2**n,)`` amplitudes."""
        if self.model.input_kind == "state":
            return (1 << self.model.num_qubits,)
        return (self.model.num_features,)

    def with_params(self, params: Any) -> QadlClassifier:
        """The same model with other parameters (a ``(num_params,)`` array)."""
        return replace(self, params=_theta(params, self.model))

    # -- predictions --------------------------------------------------------------------------
    def predict_proba(
        self, inputs: Any, *, shots: int | None = None, seed: int = 0
    ) -> np.ndarray:
        """Class probabilities ``(B, C)``; with ``shots``, estimated from that many
        measurements per sample (seeded by ``seed``)."""
        feed = self._feed(inputs)
        if shots is None:
            return self.core.predict_proba(self.params, **feed)
        if int(shots) < 1:
            raise ValueError(f"shots must be a positive integer, got {shots}")
        outputs = self.core.sim.outputs(self.params, **feed)
        rng = np.random.default_rng(seed)
        return sample_readout(self.core.readout, outputs, int(shots), rng, scale=self.core.scale)

    def predict(self, inputs: Any, *, shots: int | None = None, seed: int = 0) -> np.ndarray:
        """Predicted labels ``(B,)``: the most probable class (ties: the lowest)."""
        return np.argmax(self.predict_proba(inputs, shots=shots, seed=seed), axis=1)

    def score(self, inputs: Any, y: Any) -> float:
        """Accuracy on ``(inputs, y)`` (exact probabilities)."""
        return float(np.mean(self.predict(inputs) == _labels(y, len(self._batch(inputs)))))

    # -- losses and gradients -----------------------------------------------------------------
    def losses(self, inputs: Any, y: Any, *, loss: str = "cross_entropy") -> np.ndarray:
        """Per-sample losses ``(B,)`` (``cross_entropy``, ``mse`` or ``hinge``)."""
        probs = self.predict_proba(inputs)
        per_sample, _ = loss_and_grad(_loss(loss), probs, _labels(y, len(probs)))
        return per_sample

    def input_gradients(self, inputs: Any, y: Any, *, loss: str = "cross_entropy") -> np.ndarray:
        """d loss_b / d input_b for every sample: ``(B, F)`` real, or ``(B, 2**n)`` complex
        for states (``∂/∂Re ψ + i ∂/∂Im ψ``)."""
        losses, grads = self._loss_grads(inputs, y, loss)
        per_mean = grads.state if self.model.input_kind == "state" else grads.x
        if per_mean is None:
            raise ValueError(f"model `{self.name}` reads no input features")
        return np.asarray(per_mean) * len(losses)  # d(mean)/d(x_b) = (1/B) d(loss_b)/d(x_b)

    def param_gradient(
        self, inputs: Any, y: Any, *, loss: str = "cross_entropy", per_sample: bool = False
    ) -> np.ndarray:
        """d (mean loss over the batch) / d θ, shape ``(num_params,)``; with
        ``per_sample``, d loss_b / d θ for every sample, ``(B, num_params)`` (one adjoint
        pass per sample)."""
        if not per_sample:
            return np.asarray(self._loss_grads(inputs, y, loss)[1].theta)
        batch = self._batch(inputs)
        labels = _labels(y, len(batch))
        rows = [
            self._loss_grads(batch[b : b + 1], labels[b : b + 1], loss)[1].theta
            for b in range(len(batch))
        ]
        return np.stack([np.asarray(r) for r in rows])

    def jacobian(self, inputs: Any) -> np.ndarray:
        """Class-probability Jacobians d p_c / d input: ``(B, C, F)`` (complex
        ``(B, C, 2**n)`` for states, same convention as ``input_gradients``)."""
        feed = self._feed(inputs)
        outputs = self.core.sim.outputs(self.params, **feed)
        batch = outputs.shape[0]
        rows = []
        for c in range(self.num_classes):
            dprobs = np.zeros((batch, self.num_classes))
            dprobs[:, c] = 1.0  # samples are independent: one vjp gives every row
            cot = class_probs_vjp(self.core.readout, outputs, dprobs, scale=self.core.scale)
            grads = self.core.sim.vjp(self.params, cotangent=cot, **feed)
            per = grads.state if self.model.input_kind == "state" else grads.x
            if per is None:
                raise ValueError(f"model `{self.name}` reads no input features")
            rows.append(np.asarray(per))
        return np.stack(rows, axis=1)

    def probs_from_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """Class probabilities of raw readout values (for custom pipelines)."""
        return class_probs(self.core.readout, outputs, scale=self.core.scale)

    # -- internals ----------------------------------------------------------------------------
    def _loss_grads(self, inputs: Any, y: Any, loss: str) -> tuple[np.ndarray, Any]:
        feed = self._feed(inputs)
        labels = _labels(y, len(next(iter(feed.values()))))
        return self.core.loss_and_grads(self.params, labels, loss=_loss(loss), **feed)

    def _batch(self, inputs: Any) -> np.ndarray:
        state = self.model.input_kind == "state"
        array = np.asarray(inputs, dtype=complex if state else float)
        if array.ndim != 2 or array.shape[1:] != self.input_shape or array.shape[0] == 0:
            what = "states" if state else "feature rows"
            raise ValueError(
                f"model `{self.name}` takes a non-empty batch of {what} of shape "
                f"(B, {self.input_shape[0]}), got an array of shape {array.shape}"
            )
        return array

    def _feed(self, inputs: Any) -> dict[str, np.ndarray]:
        key = "state" if self.model.input_kind == "state" else "x"
        return {key: self._batch(inputs)}


def _loss(name: str) -> str:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; one of {', '.join(LOSSES)}")
    return name


def _labels(y: Any, batch: int) -> np.ndarray:
    labels = np.asarray(y)
    if labels.shape != (batch,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {batch} integers (shape ({batch},)), got {labels.shape}")
    return labels.astype(np.int64)


def _theta(params: Any, model: Model) -> np.ndarray:
    theta = np.asarray(params, dtype=float)
    if theta.shape != (model.num_params,):
        raise ValueError(
            f"model `{model.name}` has {model.num_params} parameters; got an array of shape "
            f"{theta.shape}"
        )
    if not np.all(np.isfinite(theta)):
        raise ValueError(f"the parameters of model `{model.name}` contain NaN or inf")
    return theta.copy()


def resolve_model(program: Program, name: str | None) -> tuple[str, Model]:
    """``(name, model)``: a ``model``, or the model a ``defend ... as NAME`` result copies."""
    defended = {d.result: d.model for d in program.defences}
    if name is None:
        model = program.model()
        return model.name, model
    base = defended.get(name, name)
    if base not in program.models:
        known = sorted({*program.models, *defended})
        raise KeyError(f"no model `{name}` in {program.path}; known: {', '.join(known)}")
    return name, program.models[base]


def _initial(program: Program, model: Model) -> np.ndarray:
    """The θ ``qadl run`` starts training from (the train block's seed, default 7)."""
    train = next((t for t in program.trainings if t.model == model.name), None)
    seed = 7 if train is None else int(train.options.get("seed", 7))
    return model.initial_params(seed)


def classifier(program: Program, name: str | None = None, params: Any = None) -> QadlClassifier:
    """See ``Program.classifier``."""
    from qadl.run.build import classifier_of, device_shots
    from qadl.runs import Run

    label, model = resolve_model(program, name)
    if isinstance(params, Run):
        params = params.params_of(label)
    theta = _initial(program, model) if params is None else _theta(params, model)
    return QadlClassifier(
        name=label,
        model=model,
        core=classifier_of(program, model.name),
        params=theta,
        shots=device_shots(program, model.name),
    )


def data_splits(program: Program, name: str | None = None) -> tuple[Dataset, Dataset]:
    """See ``Program.data``."""
    from qadl.run.configs import load_data

    if name is None:
        if not program.datasets:
            raise KeyError(f"{program.path} declares no data")
        name = next(iter(program.datasets))
    if name not in program.datasets:
        raise KeyError(
            f"no data `{name}` in {program.path}; known: {', '.join(sorted(program.datasets))}"
        )
    return load_data(program.datasets[name])
