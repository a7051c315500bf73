"""``qadl run``: execute a program's training, attacks, defences and evaluations.

The command-line hooks ``run_configure``/``run_main`` live here; the work is in
``qadl.run.session`` (imported only when the command runs, so ``--help`` stays fast).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["run_configure", "run_main"]


def run_configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qadl run``."""
    from qadl.run.argtypes import int_at_least

    parser.add_argument("file", metavar="FILE", help="the .qadl program to run")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: runs/<file stem>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue interrupted trainings from their checkpoints in DIR "
                        "and skip the evaluation tasks already finished there")
    parser.add_argument("--max-epochs", type=int_at_least(1), metavar="N",
                        help="cap every training at N epochs (for a quick look)")
    parser.add_argument("--samples", type=int_at_least(1), metavar="N",
                        help="evaluate and attack at most N test samples (for a quick look)")
    parser.add_argument("--no-plots", action="store_true", help="do not draw PNG plots")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--workers", type=int_at_least(1), metavar="N",
                        help="run evaluation tasks on a local Dask cluster of N worker processes "
                        "(needs the qadl[dask] extra)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run evaluation tasks on the Dask cluster whose scheduler listens "
                        "at ADDRESS (tcp://HOST:PORT)")
    from qadl.run.data_preflight import add_data_flags

    add_data_flags(parser)


def run_main(args: argparse.Namespace) -> int:
    """Load, check and run the program; exit 0 on success."""
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    from qadl.api import load
    from qadl.run.data_preflight import policy_from
    from qadl.run.preflight import preflight
    from qadl.run.session import RunOptions, run_program

    program = load(args.file)
    if args.workers is not None or args.scheduler is not None:  # before any work
        from qadl.run.cluster import check_cluster_options
        from qadl.source import Span

        check_cluster_options(args.workers, args.scheduler, Span(args.file, 0, 0))
    policy = policy_from(args)
    # everything `qadl check` can know, before any training (data files are read here)
    checked = preflight(program, policy, max_samples=args.samples)
    from qadl.run.sweep_check import check_points

    check_points(program, policy, max_samples=args.samples)  # each point of a sweep
    for line in checked.log_lines():
        print(line, flush=True)
    out = Path(args.out) if args.out else Path("runs") / Path(args.file).stem
    options = RunOptions(
        out_dir=out, resume=args.resume, progress=not args.no_progress,
        max_epochs=args.max_epochs, max_samples=args.samples, plots=not args.no_plots,
        max_data_bytes=policy.max_bytes, workers=args.workers, scheduler=args.scheduler,
    )
    if program.sweep is not None:  # one run per point, each with its own data reads
        from qadl.run.sweep_run import run_sweep

        run_sweep(program, options, policy)
        return 0
    run_program(program, options, preread=checked.files)  # files are not read twice
    return 0
