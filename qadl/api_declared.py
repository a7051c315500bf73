"""The ``attack``, ``defend`` and ``evaluate`` statements of a program as Python callables.

``Program.attack(name)``, ``Program.defence(name)`` and ``Program.evaluation(i)`` return
these; call them on a ``QadlClassifier`` and either a ``Dataset`` or your own arrays.
They build the same configurations as ``qadl run`` (``qadl.run.configs``) and run the
same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from qadl.adversary.closest_flip import ClosestFlipConfig, closest_flip_attack, closest_flip_problem
from qadl.adversary.config import QuantumAttackConfig
from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.program import AttackSpec, CallValue, DefenceSpec, EvaluationSpec

if TYPE_CHECKING:
    from qadl.adversary.evaluate import Evaluation
    from qadl.adversary.result import AttackResult
    from qadl.api_model import QadlClassifier
    from qadl.program import Program

__all__ = [
    "DeclaredAttack",
    "DeclaredCertifiedTraining",
    "DeclaredDefence",
    "DeclaredEvaluation",
    "as_dataset",
]


def as_dataset(
    clf: QadlClassifier, inputs: Any, y: Any = None, feature_range: Any = None
) -> Dataset:
    """A ``Dataset`` as is, or one built from arrays for ``clf`` (labels required)."""
    if isinstance(inputs, Dataset):
        return inputs
    if y is None:
        raise TypeError("pass labels y with an array of inputs (or pass a Dataset)")
    batch = clf._batch(inputs)
    state = clf.model.input_kind == "state"
    return Dataset(
        x=None if state else batch,
        states=batch if state else None,
        y=np.asarray(y),
        num_classes=clf.num_classes,
        feature_range=None if feature_range is None else tuple(map(float, feature_range)),
        name="data",
    )


def _transfer_refused(what: str, span: Any) -> QadlError:
    return QadlError.at(
        "E0852",
        f"{what} is a transfer attack: it crafts on another model, so it runs only in `qadl run`",
        span,
        help="from Python, call the crafting attack on the source classifier and score the "
        "adversarial inputs with the target's `predict`",
    )


def _check_target(plan: Any, label: str, clf: QadlClassifier) -> None:
    if plan.targeted and not 0 <= int(plan.target) < clf.num_classes:
        raise ValueError(f"`{label}` targets class {plan.target}; `{clf.name}` has classes "
                         f"0..{clf.num_classes - 1}")


def _check_closest_flip(clf: QadlClassifier, label: str) -> None:
    problem = closest_flip_problem(clf.core)
    if problem is not None:
        raise ValueError(f"`{label}` cannot attack `{clf.name}`: {problem}")


def _run_plan(clf: QadlClassifier, data: Dataset, plan: Any, label: str) -> tuple[Any, ...]:
    from qadl.adversary.attacks import attack_sweep
    from qadl.adversary.quantum import local_rotation_adversary, quantum_attack_sweep

    _check_target(plan, label, clf)
    if isinstance(plan, ClosestFlipConfig):
        _check_closest_flip(clf, label)
        return (closest_flip_attack(clf.core, clf.params, data, plan),)
    if isinstance(plan, QuantumAttackConfig):
        if data.states is None:
            raise ValueError(f"`{label}` rotates input states; `{clf.name}` takes features")
        adversary = local_rotation_adversary(clf.model.circuit, scale=clf.model.readout_scale)
        return quantum_attack_sweep(adversary, clf.params, data, plan)
    if data.x is None:
        raise ValueError(f"`{label}` perturbs features; `{clf.name}` takes input states")
    return attack_sweep(clf.core, clf.params, data, plan)


@dataclass(frozen=True)
class DeclaredAttack:
    """``attack NAME on MODEL { ... }``: call ``attack(clf, x, y)`` or ``attack(clf, data)``."""

    spec: AttackSpec
    plan: Any
    """The ``AttackConfig``/``QuantumAttackConfig`` ``qadl run`` uses."""

    @property
    def name(self) -> str:
        """The attack's name in the program."""
        return self.spec.name

    @property
    def epsilons(self) -> tuple[float | None, ...]:
        """The ε sweep (``(None,)`` for an unbounded attack)."""
        bounded = getattr(self.plan, "bounded", True)
        return tuple(self.plan.epsilons) if bounded else (None,)

    def __call__(
        self, clf: QadlClassifier, inputs: Any, y: Any = None, *, feature_range: Any = None
    ) -> tuple[AttackResult, ...]:
        """One ``AttackResult`` per ε (``x_adv`` or ``states_adv``, ``success``, norms).

        ``feature_range`` (``(low, high)``) clips adversarial features as the data set's
        range does in ``qadl run``; a ``Dataset`` brings its own.
        """
        data = as_dataset(clf, inputs, y, feature_range)
        return _run_plan(clf, data, self.plan, self.name)


