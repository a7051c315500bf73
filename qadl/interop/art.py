"""A qadl classifier as an estimator of IBM's Adversarial Robustness Toolbox (ART).

``QadlARTClassifier`` is an ART ``ClassifierNeuralNetwork`` (so also a
``ClassGradientsMixin`` and ``LossGradientsMixin``): ART's evasion attacks (FGSM, PGD,
Carlini–Wagner, DeepFool, the gradient-free Square and HopSkipJump …) and its
robustness metrics run against it. Probabilities come from qadl's simulator (exact,
device noise included), input gradients from its adjoint vector-Jacobian products.
Needs ``pip install qadl[art]``.

Example::

    import qadl
    from qadl.interop.art import QadlARTClassifier
    from art.attacks.evasion import FastGradientMethod

    program = qadl.load("model.qadl")
    clf = program.classifier("m", params=qadl.runs.load("runs/m"))
    est = QadlARTClassifier(clf, clip_values=(0.0, 1.0))
    x_adv = FastGradientMethod(est, eps=0.1).generate(x, y=y)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from art.estimators.classification.classifier import ClassifierNeuralNetwork
from art.utils import check_and_transform_label_format

from qadl.api_model import QadlClassifier
from qadl.interop._seam import as_program, feature_width, train_config_of
from qadl.learn.losses import LOSSES
from qadl.learn.optimizers import Adam, Optimizer
from qadl.program import Program

__all__ = ["LAYERS", "QadlARTClassifier", "art_classifier"]

LAYERS = ("readout", "probabilities")
"""``get_activations`` layers: the readout values (expectation values or outcome
probabilities before the class map) and the class probabilities."""

_PASSIVE_KWARGS = frozenset({"training_mode", "logits"})
"""Keyword arguments ART's attacks pass that change nothing here: ``training_mode`` (there
is no dropout or batch norm) and Carlini–Wagner's ``logits=True`` (like ART's own
framework estimators, ``predict`` returns the model's output, here class probabilities,
which is what ``class_gradient`` differentiates)."""


def _no_extra(kwargs: dict[str, Any], method: str) -> None:
    extra = sorted(set(kwargs) - _PASSIVE_KWARGS)
    if extra:
        raise TypeError(f"QadlARTClassifier.{method}() got unexpected keyword arguments {extra}")


def _float_dtype(x: np.ndarray) -> np.dtype:
    """Gradients come back in the inputs' float dtype (float64 for integer inputs)."""
    dtype = np.asarray(x).dtype
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def _chunks(n: int, size: int) -> Iterator[slice]:
    step = max(1, int(size))
    return (slice(i, min(i + step, n)) for i in range(0, n, step))


