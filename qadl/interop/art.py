"""A qadl classifier as an estimator of IBM's Adversarial Robustness Toolbox (ART).

``QadlARTClassifier`` is an ART ``ClassifierNeuralNetwork`` (so also a
``ClassGradientsMixin`` and ``LossGradientsMixin``): ART's evasion attacks (FGSM, PGD,
Carlini–Wagner, DeepFool, the gradient-free Square and HopSkipJump …) and its
robustness metrics run against it. Probabilities come from qadl's simulator, input
gradients from its adjoint vector-Jacobian products. Needs ``pip install qadl[art]``.

Example::

    from qadl.interop.art import art_classifier
    from art.attacks.evasion import FastGradientMethod

    est = art_classifier("model.qadl", "m", theta=theta, clip_values=(0.0, 1.0))
    x_adv = FastGradientMethod(est, eps=0.1).generate(x, y=y)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from art.estimators.classification.classifier import ClassifierNeuralNetwork
from art.utils import check_and_transform_label_format

from qadl.interop._seam import model_handle, train_config_of
from qadl.learn.classifier import Classifier
from qadl.learn.losses import LOSSES, loss_and_grad
from qadl.learn.optimizers import Adam, Optimizer
from qadl.learn.readout import class_probs, class_probs_vjp
from qadl.program import Program

__all__ = ["LAYERS", "QadlARTClassifier", "art_classifier"]

LAYERS = ("readout", "probabilities")
"""``get_activations`` layers: the readout values (expectation values or outcome
probabilities before the class map) and the class probabilities."""

_PREDICT_KWARGS = frozenset({"training_mode"})
"""Keyword arguments ART's attacks pass that change nothing here (no dropout or batch norm)."""


def _no_extra(kwargs: dict[str, Any], method: str) -> None:
    extra = sorted(set(kwargs) - _PREDICT_KWARGS)
    if extra:
        raise TypeError(f"QadlARTClassifier.{method}() got unexpected keyword arguments {extra}")


