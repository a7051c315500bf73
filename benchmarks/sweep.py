"""Tasks on Dask: the flagship's evaluation grid and a 10-seed sweep at 1 and 2 workers,
the cost of shipping a program and parameters per task, and a 64-core estimate.

Four measurements, each in fresh ``qadl run`` processes (the Numba disk cache is filled by
an untimed warm-up run first):

- **flagship**: ``qadl run examples/ren2022_images.qadl`` serially, ``--workers 1`` and
  ``--workers 2``. Reported: the process's wall time and the ``evaluate`` phase of
  ``results.json`` (with workers it includes starting the cluster, which is deferred to
  the first evaluation), plus the grid's cells: their number and the seconds each
  computed (from ``OUT/tasks``).
- **seeds**: ``qadl run benchmarks/sweep_small.qadl`` (a sweep of 10 seeds of a 4-qubit
  model, each point a training and a 2-attack × 3-ε grid) serially, ``--workers 1`` and
  ``--workers 2``: wall time and the points' own seconds (``timings.json``).
- **grid**: the flagship's first grid (trained ``classifier`` under ren, bim_sweep and
  pgd_sweep: 10 cells) timed in one process, serially and on an open, warmed-up cluster
  of 1 and 2 workers: the cost of running cells as tasks, without the cluster's start.
- **startup**: opening and closing a ``LocalCluster`` of 1 and 2 workers (workers warm
  their kernels on start).
- **shipping**: per-task cost on a 1-worker cluster of a task that does nothing with the
  flagship's program, classifier, trained θ and test set, when they are passed with every
  task (pickled and sent each time) and when they are scattered once (``Shared``),
  against a task without arguments.

The 64-core estimate: a grid of n cells that compute C seconds in all, the longest
c_max, on N workers takes about T(N) = s + n·o + max(c_max, C/N) (s: cluster start, o:
per-task overhead, paid by the one client); the speed-up over the serial grid is C / T(N).

- **codec**: encoding a flagship-sized cell result, storing it and decoding it (no Dask).

Run: ``python benchmarks/sweep.py [--parts flagship,grid,seeds,startup,shipping,codec]
[--tasks 40] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLAGSHIP = ROOT / "examples" / "ren2022_images.qadl"
SMALL = ROOT / "benchmarks" / "sweep_small.qadl"
MODES = {"serial": [], "1 worker": ["--workers", "1"], "2 workers": ["--workers", "2"]}


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def qadl_run(program: Path, out: Path, flags: list[str]) -> float:
    """Wall seconds of one ``qadl run`` process."""
    cmd = [sys.executable, "-m", "qadl", "run", str(program), "--out", str(out),
           "--no-progress", "--no-plots", *flags]
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def cells(out: Path) -> list[float]:
    """Seconds each stored evaluation cell computed for."""
    return [json.loads(p.read_text())["value"]["seconds"] for p in (out / "tasks").glob("*.json")]


def estimate(total: float, longest: float, n: int, start: float, overhead: float) -> str:
    """Speed-up C / T(N) at 2, 16 and 64 workers, with the cluster's start and without it
    (a cluster kept for a whole sweep pays it once)."""
    parts = []
    for workers in (2, 16, 64):
        t = n * overhead + max(longest, total / workers)
        parts.append(f"{workers} workers: speed-up {total / (start + t):.1f} "
                     f"({total / t:.1f} without the start)")
    return "; ".join(parts)


def flagship(tmp: Path) -> dict:
    qadl_run(FLAGSHIP, tmp / "warm", [])  # fills the Numba disk cache
    rows = {}
    for mode, flags in MODES.items():
        out = tmp / f"flagship-{mode.replace(' ', '')}"
        wall = qadl_run(FLAGSHIP, out, flags)
        timing = json.loads((out / "results.json").read_text())["timing"]
        rows[mode] = {"wall": wall, "evaluate": timing["evaluate"],
                      "attack": timing.get("attack", 0.0)}
        print(f"flagship {mode}: wall {wall:.1f} s, evaluate {timing['evaluate']:.1f} s "
              f"({load()})", flush=True)
    seconds = cells(tmp / "flagship-serial")
    rows["cells"] = {"n": len(seconds), "total": sum(seconds), "longest": max(seconds)}
    print(f"flagship grid: {len(seconds)} cells, {sum(seconds):.1f} s computed, longest "
          f"{max(seconds):.1f} s", flush=True)
    return rows


def seeds(tmp: Path) -> dict:
    qadl_run(SMALL, tmp / "seeds-warm", [])
    rows = {}
    for mode, flags in MODES.items():
        out = tmp / f"seeds-{mode.replace(' ', '')}"
        wall = qadl_run(SMALL, out, flags)
        points = json.loads((out / "timings.json").read_text())["points"]
        rows[mode] = {"wall": wall, "points": sum(points.values()), "n": len(points)}
        print(f"seeds {mode}: wall {wall:.1f} s, {len(points)} points computed "
              f"{sum(points.values()):.1f} s ({load()})", flush=True)
    return rows


def startup() -> dict:
    from qadl.run.cluster import cluster

    rows = {}
    for workers in (1, 2):
        started = time.perf_counter()
        with cluster(workers, None, announce=lambda _: None):
            opened = time.perf_counter() - started
        rows[workers] = {"open": opened, "open_close": time.perf_counter() - started}
        print(f"cluster of {workers}: open {opened:.1f} s, open and close "
              f"{rows[workers]['open_close']:.1f} s ({load()})", flush=True)
    return rows


def grid_in_process(tmp: Path) -> dict:
    """The flagship's first ``evaluate`` grid (trained ``classifier``), timed in one process:
    serially, then on an open cluster of 1 and of 2 workers, each after an untimed
    warm-up grid (workers load their kernels), so neither start nor warm-up is counted."""
    import numpy as np

    from qadl.api import load as load_program
    from qadl.program import DataRef
    from qadl.run import grid
    from qadl.run.cluster import cluster
    from qadl.run.context import RunOptions, Session, named_plan
    from qadl.run.executor import ResultStore

    out = tmp / "grid-train"
    qadl_run(FLAGSHIP, out, [])
    theta = np.load(out / "classifier.params.npz")["theta"]
    session = Session(load_program(FLAGSHIP), RunOptions(out_dir=tmp / "grid"))
    data = session.split(DataRef("digits", "test"), None)
    classifier = session.classifier("classifier")
    attacks = dict(named_plan(session, a) for a in ("ren", "bim_sweep", "pgd_sweep"))

    def timed(workers: int | None, label: str) -> float:
        runner = grid.CellRunner(ResultStore(tmp / "grid" / label), workers=workers)
        started = time.perf_counter()
        grid.evaluate(classifier, theta, data, attacks, runner=runner, model="classifier")
        return time.perf_counter() - started

    rows = {"serial": timed(None, "serial")}
    print(f"grid serial: {rows['serial']:.1f} s ({load()})", flush=True)
    for workers in (1, 2):
        with cluster(workers, None, announce=lambda _: None):
            timed(workers, f"warm{workers}")
            rows[f"{workers} workers"] = timed(workers, f"w{workers}")
        print(f"grid {workers} workers: {rows[f'{workers} workers']:.1f} s ({load()})",
              flush=True)
    return rows


def codec(n: int = 20) -> float:
    """Seconds per grid cell to encode a flagship-sized result (73 images of 256 pixels,
    100 steps of objective trace), store it atomically and decode it again."""
    import numpy as np

    from qadl.adversary.result import AttackResult
    from qadl.run import grid
    from qadl.run.store import ResultStore

    rng, size = np.random.default_rng(0), 73
    result = AttackResult(
        method="bim", epsilon=0.1, y=np.zeros(size, int), pred_clean=np.zeros(size, int),
        pred_adv=np.zeros(size, int), probs_adv=rng.random((size, 2)),
        success=np.zeros(size, bool), linf=rng.random(size), l2=rng.random(size),
        steps=np.zeros(size, int), x_adv=rng.random((size, 256)),
        objective_trace=rng.random((100, size)),
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(tmp)
        started = time.perf_counter()
        for k in range(n):
            value = store.put(f"k{k}", {"result": grid.encode_result(result), "seconds": 1.0})
            grid.decode_result(value["result"])
        per = (time.perf_counter() - started) / n
    print(f"result codec and store: {1000 * per:.1f} ms per cell ({load()})", flush=True)
    return per


def _touch(*args) -> dict:
    return {"n": len(args)}


def shipping(n: int) -> dict:
    import numpy as np

    from qadl.api import load as load_program
    from qadl.program import DataRef
    from qadl.run.cluster import cluster
    from qadl.run.context import RunOptions, Session
    from qadl.run.executor import ResultStore, Shared, Task, execute

    program = load_program(FLAGSHIP)
    with tempfile.TemporaryDirectory() as tmp:
        session = Session(program, RunOptions(out_dir=Path(tmp)))
        data = session.split(DataRef("digits", "test"), None)
        classifier = session.classifier("classifier")
        theta = np.random.default_rng(0).uniform(0, 6, classifier.num_params)
        inputs = {"program": program, "classifier": classifier, "theta": theta, "data": data}
        sizes = {k: len(pickle.dumps(v)) for k, v in inputs.items()}
        print("pickled sizes: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sizes.items()))
        variants = {
            "no arguments": ([Task(f"e{i}", _touch) for i in range(n)], {}),
            "per task": ([Task(f"p{i}", _touch, tuple(inputs.values())) for i in range(n)], {}),
            "scattered once": ([Task(f"s{i}", _touch, tuple(Shared(k) for k in inputs))
                                for i in range(n)], inputs),
        }
        rows = {"sizes": sizes}
        with cluster(1, None, announce=lambda _: None):
            for name, (tasks, shared) in variants.items():
                store = ResultStore(Path(tmp) / name.replace(" ", "-"))
                execute(tasks[:2], store, workers=1, shared=shared, progress=False)  # warm
                started = time.perf_counter()
                execute(tasks, store, workers=1, shared=shared, progress=False)
                per = (time.perf_counter() - started) / n
                rows[name] = per
                print(f"{name}: {1000 * per:.1f} ms per task ({n} tasks, {load()})",
                      flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="flagship,grid,seeds,startup,shipping,codec")
    parser.add_argument("--tasks", type=int, default=40, help="tasks per shipping variant")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers here")
    args = parser.parse_args()
    parts = args.parts.split(",")
    print(f"{os.cpu_count()} CPUs, {load()}", flush=True)
    found: dict = {}
    with tempfile.TemporaryDirectory(prefix="qadl-sweep-") as tmp:
        if "flagship" in parts:
            found["flagship"] = flagship(Path(tmp))
        if "seeds" in parts:
            found["seeds"] = seeds(Path(tmp))
        if "grid" in parts:
            found["grid"] = grid_in_process(Path(tmp))
    if "startup" in parts:
        found["startup"] = startup()
    if "shipping" in parts:
        found["shipping"] = shipping(args.tasks)
    if "codec" in parts:
        found["codec"] = codec()
    if "flagship" in found and "startup" in found and "shipping" in found:
        grid = found["flagship"]["cells"]
        over = found["shipping"]["scattered once"]
        print("estimate (flagship grid): " + estimate(
            grid["total"], grid["longest"], grid["n"], found["startup"][2]["open"], over))
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=2) + "\n")


if __name__ == "__main__":
    main()
