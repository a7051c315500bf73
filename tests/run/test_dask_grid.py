"""Evaluation grids as tasks (``qadl.run.grid``): the same numbers as the serial sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qadl.adversary.evaluate import Scoring, evaluate
from qadl.adversary.result import AttackResult
from qadl.api import loads
from qadl.program import DataRef
from qadl.run import grid
from qadl.run.context import RunOptions, Session, named_plan
from qadl.run.executor import ResultStore

GRID = (Path(__file__).parent / "dask" / "grid.qadl").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    session = Session(loads(GRID.replace("SEED", "1"), "grid.qadl"), RunOptions(out_dir=out))
    data = session.split(DataRef("digits", "test"), None).take(np.arange(8))
    classifier = session.classifier("tiny")
    theta = np.random.default_rng(3).uniform(0, 6, classifier.num_params)
    attacks = dict(named_plan(session, a) for a in ("fgsm_sweep", "pgd_random"))
    return out, classifier, theta, data, attacks


def _same(a: AttackResult, b: AttackResult) -> bool:
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
                return False
        elif x != y:
            return False
    return True


@pytest.mark.parametrize("shots", [None, 40])
def test_cells_give_the_serial_sweep_bit_for_bit(setup, shots) -> None:
    out, classifier, theta, data, attacks = setup
    scoring = Scoring(shots=shots, seed=9)
    want_keep: dict = {}
    want = evaluate(classifier, theta, data, attacks, keep=want_keep, scoring=scoring,
                    model="tiny")
    keep: dict = {}
    runner = grid.CellRunner(ResultStore(out / f"cells-{shots}"))
    got = grid.evaluate(classifier, theta, data, attacks, runner=runner, keep=keep,
                        scoring=scoring, model="tiny")
    assert got.to_json() == want.to_json() and len(got.points) == 4
    assert all(_same(a, b) for k in want_keep for a, b in zip(want_keep[k], keep[k],
                                                               strict=True))
    assert len(list(runner.store.keys())) == 4  # one stored cell per attack and ε


class _Unpicklable:
    """A classifier wrapper holding a lambda: it cannot be pickled, shipped or keyed."""

    def __init__(self, inner) -> None:
        self.inner, self.hook = inner, lambda: None

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_an_unpicklable_classifier_runs_its_cells_here(setup, tmp_path) -> None:
    _, classifier, theta, data, attacks = setup
    wrapped = _Unpicklable(classifier)
    with pytest.raises((TypeError, AttributeError)):
        import pickle

        pickle.dumps(wrapped)
    runner = grid.CellRunner(ResultStore(tmp_path))
    got = grid.evaluate(wrapped, theta, data, attacks, runner=runner, model="tiny")
    want = evaluate(classifier, theta, data, attacks, model="tiny")
    assert got.to_json() == want.to_json()
    assert list(runner.store.keys()) == []  # nothing stored: no key could name the inputs


def test_results_encode_exactly() -> None:
    rng = np.random.default_rng(0)
    result = AttackResult(
        method="pgd", epsilon=0.1, y=np.array([0, 1]), pred_clean=np.array([0, 1]),
        pred_adv=np.array([1, 1]), probs_adv=rng.random((2, 2)), success=np.array([True, False]),
        linf=rng.random(2), l2=rng.random(2), steps=np.array([3, 5]),
        states_adv=(rng.random((2, 4)) + 1j * rng.random((2, 4))).astype(np.complex128),
        objective_trace=np.array([[0.5, np.nan]]),
    )
    back = grid.decode_result(grid.encode_result(result))
    assert _same(result, back) and back.x_adv is None
