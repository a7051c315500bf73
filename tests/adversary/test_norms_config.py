"""Pure geometry and option records: projections, steps, random points, schedules."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary import norms
from qadl.adversary.config import AdversarialTrainingConfig, AttackConfig, QuantumAttackConfig


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_projection_lands_in_ball_and_fixes_inside_points(norm):
    rng = np.random.default_rng(1)
    delta = rng.normal(size=(50, 7))
    out = norms.project(delta, norm, 0.3)
    linf, l2 = norms.perturbation_norms(out)
    size = linf if norm == "linf" else l2
    assert np.all(size <= 0.3 + 1e-12)
    small = 0.01 * delta / np.max(np.abs(delta))
    np.testing.assert_allclose(norms.project(small, norm, 0.3), small)


def test_l2_projection_is_nearest_point():
    """For L2 the projection is radial: the result is parallel to the input."""
    delta = np.array([[3.0, 4.0]])
    np.testing.assert_allclose(norms.project(delta, "l2", 1.0), [[0.6, 0.8]])


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_steepest_step_has_exact_size_and_positive_inner_product(norm):
    rng = np.random.default_rng(2)
    g = rng.normal(size=(20, 5))
    step = norms.steepest_step(g, norm, 0.05)
    linf, l2 = norms.perturbation_norms(step)
    np.testing.assert_allclose(linf if norm == "linf" else l2, 0.05)
    assert np.all(np.sum(step * g, axis=1) > 0)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_random_points(norm):
    rng = np.random.default_rng(3)
    inside = norms.random_in_ball(rng, (200, 4), norm, 0.2)
    on = norms.random_on_sphere(rng, (200, 4), norm, 0.2)
    size_in = norms.perturbation_norms(inside)[0 if norm == "linf" else 1]
    size_on = norms.perturbation_norms(on)[0 if norm == "linf" else 1]
    assert np.all(size_in <= 0.2 + 1e-12)
    assert size_in.std() > 0.0
    np.testing.assert_allclose(size_on, 0.2)


def test_clip_and_renormalize():
    x = np.array([[-0.5, 0.5, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(norms.clip_to_range(x, (0.0, 1.0)), [[0, 0.5, 1.0], [0, 0, 0]])
    unit = norms.renormalize_rows(x)
    np.testing.assert_allclose(np.linalg.norm(unit[0]), 1.0)
    np.testing.assert_allclose(unit[1], 0.0)


def test_l1_normalize_mean_abs_is_one():
    g = np.array([[1.0, -3.0], [0.0, 0.0]])
    out = norms.l1_normalize(g)
    np.testing.assert_allclose(np.mean(np.abs(out[0])), 1.0)
    np.testing.assert_allclose(out[1], 0.0)


def test_attack_config_defaults_and_validation():
    pgd = AttackConfig("pgd", epsilon=(0.1, 0.2), steps=10)
    assert pgd.epsilons == (0.1, 0.2)
    assert pgd.alpha(0.1) == pytest.approx(0.025)
    assert pgd.starts_random
    assert AttackConfig("bim", epsilon=0.1, steps=10).alpha(0.1) == pytest.approx(0.01)
    assert AttackConfig("fgsm", epsilon=0.3, steps=7).num_steps == 1
    assert pgd.at(0.2).epsilons == (0.2,)
    assert not AttackConfig("gradient_steps", epsilon=None).bounded
    with pytest.raises(ValueError, match="epsilon"):
        AttackConfig("fgsm", epsilon=None)
    with pytest.raises(ValueError, match="target"):
        AttackConfig("pgd", targeted=True)
    with pytest.raises(ValueError, match="method"):
        AttackConfig("cw")
    with pytest.raises(ValueError, match="until_confidence"):
        AttackConfig("bim", until_confidence=1.5)


def test_quantum_and_training_configs():
    q = QuantumAttackConfig(epsilon=(0.1, 0.3), steps=10)
    assert q.epsilons == (0.1, 0.3)
    assert q.alpha(0.1) == pytest.approx(0.025)
    with pytest.raises(ValueError):
        QuantumAttackConfig(fidelity_min=1.2)
    ramp = AdversarialTrainingConfig(AttackConfig("fgsm"), schedule="linear", ramp_fraction=0.5)
    assert [ramp.epsilon_scale(p) for p in (0.0, 0.25, 0.5, 0.9)] == [0.0, 0.5, 1.0, 1.0]
    const = AdversarialTrainingConfig(AttackConfig("fgsm"))
    assert const.epsilon_scale(0.0) == 1.0
    with pytest.raises(ValueError):
        AdversarialTrainingConfig(AttackConfig("fgsm"), ratio=0.0)
