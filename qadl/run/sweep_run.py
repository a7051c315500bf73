"""Running a ``sweep``: one plain run per point, then the aggregate report.

Each point is a ``Task`` of ``qadl.run.executor`` whose function, ``run_point``, is a pure
function of (program text and path, the point's bindings, its output directory, the run
options): it checks the file with the constants bound and runs it exactly as ``qadl run``
runs a file with those constants edited by hand, into ``OUT/points/<key>/``. The sweep
then writes ``OUT/results.json`` (axes, every point's numbers, the aggregate over the
replicate axes; no wall-clock time), ``OUT/timings.json`` (seconds per point), a table
and ``OUT/plots/sweep_*.png``. Finished points are kept in ``OUT/tasks/`` (one JSON each),
so ``--resume`` skips them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from qadl.errors import QadlError
from qadl.program import Program
from qadl.run.context import RunOptions, say
from qadl.run.data_preflight import DataPolicy
from qadl.run.outdir import OutputLock, prepare_output_dir
from qadl.run.outputs import write_json
from qadl.run.preflight import preflight
from qadl.run.sweep_plan import SweepPoint, plan_points, point_key
from qadl.run.sweep_report import aggregate, plot_sweep, point_metrics, sweep_table

__all__ = ["describe", "point_tasks", "run_point", "run_sweep", "sweep_results"]


def run_point(
    path: str, text: str, bindings: dict[str, Any], out_dir: str, options: dict[str, Any],
    policy: DataPolicy | None = None,
) -> dict[str, Any]:
    """Run one point: the file ``path`` (its ``text``) with ``bindings`` for its constants,
    into ``out_dir``. Returns ``{"metrics": [...], "seconds": s}`` (``point_metrics``).

    Raises:
        QadlError: the point's program fails; each diagnostic's hint names the point.
    """
    from qadl.api import loads
    from qadl.run.session import run_program

    started = time.perf_counter()
    try:
        program = loads(text, path, real_path=Path(path).resolve(), bindings=bindings)
        checked = preflight(program, policy, max_samples=options.get("max_samples"))
        run_options = RunOptions(out_dir=Path(out_dir), **options)
        results = run_program(program, run_options, preread=checked.files)
    except QadlError as err:
        where = f"in the sweep point {point_key(tuple(bindings.items()))}"
        raise QadlError(tuple(
            replace(d, help=f"{d.help}; {where}" if d.help else where)
            for d in err.diagnostics
        )) from None
    return {"metrics": point_metrics(results), "seconds": time.perf_counter() - started}


def _point_options(options: RunOptions) -> dict[str, Any]:
    """The options every point runs with: the sweep's own, serial inside the point, and
    no progress bars of its own (the sweep shows tasks done/total)."""
    inner = replace(options, workers=None, scheduler=None, progress=False)
    fields = asdict(inner)
    del fields["out_dir"]
    return fields


def point_tasks(program: Program, options: RunOptions, policy: DataPolicy | None = None):
    """The ``Task`` of every point of ``program``'s sweep, in grid order."""
    from qadl.run.executor import Task

    sweep = program.sweep
    if sweep is None:
        raise ValueError(f"{program.path} has no sweep")
    source = program.sources.get(program.path)
    if source is None:
        raise ValueError(f"the source of {program.path} is not in the program's source map")
    inner = _point_options(options)
    return [
        Task(p.key, run_point, (program.path, source.text, dict(p.bindings),
                                str(options.out_dir / "points" / p.key), inner, policy))
        for p in plan_points(sweep)
    ]


def sweep_results(program: Program, points: tuple[SweepPoint, ...],
                  done: dict[str, Any]) -> dict[str, Any]:
    """The sweep's ``results.json``: axes, points with their numbers, and the aggregate."""
    sweep = program.sweep
    assert sweep is not None
    metrics = {p.key: done[p.key]["metrics"] for p in points}
    return {
        "program": program.path,
        "sweep": {
            "axes": [{"name": a.name, "values": list(a.values)} for a in sweep.axes],
            "replicate": list(sweep.replicate),
            "size": sweep.size,
        },
        "points": [
            {"key": p.key, "dir": f"points/{p.key}", "bindings": dict(p.bindings),
             "metrics": metrics[p.key]}
            for p in points
        ],
        "aggregate": aggregate(points, metrics, sweep.replicate),
    }


def run_sweep(
    program: Program, options: RunOptions, policy: DataPolicy | None = None
) -> dict[str, Any]:
    """Run every point of ``program``'s sweep (serially, or on Dask when ``options`` name
    workers or a scheduler); returns (and writes) the sweep's ``results.json`` content."""
    from qadl.run.executor import ResultStore, execute

    sweep = program.sweep
    assert sweep is not None
    out = options.out_dir
    prepare_output_dir(out, subdirs=("points", "plots", "tasks"))
    (out / "plots").mkdir(exist_ok=True)
    points = plan_points(sweep)
    shape = " × ".join(f"{a.name} ({len(a.values)})" for a in sweep.axes)
    say(f"sweep {shape}: {sweep.size} points into {out / 'points'}")
    started = time.perf_counter()
    with OutputLock(out):
        done = execute(
            point_tasks(program, options, policy), ResultStore(out / "tasks"),
            workers=options.workers, scheduler=options.scheduler, resume=options.resume,
            progress=options.progress,
        )
        results = sweep_results(program, points, done)
        write_json(out / "results.json", results)
        # wall-clock lives apart, so results.json is the same however the points ran
        write_json(out / "timings.json", {
            "total": time.perf_counter() - started,
            "points": {p.key: done[p.key]["seconds"] for p in points},
            "note": "seconds per point as measured where it ran; a resumed point keeps "
                    "the time of the run that finished it",
        })
        _print_table(results, sweep.replicate)
        if options.plots:
            plot_sweep(out, results["aggregate"], sweep.axes, sweep.replicate)
    say(f"sweep results in {out / 'results.json'}")
    return results


def _print_table(results: dict[str, Any], replicate: tuple[str, ...]) -> None:
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # a log file: wide enough that no number is cut
        console = Console(width=120)
    console.print(sweep_table(results["aggregate"], replicate))


def describe(program: Program) -> str:
    """``sweep of 20 points: SEED (10) × LR (2), aggregated over SEED`` for ``qadl check``."""
    sweep = program.sweep
    assert sweep is not None
    shape = " × ".join(f"{a.name} ({len(a.values)})" for a in sweep.axes)
    over = f", aggregated over {', '.join(sweep.replicate)}" if sweep.replicate else ""
    return f"sweep of {sweep.size} points: {shape}{over}"
