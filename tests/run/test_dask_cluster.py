"""Tasks on a local Dask cluster: equal to the serial run, fault tolerant, resumable.

One ``LocalCluster(n_workers=2, threads_per_worker=1)`` serves the whole module (its
workers take seconds to start and warm their kernels).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")

import cloudpickle  # noqa: E402  (after the skip: a Dask dependency)

from qadl.api import loads  # noqa: E402
from qadl.cli import main  # noqa: E402
from qadl.run import grid  # noqa: E402
from qadl.run.cluster import cluster, numba_threads_per_worker  # noqa: E402
from qadl.run.executor import ResultStore, Shared, Task, execute, pool  # noqa: E402
from qadl.run.session import RunOptions, run_program  # noqa: E402

# workers import this module's task functions by value (the tests directory is not a package)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

GRID = (Path(__file__).parent / "dask" / "grid.qadl").read_text(encoding="utf-8")
CLOCK = ("seconds", "timing", "out_dir")  # wall-clock and location: differ between any two runs


@pytest.fixture(scope="module")
def local2():
    """``--workers 2`` for every test of the module: one cluster, opened at first use."""
    with pool(workers=2):
        yield 2


def _without_clock(value):
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if k not in CLOCK}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


def _results(tmp_path: Path, seed: int, workers: int | None) -> dict:
    program = loads(GRID.replace("SEED", str(seed)), f"grid_{seed}.qadl")
    out = tmp_path / f"seed{seed}-{workers or 'serial'}"
    run_program(program, RunOptions(out_dir=out, progress=False, plots=False, workers=workers))
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_grid_cells_on_two_workers_equal_the_serial_cells(local2, tmp_path) -> None:
    """The evaluation grid itself (2 attacks x 2 ε, shot-sampled scoring): the cells run on
    the workers give the serial ``Evaluation`` and the same adversarial arrays, bit for bit."""
    import numpy as np

    from qadl.adversary.evaluate import Scoring
    from qadl.program import DataRef
    from qadl.run.context import Session, named_plan

    session = Session(loads(GRID.replace("SEED", "1"), "grid.qadl"),
                      RunOptions(out_dir=tmp_path, progress=False))
    data = session.split(DataRef("digits", "test"), None).take(np.arange(10))
    classifier = session.classifier("tiny")
    theta = np.random.default_rng(7).uniform(0, 6, classifier.num_params)
    attacks = dict(named_plan(session, a) for a in ("fgsm_sweep", "pgd_random"))
    found = []
    for workers in (None, local2):
        runner = grid.CellRunner(ResultStore(tmp_path / str(workers)), workers=workers)
        keep: dict = {}
        evaluation = grid.evaluate(classifier, theta, data, attacks, runner=runner, keep=keep,
                                   scoring=Scoring(shots=64, seed=5), model="tiny")
        found.append((evaluation.to_json(), keep))
    (serial, serial_keep), (dask, dask_keep) = found
    assert len(serial["points"]) == 4 and dask == serial
    for label, results in serial_keep.items():
        for mine, theirs in zip(results, dask_keep[label], strict=True):
            assert np.array_equal(mine.x_adv, theirs.x_adv)
            assert np.array_equal(mine.probs_adv, theirs.probs_adv)


@pytest.mark.slow
def test_two_workers_give_the_serial_results_bit_for_bit(local2, tmp_path) -> None:
    """Whole runs, 2 seeds x 2 attacks (one with random starts), each at 2 ε: results.json
    equal (the evaluation cells run on the workers)."""
    serial = {seed: _without_clock(_results(tmp_path, seed, None)) for seed in (1, 2)}
    assert serial[1] != serial[2]  # the seed matters: the comparison below can fail
    for seed in (1, 2):
        assert len(serial[seed]["evaluations"][0]["points"]) == 4
        assert _without_clock(_results(tmp_path, seed, local2)) == serial[seed]


def test_a_sweep_on_two_workers_equals_the_serial_sweep(local2, tmp_path) -> None:
    """``sweep SEED in [1, 2]`` over a grid of 2 attacks: the sweep's results.json and
    every point's results.json equal the serial run's, bit for bit."""
    sweep = Path(__file__).parent / "dask" / "sweep.qadl"
    outs = {}
    for label, flags in (("serial", []), ("dask", ["--workers", str(local2)])):
        outs[label] = tmp_path / label
        argv = ["run", str(sweep), "--out", str(outs[label]), "--no-plots", "--no-progress"]
        assert main(argv + flags) == 0

    def read(path: Path) -> dict:
        return _without_clock(json.loads(path.read_text(encoding="utf-8")))

    assert read(outs["dask"] / "results.json") == read(outs["serial"] / "results.json")
    points = sorted(p.name for p in (outs["serial"] / "points").iterdir())
    assert len(points) == 2
    for key in points:
        serial = read(outs["serial"] / "points" / key / "results.json")
        assert len(serial["evaluations"][0]["points"]) == 4
        assert read(outs["dask"] / "points" / key / "results.json") == serial


def _square(x: float, shift: float = 0.0) -> dict:
    return {"value": x * x + shift, "pid": os.getpid()}


def _die_once(key: str, marks: str, seconds: float) -> dict:
    """Kills its worker process the first time it runs (a marker file remembers)."""
    mark = Path(marks) / key
    if not mark.exists():
        mark.write_text("started")
        os._exit(1)  # the worker process dies mid-task, as if killed
    time.sleep(seconds)
    return {"key": key}


class CountingStore(ResultStore):
    """A store that counts how often each key is written."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.writes: dict[str, int] = {}

    def put(self, key: str, value):
        self.writes[key] = self.writes.get(key, 0) + 1
        return super().put(key, value)


def test_a_killed_worker_loses_and_duplicates_nothing(local2, tmp_path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    for key in (f"p{i}" for i in range(6) if i != 3):
        (marks / key).write_text("only p3 dies")
    store = CountingStore(tmp_path / "store")
    tasks = [Task(f"p{i}", _die_once, (f"p{i}", str(marks), 0.2)) for i in range(6)]
    results = execute(tasks, store, workers=local2, progress=False)
    assert (marks / "p3").read_text() == "started"  # it did die once
    assert results == {f"p{i}": {"key": f"p{i}"} for i in range(6)}
    assert store.writes == {f"p{i}": 1 for i in range(6)}
    assert sorted(store.keys()) == [f"p{i}" for i in range(6)]


def _always_die() -> dict:
    os._exit(1)


@pytest.mark.slow
def test_a_task_that_keeps_killing_workers_is_e0924(local2, tmp_path) -> None:
    from qadl.errors import QadlError

    store = CountingStore(tmp_path)
    tasks = [Task("ok", _square, (2.0,)), Task("deadly", _always_die)]
    with pytest.raises(QadlError) as err:
        execute(tasks, store, workers=local2, progress=False)
    assert err.value.diagnostics[0].code == "E0924" and "deadly" in str(err.value)
    assert "deadly" not in store.writes


def _refuse(code: str, log: str) -> dict:
    from qadl.errors import QadlError
    from qadl.source import Span

    with open(log, "a") as handle:
        handle.write("attempt\n")
    raise QadlError.at(code, "refused on a worker", Span("prog.qadl", 3, 7), help="a hint")


def test_a_task_s_qadl_error_reaches_the_client_whole(local2, tmp_path) -> None:
    """A diagnostic raised on a worker keeps its code, span and hint (not retried)."""
    from qadl.errors import QadlError

    with pytest.raises(QadlError) as err:
        execute([Task("bad", _refuse, ("E0702", str(tmp_path / "log")))],
                ResultStore(tmp_path / "store"), workers=local2, progress=False)
    found = err.value.diagnostics[0]
    assert (found.code, found.primary.span.start, found.help) == ("E0702", 3, "a hint")
    assert (tmp_path / "log").read_text() == "attempt\n"  # once: Dask did not retry it


def test_resume_on_the_cluster_runs_only_missing_keys(local2, tmp_path) -> None:
    store = CountingStore(tmp_path)
    tasks = [Task(f"x{i}", _square, (float(i),), {"shift": Shared("s")}) for i in range(4)]
    first = execute(tasks[:2], store, workers=local2, shared={"s": 0.5}, progress=False)
    both = execute(tasks, store, workers=local2, resume=True, shared={"s": 0.5}, progress=False)
    assert store.writes == {"x0": 1, "x1": 1, "x2": 1, "x3": 1}  # x0, x1 not recomputed
    assert {k: both[k] for k in first} == first
    assert [both[f"x{i}"]["value"] for i in range(4)] == [0.5, 1.5, 4.5, 9.5]


def test_workers_size_numba_and_warm_their_kernels(local2) -> None:
    def probe(dask_worker):
        import numba

        return (os.environ.get("NUMBA_NUM_THREADS"), numba.config.NUMBA_NUM_THREADS,
                "qadl-warm-kernels" in dask_worker.plugins)

    with cluster(local2, None) as client:
        client.wait_for_workers(local2, timeout=60)  # a worker killed above may be restarting
        seen = client.run(probe)
    want = numba_threads_per_worker(local2)
    assert len(seen) == 2
    assert all(v == (str(want), want, True) for v in seen.values())


def test_run_level_resume_skips_finished_cells(tmp_path, monkeypatch) -> None:
    """Serial ``--resume``: the evaluation cells stored by the first run are not re-attacked."""
    calls: list[str] = []
    real = grid.attack_cell

    def counted(*args, **kwargs):
        calls.append(args[3].method)
        return real(*args, **kwargs)

    monkeypatch.setattr(grid, "attack_cell", counted)
    program = loads(GRID.replace("SEED", "1"), "grid.qadl")
    options = RunOptions(out_dir=tmp_path, progress=False, plots=False)
    first = run_program(program, options)
    assert len(calls) == 4
    again = run_program(program, RunOptions(out_dir=tmp_path, progress=False, plots=False,
                                            resume=True))
    assert len(calls) == 4  # every cell came from the store
    assert _without_clock(again["evaluations"]) == _without_clock(first["evaluations"])


def test_scheduler_joins_a_running_cluster(tmp_path) -> None:
    """``--scheduler tcp://…``: tasks run on a cluster someone else started (here: a
    threaded one in this process, listening on TCP like ``dask scheduler``)."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp", dashboard_address=":0") as running:
        address = running.scheduler_address
        assert address.startswith("tcp://")
        store = CountingStore(tmp_path)
        tasks = [Task(f"x{i}", _square, (float(i),), {"shift": Shared("s")}) for i in range(3)]
        results = execute(tasks, store, scheduler=address, shared={"s": 1.0}, progress=False)
    assert [results[f"x{i}"]["value"] for i in range(3)] == [1.0, 2.0, 5.0]
    assert store.writes == {"x0": 1, "x1": 1, "x2": 1}