class QadlARTClassifier(ClassifierNeuralNetwork):
    """A qadl ``Classifier`` at parameters ``theta`` seen by ART.

    Inputs are feature rows ``(N, F)``; ``predict`` returns class probabilities.
    ``fit`` trains θ in place with qadl's mini-batch trainer.
    """

    estimator_params: ClassVar[list[str]] = [
        *ClassifierNeuralNetwork.estimator_params,
        "loss",
        "optimizer",
    ]

    def __init__(
        self,
        classifier: Classifier,
        theta: np.ndarray,
        *,
        clip_values: tuple[float, float] | None = None,
        loss: str = "cross_entropy",
        optimizer: Optimizer | None = None,
        batch_size: int = 256,
        input_shape: tuple[int, ...] | None = None,
        channels_first: bool = False,
        preprocessing_defences: Any = None,
        postprocessing_defences: Any = None,
        preprocessing: Any = None,
    ) -> None:
        """
        Args:
            classifier: the model's classifier (``art_classifier`` builds it from a program).
            theta: its parameters ``(P,)``.
            clip_values: ``(min, max)`` of a feature; ART's attacks clip to it.
            loss: the loss of ``loss_gradient``/``compute_loss``/``fit`` (a qadl loss name).
            optimizer: the optimizer of ``fit`` (default: Adam, lr 0.05).
            batch_size: samples per simulator call in ``loss_gradient``/``class_gradient``.
            input_shape: the shape of one sample as ART sees it (default ``(F,)``); image
                attacks such as ``SquareAttack`` want ``(H, W, 1)``. Its size must be F:
                samples are flattened row-major into the model's features.
            channels_first: with an image ``input_shape``, whether the channel axis is first.
            preprocessing_defences, postprocessing_defences, preprocessing: as in ART.
        """
        num_features = int(getattr(classifier.sim, "num_features", 0))
        if num_features == 0:
            raise ValueError(
                "ART attacks perturb input features; this model reads no features "
                "(attack quantum-data models with `local_rotations` in qadl)"
            )
        theta = np.array(theta, dtype=float).reshape(-1)
        if theta.size != classifier.num_params:
            raise ValueError(
                f"theta has {theta.size} values; the model has {classifier.num_params}"
            )
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        shape = (num_features,) if input_shape is None else tuple(int(d) for d in input_shape)
        if int(np.prod(shape)) != num_features:
            raise ValueError(
                f"input_shape {shape} holds {int(np.prod(shape))} values, not {num_features}"
            )
        super().__init__(
            model=classifier,
            clip_values=clip_values,
            channels_first=channels_first,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
            preprocessing=preprocessing,
        )
        self._classifier = classifier
        self._theta = theta
        self._input_shape = shape
        self.nb_classes = classifier.num_classes
        self.loss = loss
        self.optimizer = optimizer if optimizer is not None else Adam(lr=0.05)
        self._batch_size = int(batch_size)
        self._layer_names = list(LAYERS)

    # -- what ART asks of every estimator ----------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample (``(F,)`` unless given)."""
        return self._input_shape

    @property
    def theta(self) -> np.ndarray:
        """The current parameters (a copy)."""
        return self._theta.copy()

    def _rows(self, x: np.ndarray) -> np.ndarray:
        """Samples as feature rows ``(N, F)``."""
        x = np.asarray(x, dtype=float)
        if x.shape[1:] != self._input_shape:
            want = ", ".join(str(d) for d in ("N", *self._input_shape))
            raise ValueError(f"expected inputs of shape ({want}), got {tuple(x.shape)}")
        return x.reshape(x.shape[0], -1)

    def _chunks(self, n: int, batch_size: int):
        step = max(1, int(batch_size))
        return (slice(i, min(i + step, n)) for i in range(0, n, step))

    def predict(self, x: np.ndarray, batch_size: int = 128, **kwargs: Any) -> np.ndarray:
        """Class probabilities ``(N, C)``."""
        _no_extra(kwargs, "predict")
        xp, _ = self._apply_preprocessing(x, y=None, fit=False)
        xp = self._rows(xp)
        probs = np.empty((xp.shape[0], self.nb_classes))
        for part in self._chunks(xp.shape[0], batch_size):
            probs[part] = self._classifier.predict_proba(self._theta, x=xp[part])
        return self._apply_postprocessing(preds=probs, fit=False)

    def _labels(self, y: np.ndarray, n: int) -> np.ndarray:
        labels = check_and_transform_label_format(
            y, nb_classes=self.nb_classes, return_one_hot=False
        )
        labels = np.asarray(labels).reshape(-1).astype(int)
        if labels.size != n:
            raise ValueError(f"{labels.size} labels for {n} samples")
        return labels

    def loss_gradient(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> np.ndarray:
        """d(loss of each sample)/d(its input) ``(N, F)``; ``y`` are labels or one-hot rows."""
        _no_extra(kwargs, "loss_gradient")
        xp, _ = self._apply_preprocessing(x, y=None, fit=False)
        xp = self._rows(xp)
        labels = self._labels(y, xp.shape[0])
        grads = np.empty_like(xp)
        for part in self._chunks(xp.shape[0], self._batch_size):
            _, g = self._classifier.loss_and_grads(
                self._theta, labels[part], x=xp[part], loss=self.loss
            )
            # qadl returns the gradient of the batch mean: scale back to each sample's own loss
            grads[part] = np.asarray(g.x) * (part.stop - part.start)
        grads = self._apply_preprocessing_gradient(x, grads.reshape(np.shape(x)))
        return np.asarray(grads).astype(np.asarray(x).dtype, copy=False)

    def class_gradient(
        self, x: np.ndarray, label: int | list[int] | np.ndarray | None = None, **kwargs: Any
    ) -> np.ndarray:
        """d p_c / d x: ``(N, C, *input_shape)`` for every class, ``(N, 1, …)`` for one per sample.

        ``label`` is None (all classes), one class index, or one index per sample.
        """
        _no_extra(kwargs, "class_gradient")
        xp, _ = self._apply_preprocessing(x, y=None, fit=False)
        xp = self._rows(xp)
        n, c = xp.shape[0], self.nb_classes
        classes = self._class_choice(label, n)
        out = np.empty((n, classes.shape[1], xp.shape[1]))
        for part in self._chunks(n, self._batch_size):
            out[part] = self._jacobian_rows(xp[part], classes[part], c)
        out = np.stack(
            [
                self._apply_preprocessing_gradient(x, out[:, k].reshape(np.shape(x)))
                for k in range(out.shape[1])
            ],
            axis=1,
        )
        return out.astype(np.asarray(x).dtype, copy=False)

    def _class_choice(self, label: Any, n: int) -> np.ndarray:
        """``(N, K)`` class indices whose gradients are wanted, per sample."""
        c = self.nb_classes
        if label is None:
            return np.tile(np.arange(c), (n, 1))
        chosen = np.asarray(label)
        if chosen.ndim == 0:
            chosen = np.full(n, int(chosen))
        chosen = chosen.reshape(-1)
        if chosen.size != n or not np.issubdtype(chosen.dtype, np.integer):
            raise ValueError("label must be None, a class index, or one class index per sample")
        if chosen.min(initial=0) < 0 or chosen.max(initial=0) >= c:
            raise ValueError(f"class labels must lie in 0..{c - 1}")
        return chosen[:, None]

    def _jacobian_rows(self, x: np.ndarray, classes: np.ndarray, c: int) -> np.ndarray:
        """One vjp per requested column: the cotangent e_c on each sample's probabilities."""
        clf = self._classifier
        outputs = clf.sim.outputs(self._theta, x=x)
        rows = np.arange(x.shape[0])
        result = np.empty((x.shape[0], classes.shape[1], x.shape[1]))
        for k in range(classes.shape[1]):
            dprobs = np.zeros((x.shape[0], c))
            dprobs[rows, classes[:, k]] = 1.0
            cot = class_probs_vjp(clf.readout, outputs, dprobs, scale=clf.scale)
            result[:, k] = clf.sim.vjp(self._theta, x=x, cotangent=cot, method="adjoint").x
        return result

    def compute_loss(
        self, x: np.ndarray, y: np.ndarray, reduction: str = "none", **kwargs: Any
    ) -> np.ndarray:
        """Per-sample losses (``reduction``: ``none``, ``mean`` or ``sum``)."""
        _no_extra(kwargs, "compute_loss")
        if reduction not in ("none", "mean", "sum"):
            raise ValueError("reduction must be 'none', 'mean' or 'sum'")
        xp, _ = self._apply_preprocessing(x, y=None, fit=False)
        xp = self._rows(xp)
        probs = (
            np.concatenate(
                [
                    self._classifier.predict_proba(self._theta, x=xp[part])
                    for part in self._chunks(xp.shape[0], self._batch_size)
                ]
            )
            if xp.shape[0]
            else np.empty((0, self.nb_classes))
        )
        losses, _ = loss_and_grad(self.loss, probs, self._labels(y, xp.shape[0]))
        if reduction == "mean":
            return np.asarray(np.mean(losses))
        if reduction == "sum":
            return np.asarray(np.sum(losses))
        return np.asarray(losses)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int = 128,
        nb_epochs: int = 20,
        **kwargs: Any,
    ) -> None:
        """Train θ in place (qadl's trainer, this estimator's loss and optimizer; seed ``seed``)."""
        from qadl.learn.data import Dataset
        from qadl.learn.train import TrainConfig
        from qadl.learn.train import fit as qadl_fit

        seed = int(kwargs.pop("seed", 7))
        _no_extra(kwargs, "fit")
        xp, yp = self._apply_preprocessing(x, y, fit=True)
        xp = self._rows(xp)
        data = Dataset(x=xp, y=self._labels(yp, xp.shape[0]), num_classes=self.nb_classes)
        config = TrainConfig(
            loss=self.loss,
            optimizer=self.optimizer,
            epochs=int(nb_epochs),
            batch=int(batch_size),
            seed=seed,
        )
        result = qadl_fit(self._classifier, self._theta, data, config, progress=False)
        self._theta = np.asarray(result.theta, dtype=float).copy()

    def get_activations(
        self, x: np.ndarray, layer: int | str, batch_size: int = 128, framework: bool = False
    ) -> np.ndarray:
        """``readout`` (layer 0): the readout values; ``probabilities`` (layer 1)."""
        if framework:
            raise ValueError("qadl has no framework tensors: call with framework=False")
        name = LAYERS[layer] if isinstance(layer, int) and 0 <= layer < len(LAYERS) else layer
        if name not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {list(LAYERS)} or 0..1")
        xp, _ = self._apply_preprocessing(x, y=None, fit=False)
        xp = self._rows(xp)
        parts = [
            self._classifier.sim.outputs(self._theta, x=xp[part])
            for part in self._chunks(xp.shape[0], batch_size)
        ]
        outputs = np.concatenate(parts) if parts else np.empty((0, 0))
        if name == "readout":
            return outputs
        clf = self._classifier
        return class_probs(clf.readout, outputs, scale=clf.scale)

    def save(self, filename: str, path: str | None = None) -> None:
        """Write θ to ``path/filename`` (``.npz``, a ``theta`` array, as ``qadl run`` writes)."""
        from qadl.run.outputs import write_params

        target = Path(path or ".") / filename
        write_params(target if target.suffix == ".npz" else target.with_suffix(".npz"), self._theta)

    def clone_for_refitting(self) -> QadlARTClassifier:
        """A fresh estimator with the same model, options and θ."""
        return QadlARTClassifier(
            self._classifier,
            self._theta,
            clip_values=self.clip_values,
            loss=self.loss,
            optimizer=self.optimizer,
            batch_size=self._batch_size,
            input_shape=self._input_shape,
            channels_first=self.channels_first,
            preprocessing_defences=self.preprocessing_defences,
            postprocessing_defences=self.postprocessing_defences,
            preprocessing=self.preprocessing,
        )


