"""Execute a checked program: train, defend and evaluate statements, in that order.

``run_program`` is the whole of ``qadl run``. It keeps one ``Session`` of mutable state
(data sets, classifiers, trained parameters) and writes everything it produces under
``RunOptions.out_dir``: ``results.json``, ``<model>.params.npz`` (loadable by
``qadl compile --bind``), checkpoints for ``--resume`` and PNG plots.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from qadl.adversary.attacks import ClassifierOracle
from qadl.adversary.config import QuantumAttackConfig
from qadl.adversary.defend import adversarial_training
from qadl.adversary.evaluate import (
    Evaluation,
    RobustPoint,
    Scoring,
    evaluate,
    rescored,
    with_fidelity,
)
from qadl.adversary.fidelity import encoding_problem
from qadl.adversary.quantum import LocalRotationAdversary, local_rotation_adversary
from qadl.adversary.transfer import fit_surrogate, quantum_transfer_attack, transfer_attack
from qadl.errors import QadlError
from qadl.learn.checkpoint import CheckpointError
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.train import DivergedError, TrainResult, ValidationSplitError, fit
from qadl.learn.train import evaluate as clean_metrics
from qadl.program import CallValue, DataRef, Model, Program
from qadl.run import build, certification, configs, plots
from qadl.run.federated import run_federated
from qadl.run.kernels import evaluate_kernel, run_kernel_trainings
from qadl.run.outdir import OutputLock, clean_orphans, prepare_output_dir
from qadl.run.outputs import write_json, write_params
from qadl.run.privacy import check_privacy, run_privacy
from qadl.run.resources import require_memory
from qadl.source import Span

__all__ = ["RunOptions", "Session", "run_program"]


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


def _check_fits(model: Model, data: Dataset, span: Span) -> None:
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


@contextmanager
def _resumable(span: Span, directory: Path):
    """Turn a checkpoint that cannot be resumed into a located user error."""
    try:
        yield
    except CheckpointError as err:
        raise QadlError.at(
            "E0724",
            f"cannot resume from `{directory}`: {err}",
            span,
            help="delete that directory, pick another --out, or run without --resume",
        ) from None


@contextmanager
def _training(span: Span, config: Any, out: Path):
    """Validate the checkpoint directory first; a diverged or unsplittable run is a user error."""
    if config.checkpoint_dir is not None:
        directory = Path(config.checkpoint_dir)
        try:  # where links lead is decided before anything is created there
            inside = directory.resolve().is_relative_to(out.resolve())
            if inside:
                directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            inside, reason = False, err.strerror or str(err)
        else:
            reason = "it leaves the output directory (through a link)"
        if not inside:
            raise QadlError.at(
                "E0518",
                f"cannot write checkpoints to `{directory}`: {reason}",
                span,
                help="give `checkpoint(path = …)` a fresh directory below --out",
            )
    try:
        with _resumable(span, Path(config.checkpoint_dir or out)):
            yield
    except DivergedError as err:
        raise QadlError.at(
            "E0516", str(err), span, help="lower the learning rate (`optimizer adam(lr = …)`)"
        ) from None
    except ValidationSplitError as err:
        raise QadlError.at(
            "E0517", str(err), span, help="use a larger fraction or more data"
        ) from None


def _history_json(result: TrainResult) -> dict[str, Any]:
    return {k: list(v) for k, v in result.history.__dict__.items()}


def _train_record(
    session: Session, name: str, result: TrainResult, train: Dataset, test: Dataset | None
) -> dict[str, Any]:
    clf = session.classifier(name)
    _, train_acc = clean_metrics(clf, result.theta, train)
    record: dict[str, Any] = {
        "data": train.name,
        "epochs": len(result.history.epoch),
        "seconds": result.seconds,
        "clean_train_accuracy": train_acc,
        "history": _history_json(result),
        "params": f"{name}.params.npz",
    }
    if test is not None:
        record["clean_test_accuracy"] = clean_metrics(clf, result.theta, test)[1]
    return record


def _test_split(session: Session, ref: DataRef, span: Span) -> Dataset | None:
    if ref.split != "train":
        return None
    return session.split(DataRef(ref.dataset, "test"), span)


def _say(message: str) -> None:
    print(message, flush=True)


def _in_flight(config: Any, train: Dataset) -> int:
    """Samples a training simulates together: a mini-batch, or an evaluation chunk."""
    return max(config.batch, min(config.eval_chunk, len(train)))


def _guard_memory(
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


def run_trainings(session: Session) -> None:
    """Every ``train`` statement, in order; θ and a record per model."""
    out = session.options.out_dir
    for spec in session.program.trainings:
        model = session.model(spec.model)
        train = session.split(spec.data, spec.span)
        _check_fits(model, train, spec.span)
        test = _test_split(session, spec.data, spec.span)
        config = configs.train_config(
            spec.options,
            checkpoint_dir=out / "checkpoints" / spec.model,
            resume=session.options.resume,
            max_epochs=session.options.max_epochs,
            out_dir=out,
            device_shots=session.device_shots(spec.model),
        )
        _guard_memory(
            session, spec.model, _in_flight(config, train), True, spec.span,
            f"training `{spec.model}`",
        )
        if "federated" in spec.options:
            with _training(spec.span, config, out):
                result = run_federated(session, spec, config, train, test)
        else:
            result = _fit(session, spec, config, train, test)
        session.thetas[spec.model] = result.theta
        write_params(out / f"{spec.model}.params.npz", result.theta)
        record = _train_record(session, spec.model, result, train, test)
        session.results.setdefault("models", {})[spec.model] = record
        _say(
            f"  -> train accuracy {record['clean_train_accuracy']:.3f}"
            + (f", test accuracy {record['clean_test_accuracy']:.3f}" if test is not None else "")
            + f" ({record['seconds']:.1f} s)"
        )
        _plot_training(session, spec.model, result)


def _fit(
    session: Session, spec: Any, config: Any, train: Dataset, test: Dataset | None
) -> TrainResult:
    """Centralized training of one ``train`` statement."""
    model = session.model(spec.model)
    _say(
        f"train {spec.model} on {train.name}: {config.epochs} epochs, batch {config.batch}, "
        f"{model.num_params} parameters, {model.num_qubits} qubits"
    )
    with _training(spec.span, config, session.options.out_dir):
        return fit(
            session.classifier(spec.model),
            model.initial_params(config.seed),
            train,
            config,
            test=test,
            progress=session.options.progress,
        )


def _plot_training(session: Session, name: str, result: TrainResult) -> None:
    if not session.options.plots:
        return
    from qadl.adversary.report import plot_training_curves

    plot_training_curves(
        result.history,
        session.options.out_dir / "plots" / f"{name}_training.png",
        title=f"training of {name}",
    )


def _check_target(plan: configs.AttackPlan, model: Model, span: Span) -> None:
    """A targeted attack's class must be one the model reads out."""
    config = plan.attack if isinstance(plan, configs.TransferPlan) else plan
    if config.targeted and not 0 <= int(config.target) < model.num_classes:
        raise QadlError.at(
            "E0530",
            f"`targeted {config.target}`: model `{model.name}` has classes "
            f"0..{model.num_classes - 1}",
            span,
            help=f"target a class below {model.num_classes}",
        )


