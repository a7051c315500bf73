"""A model of a ``.qadl`` file as a scikit-learn classifier.

``QuantumClassifier("model.qadl", model="m")`` trains the model's θ with qadl's trainer on
the arrays given to ``fit`` and predicts like any scikit-learn classifier, so it works in
``cross_val_score``, ``GridSearchCV`` and pipelines. Training options come from the
model's ``train`` block (qadl's defaults without one); the estimator's parameters, when
set, replace them (``GridSearchCV`` searches over those).

Example::

    from sklearn.model_selection import cross_val_score
    from qadl.interop.sklearn import QuantumClassifier

    scores = cross_val_score(QuantumClassifier("model.qadl", model="m", epochs=5), X, y, cv=3)
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from qadl.api_model import QadlClassifier
from qadl.interop._seam import as_program, feature_width, train_config_of
from qadl.learn.losses import LOSSES
from qadl.learn.optimizers import make_optimizer

__all__ = ["QuantumClassifier"]

OPTIMIZERS = ("adam", "sgd", "spsa", "cobyla")
"""Names ``optimizer`` accepts (as in the language's ``optimizer`` option)."""


class QuantumClassifier(ClassifierMixin, BaseEstimator):
    """A qadl model trained and used through scikit-learn's estimator interface.

    Parameters left as None take the value of the model's ``train`` block (or qadl's
    default). ``X`` is used as given: the data set's preprocessing in the file (e.g.
    ``normalize``) is not applied to it. The labels may be any values; there must be
    exactly as many distinct labels as the model's readout has classes.

    Attributes (after ``fit``):
        classes_: the distinct labels, in the order of the model's classes.
        classifier_: the model's ``QadlClassifier`` at the trained θ.
        history_: the per-epoch metrics of the training (``qadl.learn.train.History``).
    """

    def __init__(
        self,
        model_file: str | Path,
        model: str | None = None,
        *,
        epochs: int | None = None,
        batch: int | None = None,
        lr: float | None = None,
        optimizer: str | None = None,
        loss: str | None = None,
        seed: int | None = None,
    ) -> None:
        """
        Args:
            model_file: the ``.qadl`` file.
            model: the model's name (default: the file's only/first model).
            epochs, batch, seed: as in a ``train`` block.
            lr: the optimizer's learning rate (``adam``/``sgd``; SPSA's gain ``a``).
            optimizer: ``adam``, ``sgd``, ``spsa`` or ``cobyla`` (with its default settings
                and ``lr``); None keeps the file's optimizer.
            loss: ``cross_entropy``, ``mse`` or ``hinge``.
        """
        self.model_file = model_file
        self.model = model
        self.epochs = epochs
        self.batch = batch
        self.lr = lr
        self.optimizer = optimizer
        self.loss = loss
        self.seed = seed

    # -- configuration ------------------------------------------------------------------------
    def _start(self) -> tuple[Any, QadlClassifier]:
        """The program and the model's classifier (θ not yet chosen)."""
        program = as_program(self.model_file)
        clf = program.classifier(self.model)
        feature_width(clf, "QuantumClassifier")
        return program, clf

    def _optimizer(self, file_optimizer: Any) -> Any:
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        chosen = file_optimizer if self.optimizer is None else make_optimizer(self.optimizer)
        if self.lr is None:
            return chosen
        if not (isinstance(self.lr, int | float) and np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, not {self.lr!r}")
        names = {f.name for f in fields(chosen)}
        key = "lr" if "lr" in names else "a" if "a" in names else None
        if key is None:
            raise ValueError(f"the {type(chosen).__name__} optimizer has no learning rate to set")
        return replace(chosen, **{key: float(self.lr)})

    def _config(self, program: Any, model: str):
        if self.loss is not None and self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, not {self.loss!r}")
        base = train_config_of(program, model)
        changes: dict[str, Any] = {"optimizer": self._optimizer(base.optimizer)}
        for name in ("epochs", "batch", "seed", "loss"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = value
        # TrainConfig validates the ranges (epochs >= 0, batch >= 1) and raises ValueError
        return replace(base, **changes)

    # -- scikit-learn interface ---------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> QuantumClassifier:
        """Train θ from the model's ``init`` (seeded) on ``(X, y)``."""
        from qadl.learn.data import Dataset
        from qadl.learn.train import fit

        X, y = check_X_y(X, y, dtype=np.float64)
        check_classification_targets(y)
        program, clf = self._start()
        self._check_width(X, clf.model.num_features)
        classes, encoded = np.unique(y, return_inverse=True)
        if classes.size != clf.num_classes:
            raise ValueError(
                f"y has {classes.size} distinct labels; model `{clf.name}` "
                f"reads out {clf.num_classes} classes"
            )
        config = self._config(program, clf.model.name)
        theta0 = clf.model.initial_params(config.seed)
        data = Dataset(x=X, y=encoded, num_classes=classes.size, name="fit")
        result = fit(clf.core, theta0, data, config, progress=False)
        self.classes_ = classes
        self.classifier_ = clf.with_params(result.theta)
        self.history_ = result.history
        self.n_features_in_ = X.shape[1]
        return self

    @staticmethod
    def _check_width(X: np.ndarray, width: int) -> None:
        if X.shape[1] != width:
            raise ValueError(f"X has {X.shape[1]} features per sample; the model reads {width}")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(N, len(classes_))``."""
        check_is_fitted(self, "classifier_")
        X = check_array(X, dtype=np.float64)
        self._check_width(X, self.n_features_in_)
        return np.asarray(self.classifier_.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label of each sample."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
