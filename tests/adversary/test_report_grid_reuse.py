"""An image grid drawn into a reused figure is pixel for pixel the grid of a new figure."""

from __future__ import annotations

import numpy as np

from qadl.adversary.figures import image_figure
from qadl.adversary.report import FigureSlot, plot_image_grid


def _grid(seed: int, k: int = 4, **kw):
    rng = np.random.default_rng(seed)
    clean = rng.random((k, 16)) * (seed + 1)
    adv = clean + 0.2 * rng.normal(size=clean.shape) * (seed + 1)
    y = rng.integers(0, 2, size=k)
    probs = rng.dirichlet([1.0, 1.0], size=k)
    return (clean, adv, (4, 4)), dict(
        y=y, pred_clean=y, probs_clean=probs, pred_adv=1 - y, probs_adv=probs[:, ::-1], **kw
    )


def _pixels(fig) -> np.ndarray:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def test_refilled_grid_draws_the_new_grids_pixels():
    args_a, kw_a = _grid(0)
    args_b, kw_b = _grid(5)
    first = image_figure(*args_a, **kw_a)
    _pixels(first)
    refilled = image_figure(*args_b, **kw_b, reuse=first)
    assert refilled is first
    fresh = _pixels(image_figure(*args_b, **kw_b))
    np.testing.assert_array_equal(_pixels(refilled), fresh)
    assert refilled.axes[4].get_title() == image_figure(*args_b, **kw_b).axes[4].get_title()


def test_another_layout_gets_a_new_figure(tmp_path):
    slot = FigureSlot()
    args, kw = _grid(1)
    plot_image_grid(*args, tmp_path / "a.png", **kw, slot=slot)
    kept = slot.figure
    plot_image_grid(*args, tmp_path / "b.png", **kw, slot=slot)
    assert slot.figure is kept
    args3, kw3 = _grid(2, k=3)
    plot_image_grid(*args3, tmp_path / "c.png", **kw3, slot=slot)
    assert slot.figure is not kept and len(slot.figure.axes) == 3 * 3 + 2
    assert image_figure(*args, **kw, reuse=object()).axes  # not a grid: a new figure
