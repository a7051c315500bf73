"""Reports: the text table lists every point; the plots are real PNG files."""

from __future__ import annotations

import json

import numpy as np

from qadl.adversary.evaluate import Evaluation, RobustPoint
from qadl.adversary.report import (
    plot_accuracy_vs_epsilon,
    plot_image_grid,
    plot_training_curves,
    robustness_table,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _evaluation(model: str, accs: list[float]) -> Evaluation:
    points = [
        RobustPoint("bim-linf", eps, 10, acc, 1 - acc, eps, eps, 2 * eps, 5.0)
        for eps, acc in zip((0.05, 0.1, 0.2), accs, strict=True)
    ]
    points.append(RobustPoint("local-rotations", 0.1, 10, 0.3, 0.7, 0.1, 0.1, 0.2, 5.0, 0.97, 0.95))
    return Evaluation(model, "digits.test", 10, 0.98, tuple(points))


def test_table_lists_every_point_and_json_roundtrips():
    evs = [_evaluation("clean", [0.6, 0.3, 0.1]), _evaluation("defended", [0.95, 0.9, 0.7])]
    text = robustness_table(evs)
    assert text.count("bim-linf") == 6
    assert "0.970" in text.replace("0.9700", "0.970")
    assert "defended" in text
    data = json.loads(json.dumps([e.to_json() for e in evs]))
    assert data[1]["points"][2]["robust_accuracy"] == 0.7
    eps, acc = evs[0].curve("bim-linf")
    np.testing.assert_allclose(eps, [0.0, 0.05, 0.1, 0.2])
    np.testing.assert_allclose(acc, [0.98, 0.6, 0.3, 0.1])


def test_plots_write_png(tmp_path):
    evs = [_evaluation("clean", [0.6, 0.3, 0.1]), _evaluation("defended", [0.95, 0.9, 0.7])]
    rng = np.random.default_rng(0)
    clean = rng.random((4, 16))
    paths = [
        plot_accuracy_vs_epsilon(evs, tmp_path / "acc.png", attacks=["bim-linf"]),
        plot_image_grid(
            clean,
            clean + 0.05 * rng.normal(size=clean.shape),
            (4, 4),
            tmp_path / "grid.png",
            y=np.array([0, 1, 0, 1]),
            pred_adv=np.array([1, 1, 0, 0]),
            probs_adv=np.full((4, 2), 0.5),
        ),
        plot_training_curves(
            {
                "train_loss": [0.7, 0.5, 0.4],
                "adv_accuracy": [0.2, 0.6, 0.8],
                "note": "not a series",
            },
            tmp_path / "curves.png",
        ),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert path.stat().st_size > 5000