def declared_attack(program: Program, name: str) -> DeclaredAttack:
    """See ``Program.attack``."""
    from qadl.run.configs import TransferPlan, spec_plan

    if name not in program.attacks:
        known = ", ".join(sorted(program.attacks)) or "none"
        raise KeyError(f"no attack `{name}` in {program.path}; known: {known}")
    spec = program.attacks[name]
    plan = spec_plan(spec, program.attacks)
    if isinstance(plan, TransferPlan):
        raise _transfer_refused(f"attack `{name}`", spec.span)
    return DeclaredAttack(spec, plan)


@dataclass(frozen=True)
class DeclaredEvaluation:
    """One ``evaluate`` statement: ``evaluation(clf, x, y)`` -> ``Evaluation``."""

    spec: EvaluationSpec
    attacks: tuple[tuple[str, Any], ...]
    """``(label, config)`` of every attack in ``under`` (``clean`` is always measured)."""

    @property
    def models(self) -> tuple[str, ...]:
        """The models the statement lists."""
        return self.spec.models

    def __call__(
        self, clf: QadlClassifier, inputs: Any, y: Any = None, *, feature_range: Any = None
    ) -> Evaluation:
        """Clean accuracy and metrics, and one robust point per attack and ε, as ``qadl run``
        reports them (the statement's ``samples``, ``shots``, ``seed`` and ``fidelity``
        apply; ``shots`` defaults to the device's)."""
        from qadl.adversary.evaluate import Scoring, evaluate

        data = as_dataset(clf, inputs, y, feature_range)
        options = self.spec.options
        if "samples" in options and int(options["samples"]) < len(data):
            data = data.take(np.arange(int(options["samples"])))
        for label, plan in self.attacks:  # refuse a mismatch before any work
            _check_target(plan, label, clf)
        adversary = None
        if clf.model.input_kind == "state":
            from qadl.adversary.quantum import local_rotation_adversary

            adversary = local_rotation_adversary(clf.model.circuit, scale=clf.model.readout_scale)
        shots = options.get("shots", clf.shots)
        scoring = Scoring(None if shots is None else int(shots), int(options.get("seed", 0)))
        return evaluate(
            clf.core, clf.params, data, dict(self.attacks), adversary=adversary, model=clf.name,
            scoring=scoring, fidelity=bool(options.get("fidelity", False)),
        )


_EVALUATION_OPTIONS = {"samples", "shots", "seed", "fidelity", "plots"}
"""``evaluate`` options a ``DeclaredEvaluation`` applies (``plots``: nothing to draw)."""


def declared_evaluation(program: Program, index: int) -> DeclaredEvaluation:
    """See ``Program.evaluation``."""
    from qadl.run.configs import TransferPlan

    count = len(program.evaluations)
    if not -count <= index < count:
        raise IndexError(f"{program.path} has {count} evaluate statement(s); no index {index}")
    spec = program.evaluations[index]
    unsupported = sorted(set(spec.options) - _EVALUATION_OPTIONS)
    if unsupported:  # applied by `qadl run` only: refuse rather than ignore them
        raise QadlError.at(
            "E0856",
            f"`evaluate {{ {unsupported[0]} … }}` runs only in `qadl run`; "
            "`program.evaluation` applies samples, shots, seed and fidelity",
            spec.span,
            help="run the program, or declare an evaluate statement without it",
        )
    seed = int(spec.options.get("seed", 0))
    attacks = []
    for item in spec.under:
        if item == "clean":
            continue
        label, plan = _item_plan(program, item, {"seed": seed})
        if isinstance(plan, TransferPlan):
            raise _transfer_refused(f"`{label}` in this evaluation", spec.span)
        attacks.append((label, plan))
    return DeclaredEvaluation(spec, tuple(attacks))


def _item_plan(program: Program, item: Any, options: dict[str, Any]) -> tuple[str, Any]:
    """An ``under`` item or a defence's ``attack =``: a declared attack, or an inline method
    with ``options`` (as ``qadl run`` reads them)."""
    from qadl.run.configs import attack_plan, spec_plan

    if isinstance(item, str):
        return item, spec_plan(program.attacks[item], program.attacks)
    call = item if isinstance(item, CallValue) else CallValue(str(item))
    return call.name, attack_plan(call, options, program.attacks)


