"""The ``evaluate`` statements of a run: clean and robust accuracy, transfer attacks,
shots, devices and mitigation, certificates, plots."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from qadl.adversary.attacks import ClassifierOracle
from qadl.adversary.config import QuantumAttackConfig
from qadl.adversary.evaluate import (
    Evaluation,
    RobustPoint,
    Scoring,
    rescored,
    with_fidelity,
)
from qadl.adversary.fidelity import encoding_problem
from qadl.adversary.transfer import fit_surrogate
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.run import certification, configs, grid, plots
from qadl.run.context import (
    Session,
    attack_span,
    check_fits,
    check_target,
    guard_memory,
    named_plan,
    say,
)
from qadl.run.kernel_attacks import evaluate_kernel_under, scorer, training_data_of
from qadl.source import Span

__all__ = ["check_evaluations", "run_evaluations"]


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
        train_ref = training_data_of(session, target)
        kind = "logistic" if plan.surrogate == "logistic_regression" else "mlp"
        source = fit_surrogate(session.split(train_ref, span), kind, seed=plan.attack.seed)
    elif isinstance(plan.attack, QuantumAttackConfig):
        source_name = plan.source_model or target
        return grid.transfer(  # a task (run on a cluster with --workers)
            grid.runner_of(session.options), target, session.adversary(source_name),
            session.classifier(target), session.theta(target, span), data, plan.attack,
            session.theta(source_name, span),
        )
    else:  # either side may be a kernel classifier
        source = ClassifierOracle(*scorer(session, plan.source_model or target, span))
    return grid.transfer(
        grid.runner_of(session.options), target, source, *scorer(session, target, span), data,
        plan.attack,
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
    check_fits(model, data, span)
    theta = session.theta(name, span)
    white_box: dict[str, Any] = {}
    transfers: list[tuple[str, configs.TransferPlan]] = []
    for item in under:
        if item == "clean":
            continue
        label, plan = named_plan(session, item, how.scoring.seed)
        check_target(plan, model, attack_span(session, item, span))
        if isinstance(plan, configs.TransferPlan):
            transfers.append((label, plan))
        else:
            white_box[label] = plan
    adversary = session.adversary(name) if model.input_kind == "state" else None
    timing = session.results.setdefault("timing", {})
    evaluation = grid.evaluate(  # one task per attack and ε (run on a cluster with --workers)
        session.classifier(name), theta, data, white_box, runner=grid.runner_of(session.options),
        adversary=adversary, model=name,
        keep=keep, report=partial(_log_attack, timing), scoring=how.scoring,
        fidelity=how.fidelity,
    )
    extra: list[RobustPoint] = []
    for label, plan in transfers:
        start, started = len(evaluation.points) + len(extra), time.perf_counter()
        points = _transfer_points(session, label, plan, name, data, span, how, start)
        extra += points
        rows = [(p.epsilon, p.n, p.success_rate) for p in points]
        seconds = time.perf_counter() - started
        timing["attack"] = timing.get("attack", 0.0) + seconds
        say(_attack_line(label, rows, seconds))
    evaluation = replace(evaluation, points=evaluation.points + tuple(extra))
    if not how.certify:
        return evaluation
    attacks = {**white_box, **{label: plan.attack for label, plan in transfers}}
    return certification.certify_evaluation(
        evaluation, session.classifier(name), theta, data, attacks, how.certify,
        certification.noise_of(session.program, model.name),
    )


def _log_attack(
    timing: dict[str, float], label: str, results: tuple[Any, ...], seconds: float
) -> None:
    """One flushed line per finished attack, so a piped or logged run shows progress.

    The attack's seconds are added to ``timing["attack"]`` (part of the evaluate phase).
    """
    timing["attack"] = timing.get("attack", 0.0) + seconds
    say(_attack_line(label, [(r.epsilon, r.size, r.success_rate) for r in results], seconds))


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
    from qadl.adversary.report import FigureSlot, certified_table, robustness_table

    everything: list[Evaluation] = []
    plotted: list[plots.PlottedStatement] = []
    grids = FigureSlot()  # every model's image grids are drawn in one figure
    for index, spec in enumerate(session.program.evaluations):
        samples = spec.options.get("samples", session.options.max_samples)
        if session.options.max_samples is not None and samples is not None:
            samples = min(int(samples), session.options.max_samples)
        data = _limit(session.split(spec.data, spec.span), samples)
        evaluations = []
        sweep_rows: list[Any] = []
        for name in spec.models:
            say(
                f"evaluate {name} on {data.name} ({len(data)} samples) under "
                + ", ".join(i if isinstance(i, str) else i.name for i in spec.under)
            )
            if name in session.program.kernels:
                started = time.perf_counter()
                evaluations.append(evaluate_kernel_under(session, name, data, spec, {}))
                say(
                    f"  -> {name}: clean accuracy {evaluations[-1].clean_accuracy:.3f} on "
                    f"{evaluations[-1].n} samples, {len(evaluations[-1].points)} attack points "
                    f"({time.perf_counter() - started:.1f} s)"
                )
                continue
            attacked = any(item != "clean" for item in spec.under)
            guard_memory(
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
            if "noise_scale" in spec.options:
                swept, rows = _sweep(session, spec, how, name, data)
                evaluations += swept
                sweep_rows += rows
                continue
            with _on_device(session, name, spec.options) as label:
                evaluation = _evaluate_model(session, name, data, spec.under, spec.span, keep, how)
                # bound here: under `device`, the captions read the noisy model's probabilities
                clean_proba = partial(
                    session.classifier(name).predict_proba, session.theta(name, spec.span)
                )
            evaluation = replace(evaluation, model=label)
            evaluations.append(evaluation)
            say(
                f"  -> {name}: clean accuracy {evaluation.clean_accuracy:.3f} on {evaluation.n} "
                f"samples, {len(evaluation.points)} attack points "
                f"({time.perf_counter() - started:.1f} s)"
            )
            if session.options.plots and spec.options.get("plots", True):
                plots.plot_examples(
                    session.options.out_dir, name, data, keep, clean_proba, slot=grids
                )
            if "mitigate" in spec.options:
                evaluations.append(_evaluate_mitigated(session, name, data, spec, how))
        print(robustness_table(evaluations), flush=True)
        if sweep_rows:
            _write_sweep(session, index, sweep_rows, spec.options.get("plots", True))
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
                named_plan(session, item) for item in spec.under if item != "clean"
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


def _sweep(session: Session, spec: Any, how: _EvalOptions, name: str, data: Dataset):
    """``evaluate { noise_scale [...] }`` of one model (``qadl.run.noise_sweep``)."""
    from qadl.run.noise_sweep import SweepRun, run_sweep

    run = SweepRun(
        session, spec, how,
        evaluate_model=lambda n, under: _evaluate_model(
            session, n, data, under, spec.span, {}, how
        ),
        swapped=partial(_swapped, session),
    )
    return run_sweep(run, name, data)


def _write_sweep(session: Session, index: int, rows: list[Any], plots_on: bool) -> None:
    from qadl.run.noise_sweep import write_sweep

    write_sweep(session.options.out_dir, index, rows, bool(session.options.plots and plots_on))
    session.results.setdefault("noise_sweeps", []).append(
        {"evaluate": index, "rows": [r.to_json() for r in rows]}
    )


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
    say(
        f"  -> {label}: clean accuracy {evaluation.clean_accuracy:.3f}, "
        f"{len(evaluation.points)} attack points ({time.perf_counter() - started:.1f} s)"
    )
    return replace(evaluation, model=label)