def art_classifier(
    program: Program | str | Path,
    model: str | None = None,
    *,
    theta: np.ndarray | str | Path | None = None,
    seed: int = 0,
    **options: Any,
) -> QadlARTClassifier:
    """The ART estimator of a program's model, built as ``qadl run`` builds it (noise included).

    Args:
        program: a ``Program`` or the path of a ``.qadl`` file.
        model: the model's name (default: the program's only/first model).
        theta: parameters ``(P,)``, or the path of a ``MODEL.params.npz`` written by
            ``qadl run``; None draws them from the model's ``init`` with ``seed``.
        seed: seed of that draw.
        options: keyword options of ``QadlARTClassifier`` (``clip_values``, ``loss`` …);
            ``loss`` and ``optimizer`` default to those of the model's ``train`` block.
    """
    handle = model_handle(program, model)
    if theta is None:
        theta = handle.initial_theta(seed)
    elif isinstance(theta, str | Path):
        with np.load(theta) as params:
            theta = np.asarray(params["theta"], dtype=float)
    if "loss" not in options or "optimizer" not in options:
        config = train_config_of(handle)
        options.setdefault("loss", config.loss)
        options.setdefault("optimizer", config.optimizer)
    return QadlARTClassifier(handle.classifier, np.asarray(theta), **options)
