"""What the adapters need from a program, through the public API.

A model's ``QadlClassifier`` (built as ``qadl run`` builds it, device noise included)
and the training options of its ``train`` block.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from qadl.api_model import QadlClassifier
from qadl.learn.train import TrainConfig
from qadl.program import Program

__all__ = ["as_program", "classifier_of", "feature_width", "train_config_of"]


def as_program(program: Program | str | Path) -> Program:
    """A ``Program``, loading (and checking) a ``.qadl`` path first.

    Raises:
        QadlError: the file is wrong (every diagnostic located).
    """
    if isinstance(program, Program):
        return program
    from qadl.api import load

    return load(program)


def classifier_of(
    program: Program | str | Path, model: str | None = None, params: Any = None
) -> QadlClassifier:
    """``program.classifier(model, params)`` of a ``Program`` or a ``.qadl`` path.

    Raises:
        QadlError: the file is wrong.
        KeyError: no model of that name.
    """
    return as_program(program).classifier(model, params=params)


def feature_width(classifier: QadlClassifier, what: str) -> int:
    """F of a model that reads feature rows; ``ValueError`` naming ``what`` otherwise."""
    if not isinstance(classifier, QadlClassifier):
        raise TypeError(
            f"{what} takes a qadl classifier (`program.classifier(name)`), "
            f"not {type(classifier).__name__}"
        )
    if classifier.model.input_kind != "features":
        raise ValueError(
            f"{what} needs a model that reads input features; `{classifier.name}` reads "
            f"{'input states' if classifier.model.input_kind == 'state' else 'no input'}"
        )
    return int(classifier.model.num_features)


def train_config_of(program: Program, model: str, **overrides: Any) -> TrainConfig:
    """The ``TrainConfig`` of the model's first ``train`` block (qadl's defaults without one).

    No checkpoints are written; ``overrides`` replace fields of the result.
    """
    from qadl.run.build import device_shots
    from qadl.run.configs import train_config

    options = next((dict(t.options) for t in program.trainings if t.model == model), {})
    config = train_config(
        options,
        checkpoint_dir=None,
        resume=False,
        device_shots=device_shots(program, model),
    )
    # a `checkpoint(path = …)` of the file is for `qadl run`, not for fits from Python
    return replace(config, checkpoint_dir=None, **overrides)
