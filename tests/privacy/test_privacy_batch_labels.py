"""Label inference for batches: with `labels = inferred` the attacker tries every multiset
of labels of a gradient's inputs and keeps the best match; too many multisets are E0963."""

from __future__ import annotations

import numpy as np
import pytest

from qadl.adversary.privacy.inversion import (
    InversionConfig,
    invert_gradients,
    label_multiset_count,
    label_multisets,
)
from qadl.adversary.privacy.matching import GradientOracle
from qadl.backends.sim import Simulator
from qadl.errors import QadlError
from qadl.learn.classifier import Classifier
from qadl.run.preflight import preflight
from tests.adversary.models import encoding_circuit
from tests.adversary.sessions import load_source
from tests.privacy.test_privacy_program import INV, PROGRAM, TRAIN


def test_multisets_are_all_distinct_sorted_label_lists():
    sets = label_multisets(3, 4)
    assert len(sets) == label_multiset_count(3, 4) == 15
    assert len({tuple(s) for s in sets}) == 15
    assert all(np.all(np.diff(s) >= 0) for s in sets)
    assert label_multiset_count(2, 8) == 9


def test_batch_labels_are_inferred_from_the_gradient():
    c = encoding_circuit(3, 2, 2)
    rng = np.random.default_rng(0)
    oracle = GradientOracle(Classifier(Simulator(c), c.readout), rng.normal(size=c.num_params))
    x, y = rng.uniform(0.0, 1.0, (8, 3)), np.array([0, 1, 0, 0, 1, 1, 0, 1])
    config = InversionConfig(restarts=2, samples=2, steps=100, seed=0, batch=2, infer_labels=True)
    result = invert_gradients(oracle, x, y, config)
    # 3 multisets of 2 labels, 2 restarts each; the kept match has the true multiset
    assert result.matching.shape == (2, 6) and result.label_hits.shape == (2, 6)
    assert result.to_json()["label_accuracy"] == 1.0
    # a wrong multiset cannot reproduce the gradient: its best match is far worse
    for s in range(2):
        wrong = result.matching[s][~result.label_hits[s]]
        assert wrong.min() > 1e6 * result.matching[s].min()


def test_too_many_label_multisets_refused_by_qadl_check():
    text = PROGRAM + TRAIN + INV.format(args="labels = inferred, batch = 8, clients = 8", opts="")
    with pytest.raises(QadlError) as info:
        preflight(load_source(text))
    (diag,) = info.value.diagnostics
    assert diag.code == "E0963" and "65 of them" in diag.message
    # 9 multisets of a batch of 8 among 2 classes are fine
    preflight(
        load_source(PROGRAM + TRAIN + INV.format(args="labels = inferred, batch = 8", opts=""))
    )
