"""What the adapters need from a program: a model's classifier, its initial θ, its training options.

One small seam over the run layer, so the adapters build a classifier exactly as
``qadl run`` does (a noisy ``device`` included) without repeating how.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qadl.learn.classifier import Classifier
from qadl.learn.train import TrainConfig
from qadl.program import Model, Program

__all__ = ["ModelHandle", "as_program", "model_handle", "train_config_of"]


def as_program(program: Program | str | Path) -> Program:
    """A ``Program``, loading (and checking) a ``.qadl`` path first.

    Raises:
        QadlError: the file is wrong (every diagnostic located).
    """
    if isinstance(program, Program):
        return program
    from qadl.api import load

    return load(program)


class ModelHandle:
    """A model of a program with the classifier ``qadl run`` would build for it."""

    __slots__ = ("classifier", "model", "program")

    def __init__(self, program: Program, model: Model, classifier: Classifier) -> None:
        self.program = program
        self.model = model
        self.classifier = classifier

    def initial_theta(self, seed: int) -> np.ndarray:
        """θ drawn from the model's ``param … init`` declarations."""
        return np.asarray(self.model.initial_params(seed), dtype=float)

    def train_options(self) -> dict[str, Any]:
        """The options of the program's first ``train`` block of this model (empty: none)."""
        for spec in self.program.trainings:
            if spec.model == self.model.name:
                return dict(spec.options)
        return {}


def model_handle(program: Program | str | Path, model: str | None = None) -> ModelHandle:
    """The named model (or the program's only/first one) with its classifier.

    Raises:
        QadlError: the file is wrong.
        ValueError: no model of that name, or the program declares none.
    """
    from qadl.run.session import RunOptions, Session

    prog = as_program(program)
    if not prog.models:
        raise ValueError(f"{prog.path} declares no model")
    if model is not None and model not in prog.models:
        known = ", ".join(sorted(prog.models))
        raise ValueError(f"{prog.path} has no model `{model}` (it declares: {known})")
    chosen = prog.model(model)
    # the session builds the simulator exactly as `qadl run` does (noisy device included);
    # it writes nothing until asked to run.
    session = Session(prog, RunOptions(out_dir=Path(".")))
    return ModelHandle(prog, chosen, session.classifier(chosen.name))


def train_config_of(handle: ModelHandle, **overrides: Any) -> TrainConfig:
    """The ``TrainConfig`` of the model's ``train`` block (qadl's defaults without one).

    No checkpoints are written; ``overrides`` replace fields of the result.
    """
    from dataclasses import replace

    from qadl.run.configs import train_config

    target = handle.program.target_of(handle.model.name)
    config = train_config(
        handle.train_options(),
        checkpoint_dir=None,
        resume=False,
        device_shots=None if target is None else target.noise.shots,
    )
    # a checkpoint(path = …) of the file is for `qadl run`, not for notebook fits
    return replace(config, checkpoint_dir=None, **overrides)
