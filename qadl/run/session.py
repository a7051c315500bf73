"""Execute a checked program: train, defend and evaluate statements, in that order.

``run_program`` is the whole of ``qadl run``. It keeps one ``Session`` of mutable state
(data sets, classifiers, trained parameters) and writes everything it produces under
``RunOptions.out_dir``: ``results.json``, ``<model>.params.npz`` (loadable by
``qadl compile --bind``), checkpoints for ``--resume`` and PNG plots.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qadl.learn.data import Dataset
from qadl.program import Program
from qadl.run.context import RunOptions, Session, say
from qadl.run.evaluations import check_evaluations, run_evaluations
from qadl.run.executor import pool
from qadl.run.kernels import run_kernel_trainings
from qadl.run.outdir import OutputLock, clean_orphans, prepare_output_dir
from qadl.run.outputs import write_json
from qadl.run.privacy import check_privacy, run_privacy
from qadl.run.training import run_defences, run_trainings

__all__ = ["RunOptions", "run_program"]


def run_program(
    program: Program, options: RunOptions, *, preread: dict[str, Dataset] | None = None
) -> dict[str, Any]:
    """Run every statement of ``program``; returns (and writes) the ``results.json`` content.

    The output directory is created and proven writable before any work, and locked for
    the whole run (a second run into it is refused with E0802). ``preread`` holds data
    files already read (``qadl.run.preflight``), by data-set name.

    A program with a ``sweep`` runs one plain program per point (``qadl.run.sweep_run``;
    data files from the program's directory only) and returns the sweep's results.
    """
    if program.sweep is not None:
        from qadl.run.sweep_run import run_sweep

        return run_sweep(program, options)
    prepare_output_dir(options.out_dir, subdirs=("plots", "checkpoints"))
    with OutputLock(options.out_dir), pool(options.workers, options.scheduler):
        clean_orphans(options.out_dir)
        return _run_locked(program, options, preread or {})


@contextmanager
def _phase(timing: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall-clock seconds of the enclosed block to ``timing[name]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timing[name] = timing.get(name, 0.0) + time.perf_counter() - started


def _run_locked(
    program: Program, options: RunOptions, preread: dict[str, Dataset]
) -> dict[str, Any]:
    started = time.perf_counter()
    session = Session(program, options, preread=dict(preread))
    session.results.update(program=program.path, out_dir=str(options.out_dir))
    check_evaluations(session)
    check_privacy(session)
    timing = session.results.setdefault("timing", {})
    timing["setup"] = time.perf_counter() - started  # data sets read, models built
    with _phase(timing, "train"):
        run_trainings(session)
        run_kernel_trainings(session)
    write_json(options.out_dir / "results.json", session.results)
    with _phase(timing, "defend"):
        run_defences(session)
    write_json(options.out_dir / "results.json", session.results)
    with _phase(timing, "privacy"):
        run_privacy(session)
    with _phase(timing, "evaluate"):
        run_evaluations(session)
    session.results["seconds"] = timing["total"] = time.perf_counter() - started
    write_json(options.out_dir / "results.json", session.results)
    say(f"results in {options.out_dir / 'results.json'} ({session.results['seconds']:.1f} s)")
    return session.results
