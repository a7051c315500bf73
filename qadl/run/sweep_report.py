"""What a sweep reports: each point's numbers, their aggregate over the replicate axes, a
table and plots.

A point's numbers are read from its own ``results.json`` as flat rows, one per measured
quantity: ``{"metric", "model", "evaluation", "dataset", "attack", "epsilon", "method",
"value"}`` (absent fields are left out; ``evaluation`` is the index of the ``evaluate``
statement, so a model evaluated twice on the same data is not counted twice). Rows are
aggregated over the points that differ only in the replicate axes (``aggregate over
SEED``): mean, sample standard deviation, count and the 95% Student-t confidence interval
of the mean. Nothing here depends on wall-clock time, so
a sweep's ``results.json`` is the same bit for bit however its points were run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from qadl.run.sweep_plan import SweepPoint, group_key, value_text

__all__ = ["aggregate", "confidence_interval", "plot_sweep", "point_metrics", "sweep_table"]

ID_FIELDS = ("metric", "model", "evaluation", "dataset", "attack", "epsilon", "method")
"""The fields that name one measured quantity (all but ``value``)."""


def _row(metric: str, value: Any, **ids: Any) -> dict[str, Any] | None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return None  # not measured (None) or undefined (NaN): nothing to average
    return {"metric": metric, **{k: v for k, v in ids.items() if v is not None},
            "value": float(value)}


def point_metrics(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The numbers of one run's ``results.json``: per trained model its accuracies and
    final loss; per evaluation its clean accuracy, robust accuracy and attack success rate
    per attack and ε, and certified accuracy per method, attack and ε."""
    rows: list[dict[str, Any] | None] = []
    for name, model in results.get("models", {}).items():
        for metric in ("clean_train_accuracy", "clean_test_accuracy"):
            rows.append(_row(metric, model.get(metric), model=name))
        losses = model.get("history", {}).get("loss") or [None]
        rows.append(_row("final_loss", losses[-1], model=name))
    for index, ev in enumerate(results.get("evaluations", [])):
        where = {"model": ev.get("model"), "evaluation": index, "dataset": ev.get("dataset")}
        rows.append(_row("clean_accuracy", ev.get("clean_accuracy"), **where))
        for p in ev.get("points", []):
            at = {**where, "attack": p.get("attack"), "epsilon": p.get("epsilon")}
            rows.append(_row("robust_accuracy", p.get("robust_accuracy"), **at))
            rows.append(_row("success_rate", p.get("success_rate"), **at))
        for c in ev.get("certified", []):
            at = {**where, "attack": c.get("attack"), "epsilon": c.get("epsilon"),
                  "method": c.get("method")}
            rows.append(_row("certified_accuracy", c.get("certified_accuracy"), **at))
    return [r for r in rows if r is not None]


def confidence_interval(values: Sequence[float], level: float = 0.95):
    """``(mean, std, (low, high))``: the sample mean, the sample standard deviation
    (ddof 1) and the Student-t interval of the mean; std and interval are None for one value."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, None, None
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    from scipy.stats import t

    half = float(t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return mean, std, (mean - half, mean + half)


def _ident(row: Mapping[str, Any]) -> tuple:
    return tuple(row.get(k) for k in ID_FIELDS)


def aggregate(
    points: Sequence[SweepPoint], metrics: Mapping[str, list[dict[str, Any]]],
    replicate: tuple[str, ...],
) -> list[dict[str, Any]]:
    """One entry per group of points that differ only in the ``replicate`` axes (every
    point alone when there are none): its bindings and, per quantity, mean, std, n and
    the 95% confidence interval, in the order the quantities first appear."""
    groups: dict[tuple, list[SweepPoint]] = {}
    for p in points:
        rest = tuple((n, repr(v)) for n, v in p.bindings if n not in replicate)
        groups.setdefault(rest, []).append(p)
    out = []
    for members in groups.values():
        values: dict[tuple, list[float]] = {}
        first: dict[tuple, dict[str, Any]] = {}
        for p in members:
            for row in metrics[p.key]:
                ident = _ident(row)
                values.setdefault(ident, []).append(row["value"])
                first.setdefault(ident, {k: v for k, v in row.items() if k != "value"})
        entries = []
        for ident, vals in values.items():
            mean, std, ci = confidence_interval(vals)
            entries.append({**first[ident], "mean": mean, "std": std, "n": len(vals),
                            "ci95": None if ci is None else list(ci)})
        head = members[0]
        out.append({
            "key": group_key(head, replicate),
            "bindings": {n: v for n, v in head.bindings if n not in replicate},
            "points": [p.key for p in members],
            "metrics": entries,
        })
    return out


_SHOWN = {"clean_test_accuracy": "test accuracy", "final_loss": "final loss",
          "clean_accuracy": "accuracy", "robust_accuracy": "accuracy",
          "certified_accuracy": "certified"}
"""Quantities the console table shows, by their column text (results.json has every one)."""


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def sweep_table(groups: Sequence[Mapping[str, Any]], replicate: tuple[str, ...]):
    """A rich table: per group and quantity, mean ± std and the 95% interval over the
    replicate axes."""
    from rich.table import Table

    over = f" over {', '.join(replicate)}" if replicate else ""
    table = Table(title=f"sweep: mean ± std{over} (95% CI, Student t)")
    for col in ("point", "model", "attack", "eps", "measure", "mean ± std", "95% CI", "n"):
        table.add_column(col, justify="right" if col in ("eps", "n") else "left")
    for g in groups:
        shown = set()
        for m in g["metrics"]:
            # a model's clean accuracy on the same data, from a second `evaluate`, once
            same = (m["metric"], m.get("model"), m.get("dataset"), m.get("attack"),
                    m.get("epsilon"), m.get("method"), m["mean"], m["std"])
            if m["metric"] not in _SHOWN or same in shown:
                continue
            shown.add(same)
            ci = m["ci95"]
            attack = m.get("attack", "clean" if m["metric"] == "clean_accuracy" else "-")
            table.add_row(
                g["key"], m.get("model", "-"), attack,
                "-" if m.get("epsilon") is None else f"{m['epsilon']:g}",
                _SHOWN[m["metric"]] + (f" ({m['method']})" if "method" in m else ""),
                _fmt(m["mean"]) + ("" if m["std"] is None else f" ± {m['std']:.3f}"),
                "-" if ci is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]",
                str(m["n"]),
            )
    return table


def plot_sweep(out_dir, groups: Sequence[Mapping[str, Any]], axes: Sequence[Any],
               replicate: tuple[str, ...]) -> list:
    """``plots/sweep_accuracy_vs_epsilon.png`` (mean robust accuracy per attack with a
    ± std band) and ``plots/sweep_<AXIS>.png`` for every numeric non-replicate axis
    (clean accuracy and final loss against its values); returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    path = _plot_epsilon(plt, out_dir, groups, replicate)
    if path is not None:
        written.append(path)
    for axis in axes:
        if axis.name in replicate or len(axis.values) < 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in axis.values
        ):
            continue
        written.append(_plot_axis(plt, out_dir, groups, axis, replicate))
    return written


