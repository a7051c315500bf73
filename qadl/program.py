"""The checked, lowered program: models as circuits, everything else as resolved specs.

This is what the run-time code (training, attacks, reports) consumes; nothing here needs
the source text again. Option values are plain Python: numbers, strings, tuples,
``CallValue`` (``adam(lr = 0.05)``), ``DataRef`` (``digits.train``), ``Condition``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from qadl.check.kernels import KernelTrainSpec
from qadl.check.specs import (
    AttackSpec,
    DataSpec,
    DefenceSpec,
    DeviceSpec,
    EvaluationSpec,
    NoiseSpec,
    TargetSpec,
    TrainSpec,
)
from qadl.check.sweep import SweepSpec
from qadl.check.values import CallValue, Condition, DataRef
from qadl.ir.circuit import Circuit
from qadl.ir.target import NoiseModel, Target
from qadl.source import NO_SPAN, SourceMap, Span

__all__ = [
    "AttackSpec",
    "CallValue",
    "Condition",
    "DataRef",
    "DataSpec",
    "DefenceSpec",
    "DeviceSpec",
    "EvaluationSpec",
    "InputKind",
    "KernelModel",
    "KernelTrainSpec",
    "Model",
    "NoiseSpec",
    "ParamInit",
    "Program",
    "SweepSpec",
    "TargetSpec",
    "TrainSpec",
]

InputKind = Literal["features", "state", "none"]


@dataclass(frozen=True)
class ParamInit:
    """How to initialise ``theta[start : start + size]``.

    ``kind`` is ``uniform`` (args low, high), ``normal`` (mean, std), ``zeros`` or
    ``constant`` (value). ``name`` is the ``param`` name, prefixed by the block for
    block parameters (``hardware_efficient#0.θ``).
    """

    name: str
    start: int
    size: int
    kind: str = "uniform"
    args: tuple[float, ...] = (0.0, 2 * math.pi)


@dataclass(frozen=True)
class Model:
    """One compiled model: its circuit plus what training needs to know about it."""

    name: str
    circuit: Circuit
    num_qubits: int
    num_params: int
    num_features: int
    param_init: tuple[ParamInit, ...]
    input_kind: InputKind
    feature_shape: tuple[int, ...]
    readout_scale: float = 1.0
    """Inverse temperature for expval readouts (``scale`` option); 1.0 otherwise."""
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)

    @property
    def num_classes(self) -> int:
        """Number of classes the readout distinguishes."""
        readout = self.circuit.readout
        return readout.num_classes if readout is not None else 0

    def initial_params(self, seed: int | None = None):
        """A θ vector drawn from ``param_init`` (NumPy, imported lazily)."""
        import numpy as np

        rng = np.random.default_rng(seed)
        theta = np.zeros(self.num_params)
        for p in self.param_init:
            part = slice(p.start, p.start + p.size)
            if p.kind == "uniform":
                theta[part] = rng.uniform(p.args[0], p.args[1], p.size)
            elif p.kind == "normal":
                theta[part] = rng.normal(p.args[0], p.args[1], p.size)
            elif p.kind == "constant":
                theta[part] = p.args[0]
        return theta


@dataclass(frozen=True)
class KernelModel:
    """One compiled quantum kernel: its feature-map circuit (no readout) and its type.

    ``kind`` is ``fidelity`` (|<φ(x)|φ(x')>|²) or ``projected``
    (exp(-γ Σ_q ‖ρ_q(x) − ρ_q(x')‖²_F) over one-qubit reduced states).
    """

    name: str
    feature_map: Circuit
    num_qubits: int
    num_features: int
    kind: str
    gamma: float = 1.0
    param_init: tuple[ParamInit, ...] = ()
    """Trainable feature-map parameters (trained by ``align``); θ of the feature map."""
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)

    @property
    def num_params(self) -> int:
        """Length of the feature map's θ."""
        return self.feature_map.num_params

    def initial_params(self, seed: int | None = None):
        """A θ vector drawn from ``param_init``, as for models."""
        return Model.initial_params(self, seed)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Program:
    """Everything one ``.qadl`` file declares, checked and lowered."""

    path: str
    models: dict[str, Model]
    datasets: dict[str, DataSpec]
    trainings: tuple[TrainSpec, ...]
    attacks: dict[str, AttackSpec]
    defences: tuple[DefenceSpec, ...]
    evaluations: tuple[EvaluationSpec, ...]
    targets: dict[str, Target]
    noise_models: dict[str, NoiseModel]
    devices: dict[str, str]
    """Model name -> target name (``device MODEL on TARGET``)."""
    target_specs: dict[str, TargetSpec] = field(default_factory=dict)
    noise_specs: dict[str, NoiseSpec] = field(default_factory=dict)
    sources: SourceMap = field(default_factory=SourceMap, compare=False, repr=False)
    kernels: dict[str, KernelModel] = field(default_factory=dict)
    kernel_trainings: tuple[KernelTrainSpec, ...] = ()
    sweep: SweepSpec | None = None
    """The file's ``sweep`` (``qadl run`` runs one program per point); None without one."""

    def model(self, name: str | None = None) -> Model:
        """The model ``name``, or the only/first model when ``name`` is None."""
        if name is None:
            if not self.models:
                raise KeyError("the program defines no model")
            return next(iter(self.models.values()))
        return self.models[name]

    def target_of(self, model: str) -> Target | None:
        """The device target a model is bound to with ``device``, if any."""
        name = self.devices.get(model)
        return None if name is None else self.targets.get(name)

    # -- the Python API (docs/api.md); heavy modules are imported on first use -----------------
    def classifier(self, name: str | None = None, params=None):
        """The ``QadlClassifier`` of model ``name`` (or a ``defend ... as`` result), built as
        ``qadl run`` builds it (device noise included).

        ``params``: θ as an array, a ``qadl.runs.Run`` (its trained θ for ``name``), or
        None for the θ ``qadl run`` starts training from.
        """
        from qadl.api_model import classifier

        return classifier(self, name, params)

    def data(self, name: str | None = None):
        """``(train, test)`` ``Dataset`` splits of the ``data`` statement ``name``."""
        from qadl.api_model import data_splits

        return data_splits(self, name)

    def attack(self, name: str):
        """The ``attack`` statement ``name`` as a callable ``DeclaredAttack``."""
        from qadl.api_declared import declared_attack

        return declared_attack(self, name)

    def defence(self, name: str):
        """The ``defend ... as name`` statement as a callable ``DeclaredDefence``."""
        from qadl.api_declared import declared_defence

        return declared_defence(self, name)

    def evaluation(self, index: int = 0):
        """The ``index``-th ``evaluate`` statement as a callable ``DeclaredEvaluation``."""
        from qadl.api_declared import declared_evaluation

        return declared_evaluation(self, index)
