"""The ``train`` and ``defend`` statements of a run: fitting, checkpoints, records, plots."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qadl.adversary.defend import adversarial_training
from qadl.errors import QadlError
from qadl.learn.checkpoint import CheckpointError
from qadl.learn.data import Dataset
from qadl.learn.train import DivergedError, TrainResult, ValidationSplitError, fit
from qadl.learn.train import evaluate as clean_metrics
from qadl.run import configs
from qadl.run.context import (
    Session,
    attack_span,
    check_fits,
    check_target,
    guard_memory,
    named_plan,
    say,
    test_split,
)
from qadl.run.dp_training import dp_text, training_dp_record
from qadl.run.federated import run_federated
from qadl.run.mitigated_training import mitigation_record, training_classifier
from qadl.run.outputs import write_params
from qadl.source import Span

__all__ = ["run_defences", "run_trainings"]


def _defence_inputs(session: Session, spec: Any) -> tuple[Dataset, Dataset | None, Any]:
    """The training data, test split and checked training config of a ``defend`` statement."""
    out = session.options.out_dir
    train_ref = next((t.data for t in session.program.trainings if t.model == spec.model), None)
    if train_ref is None:
        raise QadlError.at("E0723", f"model `{spec.model}` is never trained", spec.span)
    train = session.split(train_ref, spec.span)
    test = test_split(session, train_ref, spec.span)
    config = configs.train_config(
        spec.options,
        checkpoint_dir=out / "checkpoints" / spec.result,
        resume=session.options.resume,
        epochs=int(spec.method.as_dict().get("epochs", 20)),
        max_epochs=session.options.max_epochs,
        out_dir=out,
        device_shots=session.device_shots(spec.model),
    )
    guard_memory(
        session, spec.model, _in_flight(config, train), True, spec.span,
        f"defending `{spec.model}`",
    )
    return train, test, config


def _record_defence(
    session: Session,
    spec: Any,
    result: TrainResult,
    train: Dataset,
    test: Dataset | None,
    **details: Any,
) -> None:
    """Keep, save, record, report and plot the θ a defence trained."""
    session.thetas[spec.result] = result.theta
    write_params(session.options.out_dir / f"{spec.result}.params.npz", result.theta)
    record = _train_record(session, spec.result, result, train, test)
    record.update(defended_from=spec.model, **details)
    session.results.setdefault("models", {})[spec.result] = record
    say(
        f"  -> {spec.result}: train accuracy {record['clean_train_accuracy']:.3f}"
        + (f", test accuracy {record['clean_test_accuracy']:.3f}" if test is not None else "")
    )
    _plot_training(session, spec.result, result)


def _margin_training(session: Session, spec: Any, clean_theta: Any) -> None:
    """``defend m with margin_training(...)``: fine-tune θ on loss + λ·hinge(κ − radius)."""
    from dataclasses import replace

    from qadl.run.margin_defence import margin_loss

    model = session.model(spec.model)
    train, test, config = _defence_inputs(session, spec)
    loss = margin_loss(spec, model.circuit, clean_theta, config.loss)
    config = replace(config, loss=loss)
    say(
        f"defend {spec.model} as {spec.result}: margin training ({loss.certify} radius, "
        f"λ = {loss.weight}, κ = {loss.margin}), {config.epochs} epochs"
    )
    result = _fine_tune(session, spec, clean_theta, train, test, config)
    _record_defence(
        session, spec, result, train, test, method="margin_training", certify=loss.certify,
        weight=loss.weight, margin=loss.margin, lipschitz=loss.lipschitz,
    )


def _lipschitz_regularisation(session: Session, spec: Any, clean_theta: Any) -> None:
    """``defend m with lipschitz_regularisation(...)``: fine-tune θ on loss + λ·L₂(θ)."""
    from dataclasses import replace

    from qadl.run.margin_defence import lipschitz_penalty

    model = session.model(spec.model)
    train, test, config = _defence_inputs(session, spec)
    penalty = lipschitz_penalty(spec, model.circuit)
    config = replace(config, penalty=penalty)
    start = penalty.constant(clean_theta)[0]
    say(
        f"defend {spec.model} as {spec.result}: Lipschitz regularisation (λ = {penalty.weight}, "
        f"L₂ = {start:.3g} at the start), {config.epochs} epochs"
    )
    result = _fine_tune(session, spec, clean_theta, train, test, config)
    _record_defence(
        session, spec, result, train, test, method="lipschitz_regularisation",
        weight=penalty.weight, lipschitz_start=start,
        lipschitz=penalty.constant(result.theta)[0],
    )


def _fine_tune(
    session: Session, spec: Any, clean_theta: Any, train: Dataset, test: Dataset | None,
    config: Any,
) -> TrainResult:
    """Fit ``spec.model``'s classifier from its clean θ with a certified defence's config."""
    with _training(spec.span, config, session.options.out_dir):
        return fit(
            session.classifier(spec.model), clean_theta, train, config,
            test=test, progress=session.options.progress,
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
    with training_errors(span), _resumable(span, Path(config.checkpoint_dir or out)):
        yield


@contextmanager
def training_errors(span: Span):
    """A diverged or unsplittable training is a located user error (E0516, E0517)."""
    try:
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


def _in_flight(config: Any, train: Dataset) -> int:
    """Samples a training simulates together: a mini-batch, or an evaluation chunk."""
    return max(config.batch, min(config.eval_chunk, len(train)))


def run_trainings(session: Session) -> None:
    """Every ``train`` statement, in order; θ and a record per model."""
    out = session.options.out_dir
    for spec in session.program.trainings:
        model = session.model(spec.model)
        train = session.split(spec.data, spec.span)
        check_fits(model, train, spec.span)
        test = test_split(session, spec.data, spec.span)
        config = configs.train_config(
            spec.options,
            checkpoint_dir=out / "checkpoints" / spec.model,
            resume=session.options.resume,
            max_epochs=session.options.max_epochs,
            out_dir=out,
            device_shots=session.device_shots(spec.model),
        )
        guard_memory(
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
        if "mitigate" in spec.options:  # the accuracies above: θ on the unmitigated device
            record["mitigation"] = mitigation_record(spec)
        if config.dp is not None:
            fed = session.results["federated"][spec.model] if "federated" in spec.options else None
            record["dp"] = training_dp_record(config, train, result, fed)
            if fed is not None:  # the updates it recorded are DP-SGD releases
                fed["dp"] = record["dp"]
        say(
            f"  -> train accuracy {record['clean_train_accuracy']:.3f}"
            + (f", test accuracy {record['clean_test_accuracy']:.3f}" if test is not None else "")
            + f" ({record['seconds']:.1f} s)"
        )
        if config.dp is not None:
            say(dp_text(record["dp"]))
        _plot_training(session, spec.model, result)


def _fit(
    session: Session, spec: Any, config: Any, train: Dataset, test: Dataset | None
) -> TrainResult:
    """Centralized training of one ``train`` statement."""
    model = session.model(spec.model)
    say(
        f"train {spec.model} on {train.name}: {config.epochs} epochs, batch {config.batch}, "
        f"{model.num_params} parameters, {model.num_qubits} qubits"
    )
    with _training(spec.span, config, session.options.out_dir):
        return fit(
            training_classifier(session, spec),  # `mitigate`: through the mitigation
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


def run_defences(session: Session) -> None:
    """Every ``defend`` statement: adversarial training of a copy of a trained model."""
    out = session.options.out_dir
    for spec in session.program.defences:
        clean_theta = session.theta(spec.model, spec.span)
        model = session.model(spec.model)
        session.base[spec.result] = model.name
        kw = spec.method.as_dict()
        if spec.method.name == "margin_training":
            _margin_training(session, spec, clean_theta)
            continue
        if spec.method.name == "lipschitz_regularisation":
            _lipschitz_regularisation(session, spec, clean_theta)
            continue
        attack_name, plan = named_plan(session, kw.get("attack", "pgd"))
        check_target(plan, model, attack_span(session, kw.get("attack"), spec.span))
        defence = configs.defence_config(spec, plan)
        train, test, config = _defence_inputs(session, spec)
        say(
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
        _record_defence(
            session, spec, result.training, train, test,
            attack=attack_name, mode=defence.mode, ratio=defence.ratio,
        )