@dataclass(frozen=True)
class DeclaredDefence:
    """``defend MODEL with adversarial_training(...) as NAME { ... }``:
    ``defence(clf, x, y)`` -> the adversarially trained ``QadlClassifier``."""

    spec: DefenceSpec
    attack: str
    """The label of the attack it trains against."""
    config: Any
    """The ``AdversarialTrainingConfig`` ``qadl run`` uses."""

    def __call__(
        self,
        clf: QadlClassifier,
        inputs: Any,
        y: Any = None,
        *,
        feature_range: Any = None,
        test: Dataset | None = None,
        progress: bool = False,
    ) -> QadlClassifier:
        """Train a copy of ``clf`` (from its parameters) against the attack, on the given
        training data, with the statement's options (epochs, optimizer, batch, seed, ...).

        ``test`` (a ``Dataset``) is measured every epoch, as ``qadl run`` measures the
        test split; it matters when the block asks for early stopping.
        """
        from dataclasses import replace

        from qadl.adversary.defend import adversarial_training
        from qadl.run.configs import train_config
        from qadl.run.training import training_errors

        data = as_dataset(clf, inputs, y, feature_range)
        _check_target(self.config.attack, self.attack, clf)
        if isinstance(self.config.attack, ClosestFlipConfig):
            _check_closest_flip(clf, self.attack)
        kw = self.spec.method.as_dict()
        config = train_config(
            self.spec.options, checkpoint_dir=None, resume=False,
            epochs=int(kw.get("epochs", 20)), device_shots=clf.shots,
        )
        adversary = None
        if clf.model.input_kind == "state":
            from qadl.adversary.quantum import local_rotation_adversary

            adversary = local_rotation_adversary(clf.model.circuit, scale=clf.model.readout_scale)
        with training_errors(self.spec.span):
            result = adversarial_training(
                clf.core, clf.params, data, config, self.config, theta_clean=clf.params,
                adversary=adversary, test=test, progress=progress,
            )
        return replace(clf, name=self.spec.result, params=result.theta)


@dataclass(frozen=True)
class DeclaredCertifiedTraining:
    """``defend MODEL with margin_training(...)`` or ``lipschitz_regularisation(...)``:
    ``defence(clf, x, y)`` -> the certifiably trained ``QadlClassifier``."""

    spec: DefenceSpec

    def __call__(
        self,
        clf: QadlClassifier,
        inputs: Any,
        y: Any = None,
        *,
        feature_range: Any = None,
        test: Dataset | None = None,
        progress: bool = False,
    ) -> QadlClassifier:
        """Fine-tune a copy of ``clf`` (from its parameters) with the statement's loss or
        penalty and options, as ``qadl run`` does.

        Raises:
            QadlError: the certificate does not apply to ``clf``'s model (E0540), or the
                training diverged (E0516).
        """
        from dataclasses import replace

        from qadl.learn.train import fit
        from qadl.run.configs import train_config
        from qadl.run.margin_defence import lipschitz_penalty, margin_loss
        from qadl.run.training import training_errors

        data = as_dataset(clf, inputs, y, feature_range)
        config = train_config(
            self.spec.options, checkpoint_dir=None, resume=False,
            epochs=int(self.spec.method.as_dict().get("epochs", 20)), device_shots=clf.shots,
        )
        circuit = clf.model.circuit
        if self.spec.method.name == "margin_training":
            config = replace(config, loss=margin_loss(self.spec, circuit, clf.params, config.loss))
        else:
            config = replace(config, penalty=lipschitz_penalty(self.spec, circuit))
        with training_errors(self.spec.span):
            result = fit(clf.core, clf.params, data, config, test=test, progress=progress)
        return replace(clf, name=self.spec.result, params=result.theta)


def declared_defence(program: Program, name: str) -> DeclaredDefence | DeclaredCertifiedTraining:
    """See ``Program.defence``."""
    from qadl.run.configs import TransferPlan, defence_config

    spec = next((d for d in program.defences if d.result == name), None)
    if spec is None:
        known = ", ".join(sorted(d.result for d in program.defences)) or "none"
        raise KeyError(f"no defence `... as {name}` in {program.path}; known: {known}")
    if spec.method.name in ("margin_training", "lipschitz_regularisation"):
        return DeclaredCertifiedTraining(spec)
    label, plan = _item_plan(program, spec.method.as_dict().get("attack", "pgd"), {})
    if isinstance(plan, TransferPlan):
        raise _transfer_refused(f"the attack of `{name}`", spec.span)
    return DeclaredDefence(spec, label, defence_config(spec, plan))