class QadlARTClassifier(ClassifierNeuralNetwork):
    """A qadl classifier (``program.classifier(name, params)``) seen by ART.

    Samples are feature rows ``(N, F)`` (or ``(N, *input_shape)``); ``predict`` returns
    class probabilities. ``fit`` trains θ in place with qadl's mini-batch trainer.
    """

    estimator_params: ClassVar[list[str]] = [
        *ClassifierNeuralNetwork.estimator_params,
        "loss",
        "optimizer",
    ]

    def __init__(
        self,
        classifier: QadlClassifier,
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
            classifier: ``program.classifier(name, params)``; its θ is the estimator's θ.
            clip_values: ``(min, max)`` of a feature; ART's attacks clip to it.
            loss: the loss of ``loss_gradient``/``compute_loss``/``fit`` (a qadl loss name).
            optimizer: the optimizer of ``fit`` (default: Adam, lr 0.05).
            batch_size: samples per simulator call in ``loss_gradient``, ``class_gradient``
                and ``compute_loss``.
            input_shape: the shape of one sample as ART sees it (default ``(F,)``); image
                attacks such as ``SquareAttack`` want ``(H, W, 1)``. Its size must be F:
                samples are flattened row-major into the model's features.
            channels_first: with an image ``input_shape``, whether the channel axis is first.
            preprocessing_defences, postprocessing_defences: as in ART.
            preprocessing: as in ART, but None by default: ART's ``(0, 1)`` standardisation
                would round every input to float32.
        """
        width = feature_width(classifier, "QadlARTClassifier")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(LOSSES)}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        shape = (width,) if input_shape is None else tuple(int(d) for d in input_shape)
        if int(np.prod(shape)) != width:
            raise ValueError(f"input_shape {shape} holds {int(np.prod(shape))} values, not {width}")
        super().__init__(
            model=classifier,
            clip_values=clip_values,
            channels_first=channels_first,
            preprocessing_defences=preprocessing_defences,
            postprocessing_defences=postprocessing_defences,
            preprocessing=preprocessing,
        )
        self._clf = classifier
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
    def classifier(self) -> QadlClassifier:
        """The qadl classifier at the estimator's current θ (changed by ``fit``)."""
        return self._clf

    def _rows(self, x: np.ndarray) -> np.ndarray:
        """Samples as feature rows ``(N, F)``."""
        x = np.asarray(x, dtype=float)
        if x.shape[1:] != self._input_shape:
            want = ", ".join(str(d) for d in ("N", *self._input_shape))
            raise ValueError(f"expected inputs of shape ({want}), got {tuple(x.shape)}")
        return x.reshape(x.shape[0], -1)

    def _prepared(self, x: np.ndarray) -> np.ndarray:
        """ART's preprocessing (defences, standardisation), then feature rows."""
        xp, _ = self._apply_preprocessing(x, y=None, fit=False)
        return self._rows(xp)

    def _labels(self, y: np.ndarray, n: int) -> np.ndarray:
        labels = check_and_transform_label_format(
            np.asarray(y), nb_classes=self.nb_classes, return_one_hot=False
        )
        labels = np.asarray(labels).reshape(-1).astype(np.int64)
        if labels.size != n:
            raise ValueError(f"{labels.size} labels for {n} samples")
        return labels

    def _batched(self, fn: Any, rows: np.ndarray, *rest: np.ndarray, size: int) -> np.ndarray:
        """``fn`` over chunks of the rows (and matching chunks of ``rest``), concatenated."""
        return np.concatenate(
            [fn(rows[part], *(r[part] for r in rest)) for part in _chunks(rows.shape[0], size)]
        )

    def predict(self, x: np.ndarray, batch_size: int = 128, **kwargs: Any) -> np.ndarray:
        """Class probabilities ``(N, C)``."""
        _no_extra(kwargs, "predict")
        rows = self._prepared(x)
        if rows.shape[0] == 0:
            return np.empty((0, self.nb_classes))
        probs = self._batched(self._clf.predict_proba, rows, size=batch_size)
        return self._apply_postprocessing(preds=probs, fit=False)

    def loss_gradient(self, x: np.ndarray, y: np.ndarray, **kwargs: Any) -> np.ndarray:
        """d(loss of each sample)/d(its input), shaped like ``x``; ``y``: labels or one-hot."""
        _no_extra(kwargs, "loss_gradient")
        rows = self._prepared(x)
        labels = self._labels(y, rows.shape[0])
        grads = np.zeros_like(rows)
        if rows.shape[0]:
            grads = self._batched(
                lambda r, lab: self._clf.input_gradients(r, lab, loss=self.loss),
                rows,
                labels,
                size=self._batch_size,
            )
        grads = self._apply_preprocessing_gradient(x, grads.reshape(np.shape(x)))
        return np.asarray(grads).astype(_float_dtype(x), copy=False)

    def class_gradient(
        self, x: np.ndarray, label: int | list[int] | np.ndarray | None = None, **kwargs: Any
    ) -> np.ndarray:
        """d p_c / d x: ``(N, C, *input_shape)`` for every class, ``(N, 1, …)`` for one.

        ``label`` is None (all classes), one class index, or one index per sample.
        """
        _no_extra(kwargs, "class_gradient")
        rows = self._prepared(x)
        n = rows.shape[0]
        classes = self._class_choice(label, n)
        jac = np.zeros((n, self.nb_classes, rows.shape[1]))
        if n:
            jac = self._batched(self._clf.jacobian, rows, size=self._batch_size)
        picked = np.take_along_axis(jac, classes[:, :, None], axis=1)
        out = np.stack(
            [
                self._apply_preprocessing_gradient(x, picked[:, k].reshape(np.shape(x)))
                for k in range(picked.shape[1])
            ],
            axis=1,
        )
        return out.astype(_float_dtype(x), copy=False)

    def _class_choice(self, label: Any, n: int) -> np.ndarray:
        """``(N, K)`` class indices whose gradients are wanted, per sample."""
        c = self.nb_classes
        if label is None:
            return np.tile(np.arange(c), (n, 1))
        chosen = np.asarray(label)
        if chosen.ndim == 0:
            chosen = np.full(n, chosen)
        chosen = chosen.reshape(-1)
        if chosen.size != n or not np.issubdtype(chosen.dtype, np.integer):
            raise ValueError("label must be None, a class index, or one class index per sample")
        if chosen.size and (chosen.min() < 0 or chosen.max() >= c):
            raise ValueError(f"class labels must lie in 0..{c - 1}")
        return chosen.astype(np.int64)[:, None]

    def compute_loss(
        self, x: np.ndarray, y: np.ndarray, reduction: str = "none", **kwargs: Any
    ) -> np.ndarray:
        """Per-sample losses (``reduction``: ``none``, ``mean`` or ``sum``)."""
        _no_extra(kwargs, "compute_loss")
        if reduction not in ("none", "mean", "sum"):
            raise ValueError("reduction must be 'none', 'mean' or 'sum'")
        rows = self._prepared(x)
        labels = self._labels(y, rows.shape[0])
        losses = np.zeros(0)
        if rows.shape[0]:
            losses = self._batched(
                lambda r, lab: self._clf.losses(r, lab, loss=self.loss),
                rows,
                labels,
                size=self._batch_size,
            )
        if reduction == "mean":
            return np.asarray(np.mean(losses))
        if reduction == "sum":
            return np.asarray(np.sum(losses))
        return losses

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int = 128,
        nb_epochs: int = 20,
        seed: int = 7,
        **kwargs: Any,
    ) -> None:
        """Train θ in place: qadl's trainer with this estimator's loss and optimizer."""
        from qadl.learn.data import Dataset
        from qadl.learn.train import TrainConfig
        from qadl.learn.train import fit as qadl_fit

        _no_extra(kwargs, "fit")
        xp, yp = self._apply_preprocessing(x, y, fit=True)
        rows = self._rows(xp)
        data = Dataset(x=rows, y=self._labels(yp, rows.shape[0]), num_classes=self.nb_classes)
        config = TrainConfig(
            loss=self.loss,
            optimizer=self.optimizer,
            epochs=int(nb_epochs),
            batch=int(batch_size),
            seed=int(seed),
        )
        result = qadl_fit(self._clf.core, self._clf.params, data, config, progress=False)
        self._clf = self._clf.with_params(result.theta)

    def get_activations(
        self, x: np.ndarray, layer: int | str, batch_size: int = 128, framework: bool = False
    ) -> np.ndarray:
        """``readout`` (layer 0): the readout values; ``probabilities`` (layer 1)."""
        if framework:
            raise ValueError("qadl has no framework tensors: call with framework=False")
        name = LAYERS[layer] if isinstance(layer, int) and 0 <= layer < len(LAYERS) else layer
        if name not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}; expected one of {list(LAYERS)} or 0..1")
        rows = self._prepared(x)
        clf = self._clf
        outputs = self._batched(
            lambda r: clf.core.sim.outputs(clf.params, x=r), rows, size=batch_size
        )
        return outputs if name == "readout" else clf.probs_from_outputs(outputs)

    def save(self, filename: str, path: str | None = None) -> None:
        """Write θ to ``path/filename`` as ``qadl run`` writes it (``.npz``, array ``theta``)."""
        from qadl.run.outputs import write_params

        name = filename if filename.endswith(".npz") else f"{filename}.npz"
        write_params(Path(path or ".") / name, self._clf.params)

    def clone_for_refitting(self) -> QadlARTClassifier:
        """A fresh estimator with the same model, options and θ."""
        return QadlARTClassifier(
            self._clf,
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
    params: Any = None,
    **options: Any,
) -> QadlARTClassifier:
    """The ART estimator of a program's model, built as ``qadl run`` builds it (noise included).

    Args:
        program: a ``Program`` or the path of a ``.qadl`` file.
        model: a model (or ``defend … as``) name; default the program's only/first model.
        params: θ as an array, a ``qadl.runs.Run`` (its trained θ), or None (the θ
            ``qadl run`` starts training from).
        options: keyword options of ``QadlARTClassifier`` (``clip_values``, ``loss`` …);
            ``loss`` and ``optimizer`` default to those of the model's ``train`` block.
    """
    prog = as_program(program)
    clf = prog.classifier(model, params=params)
    if "loss" not in options or "optimizer" not in options:
        config = train_config_of(prog, clf.model.name)
        options.setdefault("loss", config.loss)
        options.setdefault("optimizer", config.optimizer)
    return QadlARTClassifier(clf, **options)
