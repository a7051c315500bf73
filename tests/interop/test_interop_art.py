"""qadl.interop.art: ART's attacks on a qadl model agree with qadl's own; gradients are exact."""

from __future__ import annotations

import numpy as np
import pytest

import qadl

pytest.importorskip("art")

from art.attacks.evasion import (
    CarliniL2Method,
    DeepFool,
    FastGradientMethod,
    HopSkipJump,
    ProjectedGradientDescent,
    SquareAttack,
)

from qadl.adversary.attacks import attack
from qadl.adversary.config import AttackConfig
from qadl.interop.art import QadlARTClassifier, art_classifier

from .conftest import TINY

SAMPLES = 40


def _estimator(tiny, **options):
    return QadlARTClassifier(tiny.clf, clip_values=(0.0, 1.0), **options)


def _accuracy(est, x_adv, y):
    return float(np.mean(est.predict(x_adv).argmax(axis=1) == y))


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_fgsm_and_pgd_match_qadl_attacks(tiny, norm):
    """Same ε, steps and step size: ART and qadl leave the same accuracy (to one sample)."""
    est = _estimator(tiny)
    test = tiny.test.take(np.arange(SAMPLES))
    art_norm = np.inf if norm == "linf" else 2
    clean = _accuracy(est, test.x, test.y)
    eps_list = (0.02, 0.05) if norm == "linf" else (0.05, 0.15)
    for eps in eps_list:
        x_fgsm = FastGradientMethod(est, norm=art_norm, eps=eps).generate(test.x, y=test.y)
        ours = attack(
            tiny.clf.core,
            tiny.clf.params,
            test,
            AttackConfig("fgsm", norm=norm, epsilon=eps, clip=(0.0, 1.0)),
        )
        assert abs(_accuracy(est, x_fgsm, test.y) - np.mean(ours.pred_adv == test.y)) <= 1 / SAMPLES
        x_pgd = ProjectedGradientDescent(
            est,
            norm=art_norm,
            eps=eps,
            eps_step=eps / 4,
            max_iter=8,
            num_random_init=0,
            verbose=False,
        ).generate(test.x, y=test.y)
        ours = attack(
            tiny.clf.core,
            tiny.clf.params,
            test,
            AttackConfig(
                "pgd",
                norm=norm,
                epsilon=eps,
                steps=8,
                step_size=eps / 4,
                random_start=False,
                clip=(0.0, 1.0),
            ),
        )
        pgd_acc = _accuracy(est, x_pgd, test.y)
        assert abs(pgd_acc - np.mean(ours.pred_adv == test.y)) <= 1 / SAMPLES
    # the attacks did something: the largest ε costs accuracy
    assert pgd_acc < clean - 0.1


def test_square_and_hopskipjump_run_end_to_end(tiny):
    """Gradient-free attacks through predict only: inside the ball and the clip range, effective."""
    est = _estimator(tiny, input_shape=(4, 4, 1))
    test = tiny.test.take(np.arange(20))
    x = test.x.reshape(-1, 4, 4, 1)
    clean = _accuracy(est, x, test.y)
    # p_init 0.2: squares of ~2 pixels, which fit a 4x4 image
    x_sq = SquareAttack(est, eps=0.1, max_iter=30, p_init=0.2, verbose=False).generate(x, y=test.y)
    assert x_sq.shape == x.shape
    assert np.abs(x_sq - x).max() <= 0.1 + 1e-6
    assert x_sq.min() >= 0.0 and x_sq.max() <= 1.0
    assert _accuracy(est, x_sq, test.y) < clean
    few = slice(0, 4)
    x_hsj = HopSkipJump(est, max_iter=2, max_eval=30, init_eval=10, verbose=False).generate(
        x[few], y=test.y[few]
    )
    assert _accuracy(est, x_hsj, test.y[few]) < _accuracy(est, x[few], test.y[few])


def test_minimal_perturbation_attacks_run(tiny):
    """Carlini–Wagner L2 (which asks predict for logits) and DeepFool use class_gradient:
    they flip the correctly classified samples with small L2 perturbations."""
    est = _estimator(tiny)
    x, y = tiny.test.x[:8], tiny.test.y[:8]
    right = est.predict(x).argmax(axis=1) == y
    assert right.sum() >= 4
    x_cw = CarliniL2Method(est, max_iter=5, verbose=False).generate(x, y=y)
    assert np.all(est.predict(x_cw[right]).argmax(axis=1) != y[right])
    assert np.linalg.norm(x_cw - x, axis=1).max() < 1.0
    x_df = DeepFool(est, max_iter=20, verbose=False).generate(x)
    assert _accuracy(est, x_df, y) < right.mean()


