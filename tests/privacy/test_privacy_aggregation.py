"""Secure-aggregation-style batching: the server sees only the mean of `clients` clients'
releases (`gradient_inversion(clients = k)`); inverting it recovers less than one client's."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.privacy.inversion import (
    InversionConfig,
    aggregated_gradient,
    invert_gradients,
    released_gradient,
)
from qadl.adversary.privacy.matching import GradientOracle
from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from qadl.run.session import RunOptions, run_program
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import INV, PROGRAM, TRAIN


@pytest.fixture(scope="module")
def victim():
    c = encoding_circuit(3, 2, 2)
    rng = np.random.default_rng(0)
    oracle = GradientOracle(Classifier(Simulator(c), c.readout), rng.normal(size=c.num_params))
    return oracle, rng.uniform(0.0, 1.0, (32, 3)), rng.integers(0, 2, 32)


def test_the_aggregate_is_the_mean_of_the_clients_releases(victim):
    oracle, x, y = victim
    config = InversionConfig(clients=4, batch=2)
    rng = np.random.default_rng(0)
    agg = aggregated_gradient(oracle, x[:8], y[:8], config, rng)
    mean = np.mean(
        [oracle.shared_gradient(x[2 * c : 2 * c + 2], y[2 * c : 2 * c + 2]) for c in range(4)],
        axis=0,
    )
    np.testing.assert_allclose(agg, mean, atol=1e-15)
    # equal batches: the mean over all 8 samples, which the attacker matches
    np.testing.assert_allclose(agg, oracle.shared_gradient(x[:8], y[:8]), atol=1e-15)
    # with DP every client clips and noises its own release
    dp = InversionConfig(clients=4, batch=2, clip_norm=1e-3, noise=1.0)
    a = aggregated_gradient(oracle, x[:8], y[:8], dp, np.random.default_rng(1))
    parts = [
        released_gradient(oracle, x[2 * c : 2 * c + 2], y[2 * c : 2 * c + 2], dp, rng2)
        for rng2 in [np.random.default_rng(1)]
        for c in range(4)
    ]
    np.testing.assert_allclose(a, np.mean(parts, axis=0), atol=1e-15)


def test_aggregation_over_clients_defeats_the_inversion(victim):
    oracle, x, y = victim

    def result(clients: int):
        config = InversionConfig(restarts=2, samples=2, steps=50, seed=0, clients=clients)
        return invert_gradients(oracle, x, y, config)

    single, four = result(1), result(4)
    assert single.errors.shape == (2, 2, 1) and four.errors.shape == (2, 2, 4)
    assert single.recovered_fraction == 1.0
    assert four.recovered_fraction < single.recovered_fraction
    assert four.to_json()["median_error"] > 1e3 * single.to_json()["median_error"]


def test_run_records_the_clients(tmp_path, capsys):
    text = (
        PROGRAM
        + TRAIN
        + INV.format(
            args="restarts = 1, samples = 1, steps = 20, clients = 3", opts="; clip [-1, 1]"
        )
    )
    results = run_program(
        load_source(text), RunOptions(tmp_path / "o", plots=False, progress=False)
    )
    record = results["privacy"]["inv"]
    assert record["clients"] == 3 and record["inputs"] == 3
    assert "3×1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ("clients = 0", "must be in [1, 64]"),
        ("clients = 8, batch = 16", "at most 64"),
    ],
)
def test_clients_refused_at_check(args, words):
    with pytest.raises(QadlError) as info:
        load_source(PROGRAM + TRAIN + INV.format(args=args, opts=""))
    assert any(words in d.message for d in info.value.diagnostics), info.value.diagnostics


def test_too_few_samples_for_the_clients(tmp_path):
    text = PROGRAM + TRAIN + INV.format(args="samples = 100, clients = 4", opts="")
    with pytest.raises(QadlError) as info:
        run_program(load_source(text), RunOptions(tmp_path / "o", plots=False, progress=False))
    assert info.value.diagnostics[0].code == "E0564"
    assert "4 clients'" in info.value.diagnostics[0].message


def test_too_few_samples_found_by_qadl_check():
    from qadl.run.preflight import preflight

    text = PROGRAM + TRAIN + INV.format(args="samples = 100, clients = 4", opts="")
    with pytest.raises(QadlError) as info:
        preflight(load_source(text))  # circle.csv: 300 training samples, known without running
    (diag,) = info.value.diagnostics
    assert diag.code == "E0564" and "needs 400" in diag.message and "has 300" in diag.message