def _attack_span(session: Session, item: Any, span: Span) -> Span:
    """Where an ``under`` item or a defence's ``attack =`` is declared (the statement otherwise)."""
    if isinstance(item, str) and item in session.program.attacks:
        return session.program.attacks[item].span
    return span


def _named_plan(
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


def run_defences(session: Session) -> None:
    """Every ``defend`` statement: adversarial training of a copy of a trained model."""
    out = session.options.out_dir
    for spec in session.program.defences:
        clean_theta = session.theta(spec.model, spec.span)
        model = session.model(spec.model)
        session.base[spec.result] = model.name
        kw = spec.method.as_dict()
        attack_name, plan = _named_plan(session, kw.get("attack", "pgd"))
        _check_target(plan, model, _attack_span(session, kw.get("attack"), spec.span))
        defence = configs.defence_config(spec, plan)
        train_ref = next((t.data for t in session.program.trainings if t.model == spec.model), None)
        if train_ref is None:
            raise QadlError.at("E0723", f"model `{spec.model}` is never trained", spec.span)
        train = session.split(train_ref, spec.span)
        test = _test_split(session, train_ref, spec.span)
        config = configs.train_config(
            spec.options,
            checkpoint_dir=out / "checkpoints" / spec.result,
            resume=session.options.resume,
            epochs=int(kw.get("epochs", 20)),
            max_epochs=session.options.max_epochs,
            out_dir=out,
            device_shots=session.device_shots(spec.model),
        )
        _guard_memory(
            session, spec.model, _in_flight(config, train), True, spec.span,
            f"defending `{spec.model}`",
        )
        _say(
            f"defend {spec.model} as {spec.result}: adversarial training with `{attack_name}` "
            f"({defence.mode}, ratio {defence.ratio}), {config.epochs} epochs"
        )
        adversary = session.adversary(spec.model) if model.input_kind == "state" else None
        with _training(spec.span, config, out):
            result = adversarial_training(
                session.classifier(spec.model),
                clean_theta,
                train,
                config,
                defence,
                theta_clean=clean_theta,
                adversary=adversary,
                test=test,
                progress=session.options.progress,
            )
        session.thetas[spec.result] = result.theta
        write_params(out / f"{spec.result}.params.npz", result.theta)
        record = _train_record(session, spec.result, result.training, train, test)
        record.update(
            defended_from=spec.model, attack=attack_name, mode=defence.mode, ratio=defence.ratio
        )
        session.results.setdefault("models", {})[spec.result] = record
        _say(
            f"  -> {spec.result}: train accuracy {record['clean_train_accuracy']:.3f}"
            + (f", test accuracy {record['clean_test_accuracy']:.3f}" if test is not None else "")
        )
        _plot_training(session, spec.result, result.training)


@dataclass(frozen=True)
class _EvalOptions:
    """How one evaluation scores its results: shots (seeded) and fidelities."""

    scoring: Scoring
    fidelity: bool
    certify: tuple[Any, ...] = ()
    """``CertifyMethod``s of ``certify [...]`` (empty: no certificates)."""


def _transfer_points(
    session: Session,
    name: str,
    plan: configs.TransferPlan,
    target: str,
    data: Dataset,
    span: Span,
    how: _EvalOptions,
    index: int,
) -> list[RobustPoint]:
    """Points of one transfer attack; ``index`` numbers its results' random streams."""
    results = _transfer_results(session, plan, target, data, span)
    clf, theta = session.classifier(target), session.theta(target, span)
    return [
        RobustPoint.from_result(
            name,
            with_fidelity(
                rescored(r, clf, theta, data, plan.attack, how.scoring, index + i),
                clf,
                theta,
                data,
                how.fidelity,
            ),
        )
        for i, r in enumerate(results)
    ]


def _transfer_results(
    session: Session, plan: configs.TransferPlan, target: str, data: Dataset, span: Span
) -> tuple[Any, ...]:
    if plan.surrogate is not None and (
        data.x is None or isinstance(plan.attack, QuantumAttackConfig)
    ):
        raise QadlError.at(
            "E0725",
            f"a scikit-learn surrogate (`{plan.surrogate}`) needs classical features; "
            f"`{data.name}` holds quantum states",
            span,
            help="transfer from another qadl model instead: `transfer(from = MODEL, attack = ...)`",
        )
    if plan.surrogate is not None:
        train_ref = next(
            t.data for t in session.program.trainings if t.model == session.base.get(target, target)
        )
        kind = "logistic" if plan.surrogate == "logistic_regression" else "mlp"
        source = fit_surrogate(session.split(train_ref, span), kind, seed=plan.attack.seed)
    elif isinstance(plan.attack, QuantumAttackConfig):
        source_name = plan.source_model or target
        results = quantum_transfer_attack(
            session.adversary(source_name),
            session.theta(source_name, span),
            session.classifier(target),
            session.theta(target, span),
            data,
            plan.attack,
        )
        return tuple(results)
    else:
        source_name = plan.source_model or target
        source = ClassifierOracle(session.classifier(source_name), session.theta(source_name, span))
    return tuple(
        transfer_attack(
            source, session.classifier(target), session.theta(target, span), data, plan.attack
        )
    )


def _evaluate_model(
    session: Session,
    name: str,
    data: Dataset,
    under: tuple[Any, ...],
    span: Span,
    keep: dict[str, Any],
    how: _EvalOptions,
) -> Evaluation:
    model = session.model(name)
    _check_fits(model, data, span)
    theta = session.theta(name, span)
    white_box: dict[str, Any] = {}
    transfers: list[tuple[str, configs.TransferPlan]] = []
    for item in under:
        if item == "clean":
            continue
        label, plan = _named_plan(session, item, how.scoring.seed)
        _check_target(plan, model, _attack_span(session, item, span))
        if isinstance(plan, configs.TransferPlan):
            transfers.append((label, plan))
        else:
            white_box[label] = plan
    adversary = session.adversary(name) if model.input_kind == "state" else None
    evaluation = evaluate(
        session.classifier(name), theta, data, white_box, adversary=adversary, model=name,
        keep=keep, report=_log_attack, scoring=how.scoring, fidelity=how.fidelity,
    )
    extra: list[RobustPoint] = []
    for label, plan in transfers:
        start, started = len(evaluation.points) + len(extra), time.perf_counter()
        points = _transfer_points(session, label, plan, name, data, span, how, start)
        extra += points
        rows = [(p.epsilon, p.n, p.success_rate) for p in points]
        _say(_attack_line(label, rows, time.perf_counter() - started))
    evaluation = replace(evaluation, points=evaluation.points + tuple(extra))
    if not how.certify:
        return evaluation
    attacks = {**white_box, **{label: plan.attack for label, plan in transfers}}
    return certification.certify_evaluation(
        evaluation, session.classifier(name), theta, data, attacks, how.certify,
        certification.noise_of(session.program, model.name),
    )


def _log_attack(label: str, results: tuple[Any, ...], seconds: float) -> None:
    """One flushed line per finished attack, so a piped or logged run shows progress."""
    _say(_attack_line(label, [(r.epsilon, r.size, r.success_rate) for r in results], seconds))


def _attack_line(label: str, rows: list[tuple[float | None, int, float]], seconds: float) -> str:
    """``  attack f: 40 samples; ε 0.1: success rate 0.325; ε 0.2: … (2.1 s)``."""
    sweep = "; ".join(
        (f"ε {eps:g}: " if eps is not None else "") + f"success rate {rate:.3f}"
        for eps, _, rate in rows
    )
    samples = rows[0][1] if rows else 0
    return f"  attack {label}: {samples} samples; {sweep} ({seconds:.1f} s)"


def _limit(data: Dataset, samples: int | None) -> Dataset:
    if samples is None or samples >= len(data):
        return data
    return data.take(np.arange(samples))


def check_evaluations(session: Session) -> None:
    """Before any work: every ``evaluate { fidelity true }`` model has an encoded state.

    Fidelity is defined for quantum-data inputs and for amplitude-encoded features;
    angle-encoded features (or features shared with weights, as in Ren et al.'s
    classifier) have no input state apart from the model, so the option is refused.
    """
    defended = {d.result: d.model for d in session.program.defences}
    for spec in session.program.evaluations:
        if not spec.options.get("fidelity", False):
            continue
        for name in spec.models:
            model = session.program.models[defended.get(name, name)]
            if model.input_kind == "state":
                continue
            problem = encoding_problem(model.circuit)
            if problem is not None:
                raise QadlError.at(
                    "E0531",
                    f"`fidelity true`: no encoded-state fidelity for model `{name}`: {problem}",
                    spec.span,
                    help="fidelity is reported for quantum-data inputs and amplitude-encoded "
                    "features; drop `fidelity true` here",
                )


def run_evaluations(session: Session) -> list[Evaluation]:
    """Every ``evaluate`` statement: clean and robust accuracy of each listed model."""
    from qadl.adversary.metrics_report import metrics_table, plot_confusions
    from qadl.adversary.report import certified_table, robustness_table

    everything: list[Evaluation] = []
    plotted: list[plots.PlottedStatement] = []
    for index, spec in enumerate(session.program.evaluations):
        samples = spec.options.get("samples", session.options.max_samples)
        if session.options.max_samples is not None and samples is not None:
            samples = min(int(samples), session.options.max_samples)
        data = _limit(session.split(spec.data, spec.span), samples)
        evaluations = []
        for name in spec.models:
            _say(
                f"evaluate {name} on {data.name} ({len(data)} samples) under "
                + ", ".join(i if isinstance(i, str) else i.name for i in spec.under)
            )
            if name in session.program.kernels:  # clean accuracy only (checked)
                seed = int(spec.options.get("seed", 0))
                evaluations.append(evaluate_kernel(session, name, data, spec.span, seed))
                _say(f"  -> {name}: clean accuracy {evaluations[-1].clean_accuracy:.3f}")
                continue
            attacked = any(item != "clean" for item in spec.under)
            _guard_memory(
                session, name, len(data), attacked, spec.span, f"evaluating `{name}`",
                "fewer samples (`evaluate ... { samples N }` or --samples N)",
            )
            keep: dict[str, Any] = {}
            started = time.perf_counter()
            shots = spec.options.get("shots", _evaluation_shots(session, name, spec.options))
            how = _EvalOptions(
                Scoring(None if shots is None else int(shots), int(spec.options.get("seed", 0))),
                bool(spec.options.get("fidelity", False)),
                certification.methods_of(spec.options.get("certify")),
            )
            with _on_device(session, name, spec.options) as label:
                evaluation = _evaluate_model(session, name, data, spec.under, spec.span, keep, how)
                # bound here: under `device`, the captions read the noisy model's probabilities
                clean_proba = partial(
                    session.classifier(name).predict_proba, session.theta(name, spec.span)
                )
            evaluation = replace(evaluation, model=label)
            evaluations.append(evaluation)
            _say(
                f"  -> {name}: clean accuracy {evaluation.clean_accuracy:.3f} on {evaluation.n} "
                f"samples, {len(evaluation.points)} attack points "
                f"({time.perf_counter() - started:.1f} s)"
            )
            if session.options.plots and spec.options.get("plots", True):
                plots.plot_examples(session.options.out_dir, name, data, keep, clean_proba)
            if "mitigate" in spec.options:
                evaluations.append(_evaluate_mitigated(session, name, data, spec, how))
        print(robustness_table(evaluations), flush=True)
        if any(e.metrics is not None for e in evaluations):
            print(metrics_table(evaluations), flush=True)
        if any(e.certificates for e in evaluations):
            print(certified_table(evaluations), flush=True)
            suffix = "" if index == 0 else f"_{index}"
            certification.write_radii(
                session.options.out_dir / f"certified_radii{suffix}.csv", evaluations
            )
            certification.write_closest_flips(
                session.options.out_dir / f"closest_flips{suffix}.npz", evaluations
            )
        if session.options.plots and spec.options.get("plots", True):
            norms = plots.curve_norms(evaluations, dict(
                _named_plan(session, item) for item in spec.under if item != "clean"
            ))
            plots.plot_curves(session.options.out_dir, index, evaluations, norms)
            plotted.append(
                plots.PlottedStatement(index, tuple(spec.models), tuple(evaluations), norms)
            )
            suffix = "" if index == 0 else f"_{index}"
            plot_confusions(evaluations, session.options.out_dir / "plots", suffix)
        everything += evaluations
    plots.plot_combined(session.options.out_dir, plotted)
    session.results["evaluations"] = [e.to_json() for e in everything]
    return everything


def _evaluation_shots(session: Session, name: str, options: dict[str, Any]) -> int | None:
    """The default ``shots`` of an evaluation: those of the device it runs on."""
    if "device" not in options:
        return session.device_shots(name)
    return session.program.targets[options["device"]].noise.shots


@contextmanager
def _swapped(session: Session, name: str, classifier: Classifier):
    """``classifier`` stands for model ``name`` (attacks, transfers, scoring) inside the block."""
    base = session.model(name).name
    plain = session.classifier(name)
    session.classifiers[base] = classifier
    try:
        yield
    finally:
        session.classifiers[base] = plain


@contextmanager
def _on_device(session: Session, name: str, options: dict[str, Any]):
    """``evaluate { device T }`` runs ``name`` under ``T``'s noise; yields its table label."""
    from qadl.run.mitigation import device_classifier

    if "device" not in options:
        yield name
        return
    target = session.program.targets[options["device"]]
    with _swapped(session, name, device_classifier(session.model(name), target)):
        yield f"{name} @ {target.name}"


def _evaluate_mitigated(
    session: Session, name: str, data: Dataset, spec: Any, how: _EvalOptions
) -> Evaluation:
    """The same evaluation of ``name`` on its mitigated classifier, as model ``name (how)``.

    White-box attacks differentiate the mitigated outputs; a transfer replays its examples
    on them. The classifier is swapped in the cache for this one evaluation only.
    """
    from qadl.run.mitigation import evaluation_target, mitigated_classifier, parse_mitigation

    mitigation = parse_mitigation(spec.options["mitigate"])
    model = session.model(name)
    target = evaluation_target(session.program, model, spec.options)
    if target is None:  # the preflight refuses this (E0620) before any work
        raise ValueError(f"model {name!r} has no device to mitigate")
    started = time.perf_counter()
    mitigated = mitigated_classifier(model, target, mitigation, how.scoring.seed)
    with _swapped(session, name, mitigated):
        evaluation = _evaluate_model(session, name, data, spec.under, spec.span, {}, how)
    where = f" @ {target.name}" if "device" in spec.options else ""
    label = f"{name}{where} ({mitigation.label})"  # parentheses: tables read [..] as markup
    session.results.setdefault("mitigation", {})[label] = mitigation.to_json()
    _say(
        f"  -> {label}: clean accuracy {evaluation.clean_accuracy:.3f}, "
        f"{len(evaluation.points)} attack points ({time.perf_counter() - started:.1f} s)"
    )
    return replace(evaluation, model=label)


def run_program(
    program: Program, options: RunOptions, *, preread: dict[str, Dataset] | None = None
) -> dict[str, Any]:
    """Run every statement of ``program``; returns (and writes) the ``results.json`` content.

    The output directory is created and proven writable before any work, and locked for
    the whole run (a second run into it is refused with E0802). ``preread`` holds data
    files already read (``qadl.run.preflight``), by data-set name.
    """
    prepare_output_dir(options.out_dir, subdirs=("plots", "checkpoints"))
    with OutputLock(options.out_dir):
        clean_orphans(options.out_dir)
        return _run_locked(program, options, preread or {})


def _run_locked(
    program: Program, options: RunOptions, preread: dict[str, Dataset]
) -> dict[str, Any]:
    started = time.perf_counter()
    session = Session(program, options, preread=dict(preread))
    session.results.update(program=program.path, out_dir=str(options.out_dir))
    check_evaluations(session)
    check_privacy(session)
    run_trainings(session)
    run_kernel_trainings(session)
    write_json(options.out_dir / "results.json", session.results)
    run_defences(session)
    write_json(options.out_dir / "results.json", session.results)
    run_privacy(session)
    run_evaluations(session)
    session.results["seconds"] = time.perf_counter() - started
    write_json(options.out_dir / "results.json", session.results)
    _say(f"results in {options.out_dir / 'results.json'} ({session.results['seconds']:.1f} s)")
    return session.results