def _curves(groups: Sequence[Mapping[str, Any]]) -> dict[tuple, list[tuple]]:
    """(group key, model, evaluation, attack) -> [(ε, mean, std)], ε = 0 the clean accuracy."""
    curves: dict[tuple, list[tuple]] = {}
    for g in groups:
        clean = {(m["model"], m.get("evaluation")): m for m in g["metrics"]
                 if m["metric"] == "clean_accuracy"}
        for m in g["metrics"]:
            if m["metric"] != "robust_accuracy" or m.get("epsilon") is None:
                continue
            base = (m["model"], m.get("evaluation"))
            line = curves.setdefault((g["key"], *base, m["attack"]), [])
            if not line and base in clean:
                line.append((0.0, clean[base]["mean"], clean[base]["std"]))
            line.append((m["epsilon"], m["mean"], m["std"]))
    return curves


def _plot_epsilon(plt, out_dir, groups, replicate):
    curves = _curves(groups)
    if not curves:
        return None
    models = list(dict.fromkeys(k[1] for k in curves))
    fig, axs = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, model in zip(axs[0], models, strict=True):
        for (gkey, m, _evaluation, attack), line in curves.items():
            if m != model:
                continue
            line = sorted(line)
            eps = [p[0] for p in line]
            mean = [p[1] for p in line]
            std = [p[2] or 0.0 for p in line]
            label = attack if len(groups) == 1 else f"{attack} ({gkey})"
            (drawn,) = ax.plot(eps, mean, marker="o", label=label)
            ax.fill_between(eps, [a - s for a, s in zip(mean, std, strict=True)],
                            [a + s for a, s in zip(mean, std, strict=True)],
                            color=drawn.get_color(), alpha=0.2)
        ax.set(title=model, xlabel="ε", ylabel="robust accuracy", ylim=(-0.02, 1.02))
        ax.legend(fontsize="small")
    over = f"mean ± std over {', '.join(replicate)}" if replicate else "one run per point"
    fig.suptitle(f"accuracy vs ε ({over})")
    fig.tight_layout()
    path = out_dir / "plots" / "sweep_accuracy_vs_epsilon.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _plot_axis(plt, out_dir, groups, axis, replicate):
    fig, (acc_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 4))
    lines: dict[tuple, list[tuple]] = {}
    for g in groups:
        x = g["bindings"][axis.name]
        others = ",".join(f"{n}={value_text(v)}" for n, v in g["bindings"].items()
                          if n != axis.name)
        seen = set()
        for m in g["metrics"]:
            # one clean accuracy per model (a second `evaluate` on other data is skipped)
            if m["metric"] in ("clean_accuracy", "final_loss") and (
                    m["metric"], m["model"]) not in seen:
                seen.add((m["metric"], m["model"]))
                lines.setdefault((m["metric"], m["model"], others), []).append(
                    (x, m["mean"], m["std"] or 0.0))
    for (metric, model, others), pts in lines.items():
        pts.sort()
        ax = acc_ax if metric == "clean_accuracy" else loss_ax
        ax.errorbar([p[0] for p in pts], [p[1] for p in pts], yerr=[p[2] for p in pts],
                    marker="o", capsize=3, label=model + (f" ({others})" if others else ""))
    acc_ax.set(xlabel=axis.name, ylabel="clean accuracy", ylim=(-0.02, 1.02))
    loss_ax.set(xlabel=axis.name, ylabel="final training loss")
    if min(axis.values) > 0 and max(axis.values) >= 10 * min(axis.values):
        for ax in (acc_ax, loss_ax):  # learning rates, shots: values spread over decades
            ax.set_xscale("log")
    for ax in (acc_ax, loss_ax):
        if ax.has_data():
            ax.legend(fontsize="small")
    over = f"mean ± std over {', '.join(replicate)}" if replicate else "one run per point"
    fig.suptitle(f"{axis.name} ({over})")
    fig.tight_layout()
    path = out_dir / "plots" / f"sweep_{_safe(axis.name)}.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _safe(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in name)
