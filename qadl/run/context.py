"""The state of one ``qadl run`` (``Session``), its options, and the helpers every stage shares.

``Session`` is mutable by design: data sets, classifiers and trained parameters are built
once and reused by the training, defence, privacy and evaluation stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qadl.adversary.quantum import LocalRotationAdversary, local_rotation_adversary
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.program import CallValue, DataRef, Model, Program
from qadl.run import build, configs
from qadl.run.resources import require_memory
from qadl.source import Span

__all__ = [
    "RunOptions",
    "Session",
    "attack_span",
    "check_class_target",
    "check_fits",
    "check_target",
    "guard_memory",
    "named_plan",
    "say",
    "test_split",
]


@dataclass(frozen=True)
class RunOptions:
    """Command-line choices of one run."""

    out_dir: Path
    resume: bool = False
    """Continue every training from its checkpoint in ``out_dir/checkpoints``."""
    progress: bool = True
    max_epochs: int | None = None
    """Cap on every training's epochs (quick looks; the file's numbers otherwise)."""
    max_samples: int | None = None
    """Cap on the samples every evaluation attacks (quick looks)."""
    plots: bool = True
    max_data_bytes: int | None = None
    """Size limit of a data file (``--max-data-mb``; default 1 GiB)."""
    workers: int | None = None
    """``--workers N``: run independent tasks on a local Dask cluster of N processes."""
    scheduler: str | None = None
    """``--scheduler tcp://HOST:PORT``: run independent tasks on that Dask cluster."""


@dataclass
class Session:
    """What one run has built so far (mutable by design: it is the run's state)."""

    program: Program
    options: RunOptions
    data: dict[str, tuple[Dataset, Dataset]] = field(default_factory=dict)
    classifiers: dict[str, Classifier] = field(default_factory=dict)
    adversaries: dict[str, LocalRotationAdversary] = field(default_factory=dict)
    thetas: dict[str, np.ndarray] = field(default_factory=dict)
    base: dict[str, str] = field(default_factory=dict)
    """Trained-model name -> name of the ``model`` whose circuit it uses."""
    results: dict[str, Any] = field(default_factory=dict)
    preread: dict[str, Dataset] = field(default_factory=dict)
    """Data files the preflight has read already, by data-set name (split, not re-read)."""
    kernels: dict[str, Any] = field(default_factory=dict)
    """Trained kernel classifiers by kernel name (``qadl.run.kernels.TrainedKernel``)."""

    # -- lookups ------------------------------------------------------------------------------
    def model(self, name: str) -> Model:
        """The ``model`` declaration behind a trained or defended model name."""
        return self.program.models[self.base.get(name, name)]

    def classifier(self, name: str) -> Classifier:
        """The (cached) classifier of a model; compiles its simulator once."""
        model = self.model(name)
        if model.name not in self.classifiers:
            self.classifiers[model.name] = build.classifier_of(self.program, model.name)
        return self.classifiers[model.name]

    def device_shots(self, name: str) -> int | None:
        """The ``shots`` of the device a model is bound to (None: exact probabilities)."""
        return build.device_shots(self.program, self.model(name).name)

    def adversary(self, name: str) -> LocalRotationAdversary:
        """The local-rotation adversary of a quantum-data model (built once)."""
        model = self.model(name)
        if model.name not in self.adversaries:
            self.adversaries[model.name] = local_rotation_adversary(
                model.circuit, scale=model.readout_scale
            )
        return self.adversaries[model.name]

    def split(self, ref: DataRef, span: Span) -> Dataset:
        """The data split ``ref`` names, loading (or generating) the data set on first use."""
        if ref.dataset not in self.data:
            spec = self.program.datasets[ref.dataset]
            self.data[ref.dataset] = configs.load_data(
                spec, self.options.max_data_bytes, self.preread.get(ref.dataset)
            )
            self._record_data(ref.dataset)
        train, test = self.data[ref.dataset]
        if ref.split == "test":
            return test
        if ref.split in ("train", None):
            return train
        return train.concat(test)

    def _record_data(self, name: str) -> None:
        """results.json says what each data set held: split sizes, and for a file the
        path, the samples read and whether a header row was skipped."""
        train, test = self.data[name]
        known = ("path", "rows", "header", "preprocess")
        self.results.setdefault("data", {})[name] = {
            "train": len(train),
            "test": len(test),
            **{k: train.meta[k] for k in known if k in train.meta},
        }

    def theta(self, name: str, span: Span) -> np.ndarray:
        """Trained parameters of ``name``, or a clear error if nothing trained it."""
        if name not in self.thetas:
            raise QadlError.at(
                "E0723",
                f"model `{name}` has no trained parameters at this point",
                span,
                help=f"add `train {name} on DATA.train {{ ... }}` before this statement",
            )
        return self.thetas[name]


