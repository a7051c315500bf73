"""Translate the checked program's statements into the run-time configs of learn/ and adversary/.

The checker has already validated every option (names, types, ranges), so the functions
here only map resolved values onto ``TrainConfig``, ``AttackConfig``,
``QuantumAttackConfig`` and ``AdversarialTrainingConfig``, and load data sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qadl.adversary.config import AdversarialTrainingConfig, AttackConfig, QuantumAttackConfig
from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.dp import DPConfig
from qadl.learn.optimizers import Optimizer, make_optimizer
from qadl.learn.train import TrainConfig
from qadl.program import AttackSpec, CallValue, Condition, DataSpec, DefenceSpec

__all__ = [
    "TransferPlan",
    "attack_plan",
    "defence_config",
    "load_data",
    "optimizer_of",
    "train_config",
]

QUANTUM_METHODS = ("local_rotations",)
CLASSICAL_METHODS = ("fgsm", "bim", "pgd", "mim", "gradient_steps")


SPSA_NAMES = {"lr": "a", "perturbation": "c"}
"""The language's SPSA gains -> Spall's: ``a_k = lr/(k+1+A)^α``, ``c_k = perturbation/(k+1)^γ``."""


def optimizer_of(value: Any, default: Optimizer, *, seed: int = 0) -> Optimizer:
    """``adam(lr = 0.05)`` (a ``CallValue``) or a bare name -> an optimizer object.

    ``seed`` seeds SPSA's perturbation directions (the training block's seed).
    """
    if value is None:
        return default
    call = value if isinstance(value, CallValue) else CallValue(str(value))
    kwargs = call.as_dict()
    if call.name == "spsa":
        kwargs = {SPSA_NAMES.get(k, k): v for k, v in kwargs.items()}
        kwargs.setdefault("seed", seed)
    return make_optimizer(call.name, **kwargs)


def _early_stop(options: dict[str, Any]) -> tuple[int | None, float]:
    """``(patience, min_delta)``; patience None when early stopping is off."""
    early = options.get("early_stop")
    if early is None:
        return None, 0.0
    if isinstance(early, CallValue):
        return int(early.get("patience", 5)), float(early.get("min_delta", 0.0))
    return int(early), 0.0


def _checkpoint_dir(options: dict[str, Any], default: Path | None, out_dir: Path | None):
    """``checkpoint(path = "p")`` is ``OUT/p`` (the checker keeps it inside); else ``default``."""
    ckpt = options.get("checkpoint")
    if isinstance(ckpt, CallValue) and ckpt.get("path") is not None and out_dir is not None:
        return out_dir / str(ckpt.get("path"))
    return default


def _checkpoint_every(options: dict[str, Any]) -> int:
    ckpt = options.get("checkpoint")
    if isinstance(ckpt, CallValue):
        return int(ckpt.get("every", 1))
    return int(ckpt) if ckpt is not None else 1


def train_config(
    options: dict[str, Any],
    *,
    checkpoint_dir: Path | None,
    resume: bool,
    epochs: int | None = None,
    max_epochs: int | None = None,
    out_dir: Path | None = None,
    device_shots: int | None = None,
) -> TrainConfig:
    """A ``TrainConfig`` from the options of a ``train`` (or ``defend``) block.

    Args:
        options: the block's resolved options.
        checkpoint_dir: where ``fit`` writes its checkpoints (None: none) unless the
            block names ``checkpoint(path = …)``, which is relative to ``out_dir``.
        resume: continue from a checkpoint there.
        epochs: epochs when the block has none (``defend ... epochs = N``).
        max_epochs: a cap from the command line (quick runs).
        out_dir: the run's output directory.
        device_shots: the ``shots`` of the model's device, used when the block has none.
    """
    n_epochs = int(options.get("epochs", epochs if epochs is not None else 20))
    if max_epochs is not None:
        n_epochs = min(n_epochs, max_epochs)
    seed = int(options.get("seed", 7))
    optimizer = optimizer_of(options.get("optimizer"), make_optimizer("adam", lr=0.05), seed=seed)
    method = "parameter-shift" if options.get("gradient") == "parameter_shift" else "adjoint"
    patience, min_delta = _early_stop(options)
    directory = _checkpoint_dir(options, checkpoint_dir, out_dir)
    shots = options.get("shots", device_shots)
    return TrainConfig(
        loss=str(options.get("loss", "cross_entropy")),
        optimizer=optimizer,
        epochs=n_epochs,
        batch=int(options.get("batch", 20)),
        seed=seed,
        method=method,
        checkpoint_dir=None if directory is None else str(directory),
        checkpoint_every=_checkpoint_every(options),
        resume=resume,
        patience=patience,
        min_delta=min_delta,
        shots=None if shots is None else int(shots),
        validation=float(options.get("validation", 0.0)),
        dp=dp_config(options.get("dp")),
    )


def dp_config(call: Any) -> DPConfig | None:
    """``dp(clip = C, noise = σ, delta = δ)`` with its defaults (1, 1, 1e-5); None without."""
    if call is None:
        return None
    kw = call.as_dict()
    return DPConfig(
        clip=float(kw.get("clip", 1.0)),
        noise=float(kw.get("noise", 1.0)),
        delta=float(kw.get("delta", 1e-5)),
    )


def _epsilon(value: Any) -> float | tuple[float, ...] | None:
    if value is None:
        return None
    return tuple(float(v) for v in value) if isinstance(value, tuple) else float(value)


def _until(options: dict[str, Any]) -> dict[str, float]:
    """``until wrong_class >= p`` (per sample) or ``until success_rate >= r`` (whole batch)."""
    until = options.get("until")
    if not isinstance(until, Condition):
        return {}
    key = "until_confidence" if until.metric == "wrong_class" else "until_success_rate"
    return {key: float(until.value)}


def _classical(method: CallValue, options: dict[str, Any]) -> AttackConfig:
    kw = method.as_dict()
    common: dict[str, Any] = {"seed": int(options.get("seed", 0))}
    if "targeted" in options:
        common.update(targeted=True, target=int(options["targeted"]))
    if options.get("mask") == "nonzero":
        common["mask"] = "nonzero"
    common.update(_until(options))
    if "clip" in options:
        common["clip"] = tuple(float(v) for v in options["clip"])
    if method.name == "gradient_steps":
        opt = kw.get("optimizer", CallValue("adam", kwargs=(("lr", 0.01),)))
        opt = opt if isinstance(opt, CallValue) else CallValue(str(opt))
        bounded = kw.get("epsilon")
        return AttackConfig(
            method="gradient_steps",
            norm=str(kw.get("norm", "linf")),
            epsilon=_epsilon(bounded),
            steps=int(kw.get("max_steps", 100)),
            optimizer="adam" if opt.name == "adam" else "sgd",
            lr=float(opt.get("lr", 0.01)),
            clip_to_range="clip" in options,
            **common,
        )
    return AttackConfig(
        method=method.name,
        norm=str(kw.get("norm", "linf")),
        epsilon=_epsilon(kw.get("epsilon", 0.1)),
        steps=int(kw.get("steps", 10)),
        step_size=None if "step" not in kw else float(kw["step"]),
        random_start=None if "random_start" not in kw else bool(kw["random_start"]),
        restarts=int(kw.get("restarts", 1)),
        decay=float(kw.get("decay", 1.0)),
        **common,
    )


def _quantum_step(kw: dict[str, Any]) -> float | None:
    step = kw.get("lr", kw.get("step"))
    return None if step is None else float(step)


def _quantum(method: CallValue, options: dict[str, Any]) -> QuantumAttackConfig:
    kw = method.as_dict()
    extra: dict[str, Any] = {}
    if "targeted" in options:
        extra.update(targeted=True, target=int(options["targeted"]))
    extra.update(_until(options))
    return QuantumAttackConfig(
        epsilon=_epsilon(kw.get("epsilon", 0.1)),
        steps=int(kw.get("steps", 20)),
        # `lr` alone asks for Adam on the angles; without it, signed steps of 2.5·ε/steps.
        # `step` is the sign step or the natural-gradient step's Fubini–Study length.
        step_size=_quantum_step(kw),
        optimizer=str(kw.get("optimizer", "adam" if "lr" in kw else "sign")),
        axes=tuple(kw.get("axes", ("x", "y", "z"))),
        fidelity_min=None if "fidelity" not in kw else float(kw["fidelity"]),
        seed=int(options.get("seed", 0)),
        **extra,
    )


def plan_of(method: CallValue, options: dict[str, Any]) -> AttackConfig | QuantumAttackConfig:
    """A white-box attack method: local rotations on states, or an attack on features."""
    if method.name == "closest_flip":
        from qadl.adversary.closest_flip import ClosestFlipConfig

        return ClosestFlipConfig(fidelity=float(method.as_dict()["fidelity"]))  # type: ignore[return-value]
    if method.name in QUANTUM_METHODS:
        return _quantum(method, options)
    return _classical(method, options)


@dataclass(frozen=True)
class TransferPlan:
    """A black-box attack: craft with ``attack`` on a source model or scikit-learn surrogate."""

    attack: AttackConfig | QuantumAttackConfig
    source_model: str | None = None
    surrogate: str | None = None
    """``logistic_regression`` or ``mlp``."""


AttackPlan = AttackConfig | QuantumAttackConfig | TransferPlan


def attack_plan(
    method: CallValue, options: dict[str, Any], declared: dict[str, AttackSpec] | None = None
) -> AttackPlan:
    """The config of one attack method with the attack block's options applied.

    ``declared`` resolves ``transfer(attack = NAME)`` to a declared attack's method and options.
    """
    if method.name == "transfer":
        inner = method.get("attack", CallValue("bim"))
        if isinstance(inner, str) and declared and inner in declared:
            crafted = plan_of(declared[inner].method, declared[inner].options)
        else:
            inner = inner if isinstance(inner, CallValue) else CallValue(str(inner))
            crafted = plan_of(inner, options)
        return TransferPlan(
            attack=crafted,
            source_model=method.get("from"),
            surrogate=method.get("surrogate"),
        )
    return plan_of(method, options)


def spec_plan(spec: AttackSpec, declared: dict[str, AttackSpec] | None = None) -> AttackPlan:
    """The plan of a named ``attack`` statement."""
    return attack_plan(spec.method, spec.options, declared)


def defence_config(spec: DefenceSpec, attack: AttackPlan) -> AdversarialTrainingConfig:
    """``adversarial_training(attack = ..., examples = ..., ratio = ..., schedule = ...)``."""
    if isinstance(attack, TransferPlan):
        raise QadlError.at(
            "E0721",
            "adversarial training needs a white-box attack, not a transfer attack",
            spec.span,
            help="name an fgsm/bim/pgd/mim/gradient_steps/local_rotations attack",
        )
    kw = spec.method.as_dict()
    if kw.get("schedule") == "linear" and isinstance(attack, AttackConfig) and not attack.bounded:
        raise QadlError.at(
            "E0533",
            "`schedule = linear` ramps the attack's ε, but this attack has no ε-ball",
            spec.span,
            help="give the attack an `epsilon`, or use `schedule = constant`",
        )
    return AdversarialTrainingConfig(
        attack=attack,
        ratio=float(kw.get("ratio", 0.5)),
        schedule=str(kw.get("schedule", "constant")),
        mode="fixed" if kw.get("examples", "on_the_fly") == "precomputed" else "online",
    )


def _pair(value: Any, default: tuple[float, float]) -> tuple[float, float]:
    return default if value is None else (float(value[0]), float(value[1]))


def load_data(
    spec: DataSpec, max_bytes: int | None = None, read: Dataset | None = None
) -> tuple[Dataset, Dataset]:
    """``(train, test)`` of one ``data`` statement (generated data is cached on disk).

    ``max_bytes`` is the size limit of a data file (default ``files.MAX_DATA_BYTES``);
    ``read`` is the file's content when the preflight has read it already (it is split,
    not read again).
    """
    from qadl.learn import data, files, quantum_data

    kw = dict(spec.options)
    split = {"test": float(kw.get("test", 0.2)), "seed": int(kw.get("seed", 7))}
    if spec.source == "builtin.digits":
        from qadl.learn.tabular import with_steps
        from qadl.run.tabular_checks import preprocess_of

        normalize = {"minmax": "range"}.get(kw.get("normalize", "l2"), kw.get("normalize", "l2"))
        pair = data.digits(
            classes=tuple(int(c) for c in kw.get("classes", (1, 9))),
            size=tuple(kw.get("size", (16, 16))),
            normalize=normalize,
            **split,
        )
        return with_steps(*pair, preprocess_of(kw), split["seed"])
    if spec.source == "builtin.aubry_andre":
        return quantum_data.aubry_andre(
            qubits=int(kw.get("qubits", 10)),
            samples=int(kw.get("samples", 600)),
            time=float(kw.get("time", 3.0)),
            g=float(kw.get("coupling", 1.0)),
            localized=_pair(kw.get("localized"), (4.0, 5.0)),
            thermal=_pair(kw.get("thermal"), (0.0, 1.0)),
            **split,
        )
    if spec.source == "builtin.ising":
        field = kw.get("field")
        extra = (
            {}
            if field is None
            else {"ferro": (0.0, float(field[0])), "para": (float(field[1]), 2.0)}
        )
        return quantum_data.ising(
            qubits=int(kw.get("qubits", 8)), samples=int(kw.get("samples", 200)), **extra, **split
        )
    if spec.source == "builtin.cluster_ising":
        field = kw.get("field")
        extra = (
            {}
            if field is None
            else {"spt": (0.0, float(field[0])), "trivial": (float(field[1]), 2.0)}
        )
        return quantum_data.cluster_ising(
            qubits=int(kw.get("qubits", 8)), samples=int(kw.get("samples", 200)), **extra, **split
        )
    if spec.source == "builtin.havlicek":
        from qadl.learn.havlicek import havlicek

        try:
            return havlicek(
                samples=int(kw.get("samples", 200)), gap=float(kw.get("gap", 0.3)), **split
            )
        except ValueError as err:
            raise QadlError.at("E0553", str(err), spec.span, help="use a smaller `gap`") from None
    from qadl.run.tabular_checks import tabular_kw, tabular_source

    if tabular_source(spec) is not None:
        from qadl.learn.tabular import tabular

        return tabular(spec.source.removeprefix("builtin."), **tabular_kw(spec))
    if spec.source == "file":
        from qadl.learn.tabular import with_steps
        from qadl.run.tabular_checks import preprocess_of

        if read is not None:
            pair = files.split_data(read, span=spec.span, **split)
        else:
            limit = files.MAX_DATA_BYTES if max_bytes is None else max_bytes
            pair = files.load_file(spec.path, span=spec.span, max_bytes=limit, **split)
        return with_steps(*pair, preprocess_of(kw), split["seed"])
    raise QadlError.at("E0720", f"unknown data source `{spec.source}`", spec.span)
