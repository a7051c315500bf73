"""Run programs and read what ``qadl run`` wrote: ``qadl.runs.load("runs/NAME")`` -> ``Run``.

A run directory holds ``results.json`` and one ``MODEL.params.npz`` per trained or
defended model (array ``theta``). Pass a ``Run`` to ``Program.classifier(name, params=run)``
to get the trained classifier. ``qadl.runs.run(path)`` is ``qadl run`` from Python.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qadl.errors import QadlError
from qadl.source import Span

__all__ = ["Run", "load", "run"]

SUFFIX = ".params.npz"


@dataclass(frozen=True)
class Run:
    """The outputs of one ``qadl run``."""

    path: Path
    results: dict[str, Any]
    """``results.json`` as a dict (empty when the run wrote none yet)."""
    params: dict[str, Any] = field(default_factory=dict)
    """Trained θ per model name (NumPy arrays)."""

    def params_of(self, name: str):
        """θ of model ``name``; a ``KeyError`` naming the models this run trained."""
        if name not in self.params:
            have = ", ".join(sorted(self.params)) or "none"
            raise KeyError(f"run `{self.path}` has no parameters for `{name}` (it has: {have})")
        return self.params[name]


def _where(path: Path) -> Span:
    return Span(str(path), 0, 0)


def _read_params(path: Path):
    """``theta`` of one ``.params.npz`` (never unpickled), or E0851."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            if "theta" not in archive.files:
                raise ValueError("it holds no array `theta`")
            theta = np.asarray(archive["theta"], dtype=float)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise QadlError.at(
            "E0851",
            f"cannot read the parameters in `{path}`: {err}",
            _where(path),
            help="rerun `qadl run` to write them again",
        ) from None
    if theta.ndim != 1 or not np.all(np.isfinite(theta)):
        raise QadlError.at(
            "E0851",
            f"cannot read the parameters in `{path}`: `theta` is not a finite vector",
            _where(path),
            help="rerun `qadl run` to write them again",
        )
    return theta


def load(path: str | Path) -> Run:
    """The results and trained parameters of a ``qadl run`` output directory.

    Raises:
        QadlError: E0850 when ``path`` is not a run directory (no ``results.json`` and
            no ``*.params.npz``) or ``results.json`` is not JSON; E0851 for a damaged
            parameter file.
    """
    root = Path(path)
    if not root.is_dir():
        raise QadlError.at(
            "E0850", f"`{root}` is not a directory", _where(root),
            help="give the --out directory of a `qadl run` (default runs/<file stem>)",
        )
    files = sorted(root.glob(f"*{SUFFIX}"))
    results_file = root / "results.json"
    if not files and not results_file.is_file():
        raise QadlError.at(
            "E0850", f"`{root}` holds no `results.json` and no `*{SUFFIX}`: not a run directory",
            _where(root),
            help="give the --out directory of a `qadl run` (default runs/<file stem>)",
        )
    results: dict[str, Any] = {}
    if results_file.is_file():
        try:
            results = json.loads(results_file.read_text(encoding="utf-8"))
            if not isinstance(results, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as err:
            raise QadlError.at(
                "E0850", f"cannot read `{results_file}`: {err}", _where(results_file),
                help="rerun `qadl run` to write it again",
            ) from None
    params = {p.name[: -len(SUFFIX)]: _read_params(p) for p in files}
    return Run(path=root, results=results, params=params)


def run(
    path: str | Path,
    *,
    out: str | Path | None = None,
    max_epochs: int | None = None,
    samples: int | None = None,
    plots: bool = True,
    progress: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
) -> Run:
    """``qadl run PATH`` in this process; returns the ``Run`` it wrote.

    The same checks (the preflight of ``qadl check``, data files from the program's
    directory only), the same output directory (default ``runs/<file stem>``) and the
    same log lines on stdout; ``max_epochs``/``samples``/``plots`` are ``--max-epochs``,
    ``--samples`` and ``--no-plots``; ``workers``/``scheduler``/``resume`` are
    ``--workers``, ``--scheduler`` and ``--resume``.

    Raises:
        QadlError: whatever ``qadl run`` reports as a diagnostic.
    """
    from qadl.api import load as load_program
    from qadl.run.preflight import preflight
    from qadl.run.session import RunOptions, run_program

    for name, value in (("max_epochs", max_epochs), ("samples", samples)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    program = load_program(path)
    if workers is not None or scheduler is not None:
        from qadl.run.cluster import check_cluster_options

        check_cluster_options(workers, scheduler, _where(Path(path)))
    checked = preflight(program, None, max_samples=samples)
    for line in checked.log_lines():
        print(line, flush=True)
    directory = Path(out) if out is not None else Path("runs") / Path(path).stem
    options = RunOptions(
        out_dir=directory, progress=progress, max_epochs=max_epochs, max_samples=samples,
        plots=plots, workers=workers, scheduler=scheduler, resume=resume,
    )
    if program.sweep is not None:  # one run per point: `directory/points/<key>`
        from qadl.run.sweep_check import check_points
        from qadl.run.sweep_run import run_sweep

        check_points(program, None, max_samples=samples)
        run_sweep(program, options)
    else:
        run_program(program, options, preread=checked.files)
    return load(directory)
