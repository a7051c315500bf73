"""`qadl run`'s plots end to end: the norms reach the panels, statements over the same
models share a combined figure, the image grids get labels and probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qadl.adversary.figures import accuracy_figure
from qadl.cli import main
from qadl.run import plots

PROGRAM = Path(__file__).parent / "report_plots_two_norms.qadl"


def test_run_draws_per_norm_combined_and_captioned_plots(tmp_path, monkeypatch):
    curves, grids = [], []

    def record_curves(evaluations, path, **kw):
        curves.append((Path(path).name, evaluations, kw["norms"]))
        return original_curves(evaluations, path, **kw)

    def record_grid(*args, **kw):
        grids.append(kw)
        return original_grid(*args, **kw)

    original_curves, original_grid = plots.plot_accuracy_vs_epsilon, plots.plot_image_grid
    monkeypatch.setattr(plots, "plot_accuracy_vs_epsilon", record_curves)
    monkeypatch.setattr(plots, "plot_image_grid", record_grid)
    assert main(["run", str(PROGRAM), "--out", str(tmp_path), "--no-progress"]) == 0

    names = [name for name, _, _ in curves]
    assert names == ["accuracy_vs_epsilon.png", "accuracy_vs_epsilon_1.png",
                     "accuracy_vs_epsilon_combined.png"]
    for name in names:
        assert (tmp_path / "plots" / name).stat().st_size > 5000
    assert curves[0][2] == {("tiny", "small"): "linf"}
    assert curves[1][2] == {("tiny", "round"): "l2"}
    _, evaluations, norms = curves[2]
    assert [ev.model for ev in evaluations] == ["tiny (evaluate 1)", "tiny (evaluate 2)"]
    axes = accuracy_figure(evaluations, norms).get_axes()
    assert ["L∞" in axes[0].get_xlabel(), "L2" in axes[1].get_xlabel()] == [True, True]
    assert [line.get_label() for ax in axes for line in ax.lines] == [
        "tiny (evaluate 1): small", "tiny (evaluate 2): round"]

    assert len(grids) == 2
    for kw in grids:
        n = len(kw["y"])
        assert n == 6 and kw["probs_clean"].shape == kw["probs_adv"].shape == (n, 2)
        np.testing.assert_allclose(kw["probs_clean"].sum(axis=1), 1.0, atol=1e-9)
        # exact scoring: the shown predictions are the argmax of the shown probabilities
        np.testing.assert_array_equal(kw["pred_clean"], kw["probs_clean"].argmax(axis=1))
        np.testing.assert_array_equal(kw["pred_adv"], kw["probs_adv"].argmax(axis=1))
