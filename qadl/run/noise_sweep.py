"""``evaluate { device T; noise_scale [0, 1, 2, 3] }``: a model evaluated and attacked under
its device's noise scaled by each factor (``qadl.ir.noise_scaling`` defines the scaling).

At each scale the model is evaluated on the scaled device exactly as ``evaluate { device T }``
does (white-box attacks differentiate the noisy model), and every white-box attack is also
crafted on the noiseless model and replayed on the noisy one (``ATTACK (from noiseless)``).
With ``mitigate``, the mitigated classifier of every noisy scale is evaluated the same way
(white-box through the mitigation, and the noiseless model's examples replayed on it).
Every row goes to the statement's one robustness table; ``noise_sweep[_N].csv``,
``results.json`` (``noise_sweeps``) and ``plots/accuracy_vs_noise_scale[_N].png`` hold
accuracy against scale.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qadl.ir.noise_scaling import scaled_noise, scaling_problem
from qadl.ir.target import NoiseModel, Target
from qadl.program import Model, Program

if TYPE_CHECKING:  # the preflight imports this module: the adversary stays off `qadl check`
    from qadl.adversary.evaluate import Evaluation, RobustPoint

__all__ = ["SweepRow", "noise_scales_of", "run_sweep", "sweep_problems", "write_sweep"]

TRANSFER_SUFFIX = " (from noiseless)"
"""Label suffix of an attack crafted on the noiseless model and replayed on the noisy one."""


@dataclass(frozen=True)
class SweepRow:
    """Accuracy of one model at one noise scale under one attack and ε (clean: no attack)."""

    model: str
    """The model's name, with `` (mitigation)`` for its mitigated classifier."""
    scale: float
    attack: str
    """``clean``, an attack label, or ``LABEL (from noiseless)``."""
    epsilon: float | None
    accuracy: float

    def to_json(self) -> dict[str, Any]:
        """Field values as a JSON-ready dict."""
        return dict(self.__dict__)


def noise_scales_of(options: dict[str, Any]) -> tuple[float, ...]:
    """The checked ``noise_scale`` option as a tuple of factors."""
    value = options["noise_scale"]
    return tuple(float(v) for v in (value if isinstance(value, tuple) else (value,)))


