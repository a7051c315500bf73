"""QuantumClassifier: a qadl model as a scikit-learn estimator (cross-validation, grid search)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from qadl.interop.sklearn import QuantumClassifier

from .conftest import TINY


@pytest.fixture(scope="module")
def digits(tiny):
    """72 samples of tiny_train.qadl's 4x4 digits, labelled with strings."""
    x = np.concatenate([tiny.train.x, tiny.test.x])[:72]
    y = np.concatenate([tiny.train.y, tiny.test.y])[:72]
    return x, np.where(y == 1, "one", "zero")


def test_fit_predict_score_follow_the_train_block(tiny, digits):
    """Defaults come from the file's train block: the fit equals qadl's trainer on the same data."""
    from qadl.interop._seam import train_config_of
    from qadl.learn.data import Dataset
    from qadl.learn.train import fit

    x, y = digits
    est = QuantumClassifier(TINY, model="tiny").fit(x, y)
    assert list(est.classes_) == ["one", "zero"]
    config = train_config_of(tiny.program, "tiny")
    encoded = (y == "zero").astype(int)
    start = tiny.program.classifier("tiny")
    ref = fit(
        start.core, start.params, Dataset(x=x, y=encoded, num_classes=2), config, progress=False
    )
    np.testing.assert_allclose(est.classifier_.params, ref.theta, atol=1e-12)
    proba = est.predict_proba(x)
    assert proba.shape == (72, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(est.predict(x), est.classes_[proba.argmax(axis=1)])
    assert est.score(x, y) == pytest.approx(np.mean(est.predict(x) == y))
    assert len(est.history_.epoch) == 3


def test_cross_val_score_runs(digits):
    """Three stratified folds, one epoch each: a score per fold in [0, 1]."""
    x, y = digits
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(QuantumClassifier(TINY, epochs=1), x, y, cv=folds)
    assert scores.shape == (3,)
    assert np.all((scores >= 0.0) & (scores <= 1.0))


def test_grid_search_over_the_learning_rate(digits):
    """GridSearchCV clones the estimator with each lr; the lr reaches the optimizer."""
    x, y = digits
    search = GridSearchCV(QuantumClassifier(TINY, epochs=1), {"lr": [0.001, 0.2]}, cv=2)
    search.fit(x, y)
    assert search.best_params_["lr"] in (0.001, 0.2)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.predict(x[:5]).shape == (5,)
    # a tiny lr barely moves θ from its start; a large one moves it far
    small = QuantumClassifier(TINY, epochs=1, lr=1e-6).fit(x, y)
    large = QuantumClassifier(TINY, epochs=1, lr=0.2).fit(x, y)
    start = small.classifier_.model.initial_params(5)
    assert np.abs(small.classifier_.params - start).max() < 1e-4
    assert np.abs(large.classifier_.params - start).max() > 0.05


def test_parameters_are_cloned_and_validated(digits):
    """get_params/clone keep the constructor's values; bad values are ValueErrors at fit."""
    x, y = digits
    est = QuantumClassifier(TINY, model="tiny", epochs=2, lr=0.1, optimizer="sgd", seed=3)
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(ValueError, match="optimizer must be one of"):
        QuantumClassifier(TINY, optimizer="rmsprop").fit(x, y)
    with pytest.raises(ValueError, match="loss must be one of"):
        QuantumClassifier(TINY, loss="l1").fit(x, y)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        QuantumClassifier(TINY, lr=-1.0).fit(x, y)
    with pytest.raises(ValueError, match="no learning rate"):
        QuantumClassifier(TINY, optimizer="cobyla", lr=0.1).fit(x, y)
    with pytest.raises(ValueError, match="batch"):
        QuantumClassifier(TINY, batch=0).fit(x, y)
    with pytest.raises(ValueError, match="3 distinct labels"):
        QuantumClassifier(TINY).fit(x[:9], np.arange(9) % 3)
    with pytest.raises(ValueError, match="reads 16"):
        QuantumClassifier(TINY).fit(x[:, :10], y)
    with pytest.raises(ValueError, match="reads input states"):
        QuantumClassifier(TINY.parent / "tiny_quantum.qadl").fit(x, y)
    fitted = QuantumClassifier(TINY, epochs=0).fit(x, y)
    with pytest.raises(ValueError, match="reads 16"):
        fitted.predict(x[:, :10])