def test_class_gradient_is_the_probability_jacobian(tiny):
    """class_gradient equals central differences of predict, for all classes and one per sample."""
    est = _estimator(tiny)
    x = tiny.test.x[:3]
    jac = est.class_gradient(x)
    assert jac.shape == (3, 2, 16)
    h = 1e-6
    for f in (0, 7, 15):
        e = np.zeros_like(x)
        e[:, f] = h
        fd = (est.predict(x + e) - est.predict(x - e)) / (2 * h)
        np.testing.assert_allclose(jac[:, :, f], fd, atol=1e-7)
    picked = est.class_gradient(x, label=np.array([1, 0, 1]))
    assert picked.shape == (3, 1, 16)
    np.testing.assert_allclose(picked[:, 0], jac[np.arange(3), [1, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(est.class_gradient(x, label=1)[:, 0], jac[:, 1], atol=1e-12)


def test_loss_gradient_is_per_sample_and_batched(tiny):
    """One-hot or integer labels; batch size changes nothing; equals differences of compute_loss."""
    x, y = tiny.test.x[:5], tiny.test.y[:5]
    small = _estimator(tiny, batch_size=2)
    grad = small.loss_gradient(x, y)
    np.testing.assert_allclose(_estimator(tiny).loss_gradient(x, np.eye(2)[y]), grad, atol=1e-12)
    h, f = 1e-6, 5
    e = np.zeros_like(x)
    e[:, f] = h
    fd = (small.compute_loss(x + e, y) - small.compute_loss(x - e, y)) / (2 * h)
    np.testing.assert_allclose(grad[:, f], fd, atol=1e-7)
    assert small.loss_gradient(x.astype(np.float32), y).dtype == np.float32
    pixels = np.array([[0, 1] * 8, [2, 0] * 8])  # integer inputs: float gradients
    np.testing.assert_allclose(
        small.loss_gradient(pixels, [0, 1]), small.loss_gradient(pixels.astype(float), [0, 1])
    )
    assert float(small.compute_loss(x, y, reduction="mean")) == pytest.approx(
        float(np.mean(small.compute_loss(x, y)))
    )


def test_preprocessing_is_applied_to_inputs_and_gradients(tiny):
    """ART's (mean, std) standardisation runs before the model, and its chain rule after."""
    x = tiny.test.x[:4]
    est = _estimator(tiny, preprocessing=(0.25, 2.0))
    expected = tiny.clf.predict_proba((x - 0.25) / 2.0)
    np.testing.assert_allclose(est.predict(x), expected, atol=1e-6)
    plain = _estimator(tiny).class_gradient((x - 0.25) / 2.0)
    np.testing.assert_allclose(est.class_gradient(x), plain / 2.0, atol=1e-6)


def test_factory_builds_the_run_classifier_and_reads_params(tiny, tmp_path):
    """art_classifier(path, model, theta=params.npz) predicts as the trained classifier does."""
    est = _estimator(tiny)
    est.save("tiny.params", str(tmp_path))  # as `qadl run` names it
    run = qadl.runs.load(tmp_path)
    loaded = art_classifier(TINY, "tiny", params=run, clip_values=(0.0, 1.0))
    np.testing.assert_allclose(loaded.classifier.params, tiny.clf.params)
    x = tiny.test.x[:6]
    np.testing.assert_allclose(loaded.predict(x), est.predict(x), atol=1e-12)
    assert loaded.loss == "cross_entropy"
    assert loaded.get_activations(x, "readout").shape == (6, 2)
    np.testing.assert_allclose(loaded.get_activations(x, 1), loaded.predict(x), atol=1e-12)


def test_fit_trains_theta(tiny):
    """fit runs qadl's trainer: θ changes and the training loss drops."""
    train = tiny.train.take(np.arange(48))
    est = QadlARTClassifier(tiny.program.classifier("tiny"))
    before = float(est.compute_loss(train.x, train.y, reduction="mean"))
    est.fit(train.x, train.y, batch_size=16, nb_epochs=2)
    assert float(est.compute_loss(train.x, train.y, reduction="mean")) < before


def test_bad_inputs_are_refused(tiny):
    """Wrong shapes, θ lengths, layers and keyword arguments are errors, not silent."""
    est = _estimator(tiny)
    with pytest.raises(ValueError, match=r"shape \(N, 16\)"):
        est.predict(np.zeros((2, 15)))
    with pytest.raises(TypeError, match=r"program\.classifier"):
        QadlARTClassifier(tiny.clf.core)
    with pytest.raises(ValueError, match="holds 15 values"):
        _estimator(tiny, input_shape=(5, 3, 1))
    with pytest.raises(ValueError, match="unknown layer"):
        est.get_activations(tiny.test.x[:2], "hidden")
    with pytest.raises(TypeError, match="unexpected keyword"):
        est.predict(tiny.test.x[:2], temperature=2.0)
    with pytest.raises(ValueError, match="one class index per sample"):
        est.class_gradient(tiny.test.x[:2], label=[0, 1, 1])
    with pytest.raises(KeyError, match="no model `nope`"):
        art_classifier(TINY, "nope")


def test_quantum_data_models_are_refused():
    """A model that reads input states has no features for ART to perturb."""
    quantum = TINY.parent / "tiny_quantum.qadl"
    with pytest.raises(ValueError, match="reads input states"):
        art_classifier(quantum)


@pytest.mark.slow
def test_flagship_art_fgsm_and_bim_match_the_files_attacks():
    """examples/ren2022_images.qadl (10 qubits, 16x16 digits), trained 10 epochs: ART's FGSM
    and its PGD without random start (= BIM) leave the accuracies of qadl's own attacks."""
    from dataclasses import replace

    from qadl.interop._seam import train_config_of
    from qadl.learn.train import fit

    program = qadl.load(TINY.parents[2] / "examples" / "ren2022_images.qadl")
    train, test = program.data("digits")
    start = program.classifier("classifier")
    config = replace(train_config_of(program, "classifier"), epochs=10)
    clf = start.with_params(fit(start.core, start.params, train, config, progress=False).theta)
    assert clf.score(test.x, test.y) > 0.9
    est = QadlARTClassifier(clf, clip_values=test.feature_range)
    n = len(test.y)
    bim = program.attack("bim_sweep")  # linf, 10 steps of ε/10, no random start
    for result in bim(clf, test):
        eps = result.epsilon
        x_art = ProjectedGradientDescent(
            est, eps=eps, eps_step=eps / 10, max_iter=10, num_random_init=0, verbose=False
        ).generate(test.x, y=test.y)
        art_acc = _accuracy(est, x_art, test.y)
        assert abs(art_acc - result.robust_accuracy) <= 1 / n, (eps, art_acc)
        x_fgsm = FastGradientMethod(est, eps=eps).generate(test.x, y=test.y)
        ours = attack(clf.core, clf.params, test, AttackConfig("fgsm", epsilon=eps))
        assert abs(_accuracy(est, x_fgsm, test.y) - np.mean(ours.pred_adv == test.y)) <= 1 / n
    assert result.robust_accuracy < 0.5  # the largest ε (0.1) breaks the model


NOISY = """
model small(x: float[2]) on q[2] {
    param θ[4] init uniform(0, 2π)
    ry(θ[0] + x[0]) q[0]
    ry(θ[1] + x[1]) q[1]
    cz q[0], q[1]
    rx(θ[2]) q[0]
    rx(θ[3]) q[1]
    readout probs(q[0]) -> classes 2
}
noise strong { depolarizing(1q = 0.05, 2q = 0.1) }
target pair { qubits 2; basis [rx, ry, rz, cz]; coupling chain; noise strong }
device small on pair
"""


def test_noisy_device_models_keep_their_noise():
    """A model on a noisy device: ART sees the noisy probabilities, and their exact gradients."""
    program = qadl.loads(NOISY)
    noisy = program.classifier("small", params=np.array([0.3, 1.1, -0.4, 0.8]))
    est = QadlARTClassifier(noisy)
    x = np.array([[0.2, -0.5], [1.0, 0.4], [-0.7, 0.9]])
    probs = est.predict(x)
    np.testing.assert_allclose(probs, noisy.predict_proba(x), atol=1e-12)
    ideal = qadl.loads(NOISY.split("noise strong")[0]).classifier("small", params=noisy.params)
    assert np.abs(probs - ideal.predict_proba(x)).max() > 1e-3  # the noise is there
    step = np.array([1e-6, 0.0])
    fd = (est.predict(x + step) - est.predict(x - step)) / (2 * step[0])
    np.testing.assert_allclose(est.class_gradient(x)[:, :, 0], fd, atol=1e-7)
