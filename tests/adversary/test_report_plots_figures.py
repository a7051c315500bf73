"""The report figures, read off the matplotlib objects: panels per norm, labelled axes,
legends outside the data, distinct styles, colour bars, captions, integer epoch ticks.

The figures are built without pyplot and drawn on an Agg canvas: no display is needed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba

from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.evaluate import Evaluation, RobustPoint
from qadl.adversary.figures import (
    accuracy_figure,
    attack_norm,
    image_figure,
    training_figure,
)
from qadl.program import CallValue
from qadl.run.configs import attack_plan
from qadl.run.plots import PlottedStatement, curve_norms, plot_combined

ATTACKS = {
    "fgsm_inf": AttackConfig("fgsm", norm="linf", epsilon=(0.05, 0.1)),
    "pgd_2": AttackConfig("pgd", norm="l2", epsilon=(0.05, 0.1)),
    "rot": QuantumAttackConfig(epsilon=(0.05, 0.1)),
}


def _evaluation(model: str, base: float, dataset: str = "test") -> Evaluation:
    points = tuple(
        RobustPoint(attack, eps, 10, base - eps * (k + 1), 0.5, eps, eps, eps, 5.0)
        for k, attack in enumerate(ATTACKS)
        for eps in (0.05, 0.1)
    )
    return Evaluation(model, dataset, 10, base, points)


def _rendered(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_attack_norms():
    assert [attack_norm(c) for c in ATTACKS.values()] == ["linf", "l2", "angle"]
    assert attack_norm(AttackConfig("gradient_steps", epsilon=None)) is None
    assert attack_norm(SimpleNamespace(attack=None)) is None
    # the configs `qadl run` builds from attack blocks and inline calls
    plans = {m: attack_plan(CallValue(m), {}) for m in ("local_rotations", "pgd", "fgsm")}
    assert [attack_norm(plan) for plan in plans.values()] == ["angle", "linf", "linf"]


def test_one_panel_per_norm_with_norm_on_the_axis_and_legend_outside():
    evs = [_evaluation("clean", 0.9), _evaluation("defended", 0.95)]
    fig = accuracy_figure(evs, curve_norms(evs, ATTACKS))
    axes = fig.get_axes()
    assert len(axes) == 3
    assert ["L∞" in axes[0].get_xlabel(), "L2" in axes[1].get_xlabel()] == [True, True]
    assert "angle" in axes[2].get_xlabel()
    renderer = _rendered(fig)
    for ax in axes:
        # every panel holds exactly its own norm's attack, for both models
        labels = [line.get_label() for line in ax.lines]
        assert len(labels) == 2 and {lab.split(": ")[0] for lab in labels} == {"clean", "defended"}
        legend = ax.get_legend()
        assert legend is not None
        box, data = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert box.x0 >= data.x1 - 1e-6  # entirely right of the data area
        assert [t.get_text() for t in legend.get_texts()] == labels


def test_every_line_has_its_own_colour_and_marker():
    evs = [_evaluation(f"m{i}", 0.9) for i in range(3)]
    fig = accuracy_figure(evs, curve_norms(evs, ATTACKS))
    lines = [line for ax in fig.get_axes() for line in ax.lines]
    assert len(lines) == 9
    colours = [to_rgba(line.get_color()) for line in lines]
    markers = [line.get_marker() for line in lines]
    assert len(set(colours)) == 9
    assert len(set(markers)) == 7  # 7 markers, then they repeat with another colour
    assert len(set(zip(colours, markers, strict=True))) == 9


def test_unknown_norm_gets_its_own_plain_panel():
    evs = [_evaluation("clean", 0.9)]
    norms = {("clean", "fgsm_inf"): "linf"}  # the other two unknown
    axes = accuracy_figure(evs, norms).get_axes()
    assert [ax.get_xlabel() for ax in axes][1] == "ε"
    assert len(axes) == 2 and len(axes[1].lines) == 2


def test_certified_curve_drawn_dashed_in_the_attack_colour():
    cert = SimpleNamespace(attack="fgsm_inf", method="lipschitz",
                           epsilons=(0.0, 0.05, 0.1), accuracy=(0.9, 0.5, 0.2))
    ev = _evaluation("clean", 0.9)
    ev = Evaluation(ev.model, ev.dataset, ev.n, ev.clean_accuracy, ev.points,
                    certified_curves=(cert,))
    ax = accuracy_figure([ev], curve_norms([ev], ATTACKS)).get_axes()[0]
    solid, dashed = ax.lines
    assert dashed.get_linestyle() == "--" and "certified (lipschitz)" in dashed.get_label()
    assert to_rgba(dashed.get_color()) == to_rgba(solid.get_color())


def test_combined_figure_of_statements_over_the_same_models(tmp_path):
    def statement(index, models):
        evs = tuple(_evaluation(m, 0.9) for m in models)
        return PlottedStatement(index, models, evs, curve_norms(evs, ATTACKS))

    written = plot_combined(tmp_path, [statement(0, ("a", "b")), statement(1, ("c",)),
                                       statement(2, ("b", "a"))])
    assert [p.name for p in written] == ["accuracy_vs_epsilon_combined.png"]
    assert written[0].stat().st_size > 5000
    single = plot_combined(tmp_path, [statement(0, ("a",)), statement(1, ("b",))])
    assert single == []


def test_image_figure_titles_and_colour_bars():
    rng = np.random.default_rng(0)
    clean = rng.random((3, 16))
    adv = clean + 0.1 * rng.normal(size=clean.shape)
    probs_clean = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    probs_adv = np.array([[0.35, 0.65], [0.3, 0.7], [0.45, 0.55]])
    fig = image_figure(
        clean, adv, (4, 4), y=np.array([0, 1, 0]), pred_clean=np.array([0, 1, 0]),
        probs_clean=probs_clean, pred_adv=np.array([1, 1, 1]), probs_adv=probs_adv,
    )
    images = [ax for ax in fig.get_axes() if ax.images]
    bars = [ax for ax in fig.get_axes() if not ax.images]
    assert len(images) == 9 and len(bars) == 2
    titles = [ax.get_title() for ax in images[:6]]
    assert titles[0] == "clean: y=0 ŷ=0\np(0)=0.80"
    assert titles[3] == "adversarial: y=0 ŷ=1\np(1)=0.65 p(0)=0.35"
    diff = images[6].images[0]
    vmin, vmax = diff.get_clim()
    assert vmin == pytest.approx(-vmax) and vmax == pytest.approx(np.abs(adv - clean).max())
    assert diff.get_cmap().name == "RdBu_r"
    assert images[0].images[0].get_clim() == images[3].images[0].get_clim()


def test_training_epochs_are_integer_ticks():
    fig = training_figure({"train_loss": [0.7, 0.5, 0.4], "val_accuracy": [0.2, 0.6, 0.8]})
    _rendered(fig)
    for ax in fig.get_axes():
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert ax.get_xlabel() == "epoch" and len(ax.lines) == 1
