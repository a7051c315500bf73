"""DP-SGD release of a shared gradient: the RDP accountant against dp-accounting's values,
clipping and noise of the release, and DP noise lowering the inversion success."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.privacy.accountant import gaussian_epsilon
from qadl.adversary.privacy.inversion import InversionConfig, invert_gradients, released_gradient
from qadl.adversary.privacy.matching import GradientOracle
from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import INV, PROGRAM, TRAIN

# ε at δ = 1e-5 from Google's dp-accounting 0.6.0 (RdpAccountant, Poisson-sampled Gaussian);
# the first row is Abadi et al.'s MNIST setting (batch 256 of 60000, σ = 1.1, 60 epochs).
REFERENCE = [
    (256 / 60000, 1.1, 60 * 60000 // 256, 2.5965558697943036),
    (1.0, 1.0, 1, 4.728507067217623),
    (1.0, 0.8, 1, 6.122757864599008),
    (1.0, 3.0, 1, 1.3862750468052074),
    (0.01, 1.0, 1000, 2.101366525420273),
    (0.05, 2.0, 500, 2.7685845622392886),
]


@pytest.mark.parametrize(("q", "sigma", "steps", "eps"), REFERENCE)
def test_accountant_matches_dp_accounting_to_1_percent(q, sigma, steps, eps):
    assert gaussian_epsilon(q, sigma, steps, 1e-5) == pytest.approx(eps, rel=0.01)


def test_accountant_against_the_installed_dp_accounting():
    dp = pytest.importorskip("dp_accounting")
    from dp_accounting.rdp import rdp_privacy_accountant

    for q, sigma, steps in [(0.02, 1.3, 300), (1.0, 0.5, 3), (0.2, 4.0, 50)]:
        acc = rdp_privacy_accountant.RdpAccountant()
        event = dp.PoissonSampledDpEvent(q, dp.GaussianDpEvent(sigma))
        acc.compose(dp.SelfComposedDpEvent(event, steps))
        assert gaussian_epsilon(q, sigma, steps, 1e-6) == pytest.approx(
            acc.get_epsilon(1e-6), rel=0.01
        )


def test_more_noise_less_epsilon():
    eps = [gaussian_epsilon(1.0, s, 1, 1e-5) for s in (0.5, 1.0, 2.0, 4.0)]
    assert eps == sorted(eps, reverse=True)
    with pytest.raises(ValueError):
        gaussian_epsilon(1.0, 1.0, 1, 0.0)


@pytest.fixture(scope="module")
def victim():
    c = encoding_circuit(3, 2, 2)
    rng = np.random.default_rng(0)
    oracle = GradientOracle(Classifier(Simulator(c), c.readout), rng.normal(size=c.num_params))
    return oracle, rng.uniform(0.0, 1.0, (16, 3)), rng.integers(0, 2, 16)


def test_release_clips_each_sample_and_adds_calibrated_noise(victim):
    oracle, x, y = victim
    rng = np.random.default_rng(0)
    exact = oracle.shared_gradient(x[:1], y[:1])
    loose = released_gradient(oracle, x[:1], y[:1], InversionConfig(clip_norm=1e9), rng)
    np.testing.assert_allclose(loose, exact, atol=1e-15)
    tight = released_gradient(oracle, x[:1], y[:1], InversionConfig(clip_norm=1e-3), rng)
    assert np.linalg.norm(tight) == pytest.approx(1e-3)
    noisy = np.stack(
        [
            released_gradient(oracle, x[:1], y[:1], InversionConfig(clip_norm=1e-3, noise=2.0), rng)
            for _ in range(400)
        ]
    )
    # the noise has std noise · clip_norm around the clipped gradient
    assert np.std(noisy - tight) == pytest.approx(2e-3, rel=0.1)


def test_dp_noise_lowers_the_inversion_success(victim):
    oracle, x, y = victim

    def recovered(**dp) -> float:
        config = InversionConfig(loss="cosine", restarts=3, samples=3, seed=0, **dp)
        return invert_gradients(oracle, x, y, config).recovered_fraction

    assert recovered() == 1.0
    assert recovered(clip_norm=1.0) == 1.0  # clipping alone only rescales: cosine ignores it
    # σ = 1: (4.73, 1e-5)-DP for the one release
    assert recovered(clip_norm=1.0, noise=1.0) == 0.0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("noise = 1.0", "give `clip_norm` too"),
        ("clip_norm = 1.0, delta = 1e-5", "give `noise` > 0 too"),
        ("clip_norm = 0", "must be > 0"),
        ("clip_norm = 1, noise = 1, delta = 1", "must be in (0, 1)"),
    ],
)
def test_dp_options_refused(args, words):
    with pytest.raises(QadlError) as info:
        load_source(PROGRAM + TRAIN + INV.format(args=args, opts=""))
    assert any(words in d.message for d in info.value.diagnostics), info.value.diagnostics


def test_run_records_epsilon(tmp_path):
    from qadl.run.session import RunOptions, run_program

    text = (
        PROGRAM
        + TRAIN
        + INV.format(
            args="restarts = 1, samples = 1, steps = 20, clip_norm = 1, noise = 1, delta = 1e-5",
            opts="; clip [-1, 1]",
        )
    )
    results = run_program(
        load_source(text), RunOptions(tmp_path / "o", plots=False, progress=False)
    )
    dp = results["privacy"]["inv"]["dp"]
    assert dp["epsilon"] == pytest.approx(4.7285, rel=1e-3) and dp["delta"] == 1e-5


def test_shot_noise_blurs_but_does_not_hide_the_input(victim):
    """Finite-shot gradients: nothing within 1e-4, but the error falls as 1/√shots."""
    oracle, x, y = victim

    def result(shots):
        config = InversionConfig(restarts=3, samples=2, seed=0, shots=shots)
        return invert_gradients(oracle, x, y, config)

    few, many = result(100), result(10**6)
    assert few.recovered_fraction == 0.0
    few_err, many_err = few.to_json()["median_error"], many.to_json()["median_error"]
    assert many_err < few_err / 10  # 10⁴ times the shots: ~100 times smaller
    assert many_err < 1e-2