def sweep_problems(
    program: Program, model: Model, options: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """``(code, message, help)`` for every reason the sweep of ``model`` cannot run."""
    from qadl.run.mitigation import evaluation_target, noiseless_problem, parse_mitigation

    target = evaluation_target(program, model, options)
    if target is None or target.noise.is_noiseless:
        return [
            noiseless_problem(
                "E0971", model, target, option="noise_scale", verb="scale",
                example="noise_scale [...]",
            )
        ]
    spec = parse_mitigation(options["mitigate"]) if "mitigate" in options else None
    channel = spec is not None and spec.scales is not None and spec.scaling == "channel"
    for factor in noise_scales_of(options):
        problem = scaling_problem(target.noise, factor)
        if problem is None and channel:
            problem = scaling_problem(target.noise, factor * max(spec.scales), readout=False)
            problem = problem and f"{problem} (noise scale × the largest ZNE scale)"
        if problem is None and spec is not None and spec.readout is not None:
            p01, p10 = target.noise.readout_error
            if factor > 0 and abs(1.0 - factor * (p01 + p10)) < 1e-9:
                problem = f"at noise scale {factor:g}, p01 + p10 = 1: the readout has no inverse"
        if problem is not None:
            return [
                (
                    "E0972",
                    f"`noise_scale` on device `{target.name}`: {problem}",
                    "use smaller noise scales (each scaled probability must stay ≤ 1)",
                )
            ]
    return []


def _scaled_target(target: Target, factor: float) -> Target:
    return replace(target, noise=scaled_noise(target.noise, factor))


def _label(name: str, target: Target, factor: float) -> str:
    return f"{name} @ {target.name} ×{factor:g}"


def _transfer_points(
    run: Any, noiseless: Any, name: str, data: Any, plans: dict[str, Any], start: int
) -> tuple[RobustPoint, ...]:
    """Every white-box attack crafted on ``noiseless`` and scored on the swapped-in noisy model."""
    from qadl.adversary.attacks import ClassifierOracle
    from qadl.adversary.evaluate import RobustPoint, rescored, with_fidelity
    from qadl.adversary.transfer import transfer_attack

    session, how = run.session, run.how
    clf, theta = session.classifier(name), session.theta(name, run.span)
    source = ClassifierOracle(noiseless, theta)
    points: list[RobustPoint] = []
    for label, plan in plans.items():
        for result in transfer_attack(source, clf, theta, data, plan):
            scored = rescored(result, clf, theta, data, plan, how.scoring, start + len(points))
            scored = with_fidelity(scored, clf, theta, data, how.fidelity)
            points.append(RobustPoint.from_result(label + TRANSFER_SUFFIX, scored))
    return tuple(points)


@dataclass(frozen=True)
class SweepRun:
    """What one ``evaluate`` statement's sweep needs from the run (``qadl.run.evaluations``)."""

    session: Any
    spec: Any
    """The ``evaluate`` statement."""
    how: Any
    """Its ``_EvalOptions``."""
    evaluate_model: Any
    """``(name, under) -> Evaluation`` on whatever classifier stands for ``name``."""
    swapped: Any
    """``(name, classifier)`` context manager standing ``classifier`` for ``name``."""

    @property
    def span(self):
        """The statement's span."""
        return self.spec.span


def run_sweep(run: SweepRun, name: str, data: Any) -> tuple[list[Evaluation], list[SweepRow]]:
    """Evaluations (one per scale, and per mitigated scale) and the sweep's rows of ``name``."""
    from qadl.adversary.config import AttackConfig
    from qadl.run.configs import TransferPlan
    from qadl.run.context import named_plan, say
    from qadl.run.mitigation import (
        device_classifier,
        evaluation_target,
        mitigated_classifier,
        parse_mitigation,
    )

    session, spec = run.session, run.spec
    model = session.model(name)
    target = evaluation_target(session.program, model, spec.options)
    if target is None:  # the preflight refuses this (E0971) before any work
        raise ValueError(f"model {name!r} has no device to scale")
    noiseless = device_classifier(model, replace(target, noise=NoiseModel()))
    mitigation = (
        parse_mitigation(spec.options["mitigate"]) if "mitigate" in spec.options else None
    )
    plans = {}
    for item in spec.under:
        if item != "clean":
            label, plan = named_plan(session, item, run.how.scoring.seed)
            if isinstance(plan, AttackConfig) and not isinstance(plan, TransferPlan):
                plans[label] = plan
    evaluations: list[Evaluation] = []
    rows: list[SweepRow] = []
    for factor in noise_scales_of(spec.options):
        scaled = _scaled_target(target, factor)
        label = _label(name, target, factor)
        evaluation = _at_scale(run, name, data, device_classifier(model, scaled), noiseless, plans)
        evaluations.append(replace(evaluation, model=label))
        rows += _rows(name, factor, evaluation)
        say(f"  -> {label}: clean accuracy {evaluation.clean_accuracy:.3f}")
        if mitigation is None or scaled.noise.is_noiseless:
            continue
        clf = mitigated_classifier(model, scaled, mitigation, run.how.scoring.seed)
        evaluation = _at_scale(run, name, data, clf, noiseless, plans)
        mitigated = f"{label} ({mitigation.label})"  # parentheses: tables read [..] as markup
        session.results.setdefault("mitigation", {})[mitigated] = mitigation.to_json()
        evaluations.append(replace(evaluation, model=mitigated))
        rows += _rows(f"{name} ({mitigation.label})", factor, evaluation)
        say(f"  -> {mitigated}: clean accuracy {evaluation.clean_accuracy:.3f}")
    return evaluations, rows


def _at_scale(
    run: SweepRun, name: str, data: Any, clf: Any, noiseless: Any, plans: dict[str, Any]
) -> Evaluation:
    """``name`` evaluated as ``clf``: the statement's attacks, then the noiseless transfers."""
    with run.swapped(name, clf):
        evaluation = run.evaluate_model(name, run.spec.under)
        if plans:
            extra = _transfer_points(run, noiseless, name, data, plans, len(evaluation.points))
            evaluation = replace(evaluation, points=evaluation.points + extra)
    return evaluation


def _rows(model: str, factor: float, evaluation: Evaluation) -> list[SweepRow]:
    out = [SweepRow(model, factor, "clean", None, evaluation.clean_accuracy)]
    out += [
        SweepRow(model, factor, p.attack, p.epsilon, p.robust_accuracy) for p in evaluation.points
    ]
    return out


def write_sweep(out_dir: Path, index: int, rows: list[SweepRow], plots: bool) -> None:
    """``noise_sweep[_N].csv`` and, with ``plots``, ``plots/accuracy_vs_noise_scale[_N].png``."""
    suffix = "" if index == 0 else f"_{index}"
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / f"noise_sweep{suffix}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "noise_scale", "attack", "epsilon", "accuracy"])
        for r in rows:
            eps = "" if r.epsilon is None else f"{r.epsilon:g}"
            writer.writerow([r.model, f"{r.scale:g}", r.attack, eps, f"{r.accuracy:.6g}"])
    if plots:
        plot_sweep(rows, out_dir / "plots" / f"accuracy_vs_noise_scale{suffix}.png")


def plot_sweep(rows: list[SweepRow], path: Path) -> Path:
    """Draw ``sweep_figure(rows)`` to ``path`` (PNG)."""
    fig = sweep_figure(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def sweep_figure(rows: list[SweepRow]):
    """Accuracy against noise scale: one panel per model, one line per attack and ε.

    A model's mitigated rows (``MODEL (mitigation)``) share its panel. The colour is the
    attack and ε (clean included), the same in every panel; the style says how: solid for
    the white-box attack on the noisy model, dashed for the transfer from the noiseless
    one; the mitigated model has square markers, dotted (white-box) or dash-dotted
    (transfer).
    """
    from matplotlib.figure import Figure

    panels: dict[str, dict[tuple[str, str, float | None], list[tuple[float, float]]]] = {}
    for r in rows:
        lines = panels.setdefault(r.model.split(" (", 1)[0], {})
        lines.setdefault((r.model, r.attack, r.epsilon), []).append((r.scale, r.accuracy))
    colours: dict[tuple[str, float | None], str] = {}
    fig = Figure(figsize=(4.2 * len(panels) + 3.0, 4.5))
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, (base, lines) in zip(axes, panels.items(), strict=True):
        for (model, attack, eps), points in lines.items():
            points.sort()
            transfer = attack.endswith(TRANSFER_SUFFIX)
            colour = colours.setdefault((attack.removesuffix(TRANSFER_SUFFIX), eps),
                                        f"C{len(colours) % 10}")
            mitigated = model != base
            style = ("-." if transfer else ":") if mitigated else ("--" if transfer else "-")
            how = model[len(base):].strip() or "noisy"
            name = f"{how}: {attack}" + ("" if eps is None else f" ε={eps:g}")
            ax.plot(
                [p[0] for p in points], [p[1] for p in points], style, color=colour,
                marker="s" if mitigated else "o", label=name,
            )
        ax.set_title(base)
        ax.set_xlabel("noise scale λ (0: noiseless, 1: the device)")
        ax.set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("accuracy")
    fig.suptitle("accuracy vs noise scale")
    axes[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig
