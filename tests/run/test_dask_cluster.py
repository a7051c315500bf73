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


def test_two_workers_give_the_serial_results_bit_for_bit(local2, tmp_path) -> None:
    """2 seeds x 2 attacks (one with random starts), each at 2 ε: results.json equal."""
    serial = {seed: _without_clock(_results(tmp_path, seed, None)) for seed in (1, 2)}
    assert serial[1] != serial[2]  # the seed matters: the comparison below can fail
    for seed in (1, 2):
        assert len(serial[seed]["evaluations"][0]["points"]) == 4
        assert _without_clock(_results(tmp_path, seed, local2)) == serial[seed]


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