def check_fits(model: Model, data: Dataset, span: Span) -> None:
    """The data set must feed the model's input (features of the right length, or states)."""
    if model.input_kind == "state":
        ok = data.states is not None and data.states.shape[1] == 1 << model.num_qubits
        want = f"input states of {model.num_qubits} qubits"
    else:
        ok = data.x is not None and data.x.shape[1] == model.num_features
        want = f"{model.num_features} features per sample"
    have = (
        f"states of dimension {data.states.shape[1]}"
        if data.states is not None
        else f"{0 if data.x is None else data.x.shape[1]} features"
    )
    if not ok:
        raise QadlError.at(
            "E0722",
            f"data `{data.name}` does not fit model `{model.name}`: it needs {want}, "
            f"the data has {have}",
            span,
        )
    if int(data.y.max(initial=0)) >= model.num_classes:
        raise QadlError.at(
            "E0722",
            f"data `{data.name}` has labels up to {int(data.y.max())} but model "
            f"`{model.name}` reads out {model.num_classes} classes",
            span,
        )


def test_split(session: Session, ref: DataRef, span: Span) -> Dataset | None:
    if ref.split != "train":
        return None
    return session.split(DataRef(ref.dataset, "test"), span)


def say(message: str) -> None:
    print(message, flush=True)


def guard_memory(
    session: Session,
    name: str,
    batch: int,
    gradient: bool,
    span: Span,
    what: str,
    smaller: str = "a smaller batch",
) -> None:
    """Refuse (E0803) before allocating when ``batch`` states of ``name`` would not fit."""
    from qadl.backends.sim.noisy import NoisySimulator

    model = session.model(name)
    sim = session.classifier(name).sim  # the simulator the work will use, not a guess
    method = sim.method if isinstance(sim, NoisySimulator) else "statevector"
    trajectories = sim.engine.trajectories if method == "trajectories" else 0
    require_memory(
        model.num_qubits, batch, method == "density", gradient, span, what, smaller,
        trajectories=trajectories,
    )


def check_target(plan: configs.AttackPlan, model: Model, span: Span) -> None:
    """A targeted attack's class must be one the model reads out."""
    check_class_target(plan, f"model `{model.name}`", model.num_classes, span)


def check_class_target(plan: configs.AttackPlan, what: str, classes: int, span: Span) -> None:
    """A targeted attack's class must be one of the ``classes`` that ``what`` (a model or a
    kernel, named as the message shows it) tells apart (E0530)."""
    config = plan.attack if isinstance(plan, configs.TransferPlan) else plan
    if config.targeted and not 0 <= int(config.target) < classes:
        raise QadlError.at(
            "E0530",
            f"`targeted {config.target}`: {what} has classes 0..{classes - 1}",
            span,
            help=f"target a class below {classes}",
        )


def attack_span(session: Session, item: Any, span: Span) -> Span:
    """Where an ``under`` item or a defence's ``attack =`` is declared (the statement otherwise)."""
    if isinstance(item, str) and item in session.program.attacks:
        return session.program.attacks[item].span
    return span


def named_plan(
    session: Session, item: Any, seed: int | None = None
) -> tuple[str, configs.AttackPlan]:
    """An ``under [...]`` item or a defence's ``attack =``: a declared attack or an inline one.

    An inline method has no options block: ``seed`` (the evaluation's) seeds it.
    """
    if isinstance(item, str):
        return item, configs.spec_plan(session.program.attacks[item], session.program.attacks)
    call = item if isinstance(item, CallValue) else CallValue(str(item))
    options = {} if seed is None else {"seed": seed}
    return call.name, configs.attack_plan(call, options, session.program.attacks)
