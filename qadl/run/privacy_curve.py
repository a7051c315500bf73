"""The privacy–utility curve: ``attack NAME on MODEL { method privacy_utility(...) }``.

For every noise multiplier σ of ``noise``, the model is trained again from its initial θ
with its own ``train`` statement (centralized or federated) plus DP-SGD at ``clip_norm``
and σ; the point records the accountant's (ε, δ) of that run, its accuracy, and the
success of every named attack on it: a gradient inversion attacks the DP-SGD release
(clip and σ of the point) at the point's θ, a membership inference scores the point's θ.
σ = 0 trains with clipping only (no guarantee). One plot shows accuracy against attack
success, with σ and ε at every point.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from qadl.learn.dp import DPConfig
from qadl.learn.federated import federated_fit
from qadl.learn.train import evaluate as clean_metrics
from qadl.learn.train import fit
from qadl.program import AttackSpec
from qadl.run import configs
from qadl.run.context import say, test_split
from qadl.run.dp_training import training_dp_record
from qadl.run.federated import federated_config
from qadl.run.privacy import attack_record

__all__ = ["curve_table", "run_curve", "success_of"]


def success_of(record: dict[str, Any]) -> float:
    """An attack's success: the fraction of inputs recovered, or the membership AUC."""
    if record["method"] == "membership_inference":
        return float(record["auc"])
    return float(record["recovered_fraction"])


def run_curve(session: Any, spec: AttackSpec) -> dict[str, Any]:
    """Every point of the curve, the record and the plot (see the module docstring)."""
    training = next(t for t in session.program.trainings if t.model == spec.model)
    kw = spec.method.as_dict()
    own = training.options.get("dp")
    own = own.as_dict() if own is not None else {}
    clip = float(kw.get("clip_norm", own.get("clip", 1.0)))
    delta = float(kw.get("delta", own.get("delta", 1e-5)))
    levels = kw["noise"] if isinstance(kw["noise"], tuple) else (kw["noise"],)
    names = kw["attacks"] if isinstance(kw["attacks"], tuple) else (kw["attacks"],)
    attacks = [session.program.attacks[n] for n in names]
    say(
        f"attack {spec.name} on {spec.model}: privacy-utility curve, DP-SGD clip {clip:g} at "
        f"noise {', '.join(f'{float(s):g}' for s in levels)}; attacks {', '.join(names)}"
    )
    points = [
        _point(session, spec, training, attacks, DPConfig(clip, float(sigma), delta))
        for sigma in levels
    ]
    record = {
        "model": spec.model,
        "method": spec.method.name,
        "clip_norm": clip,
        "delta": delta,
        "attacks": list(names),
        "accuracy_on": "test" if test_split(session, training.data, spec.span) else "train",
        "points": points,
    }
    if session.options.plots:
        path = session.options.out_dir / "plots" / f"{spec.name}_privacy_utility.png"
        plot_curve(record, path, title=f"privacy-utility curve of {spec.model}")
        record["plot"] = str(path.relative_to(session.options.out_dir))
    return record


def _point(
    session: Any, spec: AttackSpec, training: Any, attacks: list[AttackSpec], dp: DPConfig
) -> dict[str, Any]:
    """Train with ``dp``, measure accuracy and ε, run every attack on the result."""
    model = session.model(spec.model)
    train = session.split(training.data, spec.span)
    test = test_split(session, training.data, spec.span)
    config = configs.train_config(
        training.options,
        checkpoint_dir=None,
        resume=False,
        max_epochs=session.options.max_epochs,
        out_dir=session.options.out_dir,
        device_shots=session.device_shots(spec.model),
    )
    config = replace(config, dp=dp, checkpoint_dir=None, resume=False)
    clf = session.classifier(spec.model)
    theta0 = model.initial_params(config.seed)
    federated = None
    if "federated" in training.options:
        fed = federated_config(training.options["federated"], session.options.max_epochs)
        out = federated_fit(clf, theta0, train, config, fed, progress=False)
        result = out.training
        federated = {"local_steps": fed.local_steps, "client_sizes": out.sizes.tolist()}
    else:
        result = fit(clf, theta0, train, config, progress=False)
    accounting = training_dp_record(config, train, result, federated)
    measured = test if test is not None else train
    accuracy = clean_metrics(clf, result.theta, measured, loss=config.loss)[1]
    release = {"clip_norm": dp.clip, "noise": dp.noise, "delta": dp.delta}
    records = {}
    for attack in attacks:
        own = attack.method.as_dict()
        records[attack.name] = attack_record(
            session, attack, theta=result.theta, release={**own, **release}
        )
    eps = accounting["epsilon"]
    say(
        f"  noise {dp.noise:g}: ε = {'∞' if eps is None else f'{eps:.3g}'}, accuracy "
        f"{accuracy:.3f}; " + ", ".join(f"{n} {_success_text(r)}" for n, r in records.items())
    )
    return {
        "noise": dp.noise,
        "epsilon": eps,
        "steps": accounting["steps"],
        "accuracy": accuracy,
        "attacks": {n: _summary(r) for n, r in records.items()},
    }


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    """The numbers of one attack at one point."""
    if record["method"] == "membership_inference":
        keys = ("method", "auc", "advantage", "members")
    else:
        keys = ("method", "recovered_fraction", "median_error", "inputs")
    return {k: record[k] for k in keys} | {"success": success_of(record)}


def _success_text(record: dict[str, Any]) -> str:
    if record["method"] == "membership_inference":
        return f"AUC {record['auc']:.3f}"
    return f"recovered {record['recovered_fraction']:.3f}"


def curve_table(name: str, record: dict[str, Any]) -> str:
    """One row per noise level: σ, ε, accuracy and every attack's success."""
    names = record["attacks"]
    head = f"{name:<18} {'noise':>6} {'ε':>8} {'accuracy':>8} " + " ".join(
        f"{n[:12]:>12}" for n in names
    )
    rows = [head, "-" * len(head)]
    for p in record["points"]:
        eps = "∞" if p["epsilon"] is None else f"{p['epsilon']:.3g}"
        rows.append(
            f"{'':<18} {p['noise']:>6g} {eps:>8} {p['accuracy']:>8.3f} "
            + " ".join(f"{p['attacks'][n]['success']:>12.3f}" for n in names)
        )
    return "\n".join(rows)


def plot_curve(record: dict[str, Any], path: Path, *, title: str) -> Path:
    """Accuracy (y) against attack success (x), one line per attack through the noise
    levels, every point labelled with σ and ε."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.5))
    accuracy = np.array([p["accuracy"] for p in record["points"]])
    for name in record["attacks"]:
        success = np.array([p["attacks"][name]["success"] for p in record["points"]])
        method = record["points"][0]["attacks"][name]["method"]
        label = f"{name} ({'AUC' if method == 'membership_inference' else 'recovered'})"
        ax.plot(success, accuracy, marker="o", label=label)
        if name != record["attacks"][0]:  # a point's σ and ε once, on the first attack's line
            continue
        for p, x, y in zip(record["points"], success, accuracy, strict=True):
            eps = "∞" if p["epsilon"] is None else f"{p['epsilon']:.3g}"
            ax.annotate(
                f"σ={p['noise']:g}, ε={eps}",
                (x, y),
                fontsize=7,
                textcoords="offset points",
                xytext=(4, 4),
            )
    ax.set_xlabel("attack success (fraction recovered, or membership AUC)")
    ax.set_ylabel(f"{record['accuracy_on']} accuracy")
    ax.set_xlim(-0.05, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
