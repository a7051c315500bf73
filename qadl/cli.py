"""The ``qadl`` command line: argparse subcommands; QadlError -> exit 1, anything else -> exit 101.

Start-up is cheap on purpose: only the chosen subcommand's code is imported, and the
``check``/``compile`` paths never import Numba, Qiskit or Matplotlib (a test checks it).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from qadl.errors import QadlError

__all__ = ["EXIT_INTERNAL", "EXIT_OK", "EXIT_USER", "SUBCOMMANDS", "Subcommand", "main", "report"]

EXIT_OK = 0
EXIT_USER = 1
"""The program is wrong (diagnostics on stderr)."""
EXIT_USAGE = 2
"""Bad command line (argparse's convention)."""
EXIT_INTERNAL = 101
"""A bug in qadl (rustc's panic convention)."""
EXIT_BROKEN_PIPE = 141
"""stdout's reader went away (``| head``): the shell's status for a SIGPIPE death."""


@dataclass(frozen=True)
class Subcommand:
    """One ``qadl <name>`` command; ``target`` is ``"module:prefix"``.

    The module is imported only when this command is chosen; it must define
    ``<prefix>_configure(parser)`` and ``<prefix>_main(args) -> int``.
    """

    name: str
    help: str
    target: str


# =================================================================================================
# SUBCOMMAND TABLE — add commands here (e.g. Subcommand("run", "...", "qadl.run:run")).
# The module is imported lazily, so keep heavy imports (numba, qiskit) out of `*_configure`.
# =================================================================================================
SUBCOMMANDS: list[Subcommand] = [
    Subcommand("check", "check programs for errors (exit 1 if any)", "qadl.cli:check"),
    Subcommand("compile", "compile a model to OpenQASM 3 or IR text", "qadl.cli_compile:compile"),
    Subcommand("run", "train, attack, defend and evaluate: run a program", "qadl.run:run"),
]


def _resolve(
    sub: Subcommand,
) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]:
    module_name, prefix = sub.target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, f"{prefix}_configure"), getattr(module, f"{prefix}_main")


# ---- qadl check ---------------------------------------------------------------------------------


def check_configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qadl check``."""
    from qadl.run.data_preflight import add_data_flags

    parser.add_argument("files", nargs="+", metavar="FILE", help=".qadl files to check")
    add_data_flags(parser)


def _colour(text: str) -> str:
    """ANSI colours for a rendered diagnostic: red headers, blue gutters, cyan help."""
    import re

    header = "\\1\033[1;31m\\2\\3\033[0m\033[1m\\4\033[0m"
    text = re.sub(r"^(.*?: )(error)(\[E\d{4}\]: )(.*)$", header, text, flags=re.MULTILINE)
    text = re.sub(r"^(\s*\d*\s*\|)", "\033[34m\\1\033[0m", text, flags=re.MULTILINE)
    return re.sub(r"^(  = help:)", "\033[36m\\1\033[0m", text, flags=re.MULTILINE)


def report(err: QadlError, sources) -> None:
    """Print diagnostics to stderr (coloured only on a terminal, and never with NO_COLOR)."""
    from qadl.diagnostics import render_all

    text = render_all(err.diagnostics, sources)
    if sys.stderr.isatty() and "NO_COLOR" not in os.environ:
        text = _colour(text)
    print(text, file=sys.stderr)


def _sources_of(err: QadlError):
    """A SourceMap of the files the diagnostics point into, read from disk (for commands
    such as ``run`` whose errors may surface after loading, far from the loader's map)."""
    from qadl.source import SourceFile, SourceMap

    sources = SourceMap()
    for diag in err.diagnostics:
        for label in (diag.primary, *diag.secondary):
            path = label.span.file
            if label.span.start == label.span.end == 0:
                continue  # a whole-file or command-line error (`--out`, `--bind`): no line:col
            if sources.get(path) is None and Path(path).is_file():
                # an unreadable file is rendered without its source line, still with the path
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    sources.add(SourceFile.read(path))
    return sources


def check_main(args: argparse.Namespace) -> int:
    """Check every file, data and preflight included (``qadl.run.preflight``); print
    diagnostics to stderr; exit 1 if any file has errors."""
    from qadl.api import load
    from qadl.run.data_preflight import policy_from
    from qadl.run.preflight import preflight
    from qadl.run.sweep_check import check_points
    from qadl.source import SourceMap

    status = EXIT_OK
    policy = policy_from(args)
    for path in args.files:
        sources = SourceMap()
        try:
            program = load(path, sources=sources)
            preflight(program, policy)
            check_points(program, policy)  # every point of a sweep, checked as its own program
        except QadlError as err:
            report(err, sources)
            status = EXIT_USER
            continue
        models = (
            ", ".join(
                [
                    f"{m.name} ({m.num_qubits} qubits, {m.num_params} params)"
                    for m in program.models.values()
                ]
                + [
                    f"{k.name} ({k.kind} kernel, {k.num_qubits} qubits)"
                    for k in program.kernels.values()
                ]
            )
            or "no models"
        )
        if program.sweep is not None:
            from qadl.run.sweep_run import describe

            models += f"; {describe(program)}"
        print(f"{path}: ok: {models}")
    return status


# ---- main ---------------------------------------------------------------------------------------


def _chosen(argv: Sequence[str]) -> str | None:
    names = {s.name for s in SUBCOMMANDS}
    return next((a for a in argv if a in names), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The argument parser; only the chosen subcommand's module is imported to configure it."""
    from qadl import __version__

    parser = argparse.ArgumentParser(
        prog="qadl",
        description="qadl: adversarial quantum machine "
        "learning — check, compile and run .qadl programs",
    )
    parser.add_argument("--version", action="version", version=f"qadl {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _chosen(argv)
    for sub in SUBCOMMANDS:
        sp = subparsers.add_parser(sub.name, help=sub.help, description=sub.help)
        if sub.name == chosen:
            configure, run = _resolve(sub)
            configure(sp)
            sp.set_defaults(func=run)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):  # no file descriptor (a captured stream)
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)


def _internal_error(err: BaseException) -> int:
    if os.environ.get("QADL_BACKTRACE") == "1":
        import traceback

        traceback.print_exception(err, file=sys.stderr)
    line = f"{type(err).__name__}: {err}".splitlines()[0] if str(err) else type(err).__name__
    print(
        f"internal error in qadl (this is a bug): {line}; re-run with QADL_BACKTRACE=1 for the "
        "Python traceback",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qadl`` console script; returns the exit code.

    Without ``argv`` (the process's own command line), the garbage collector's full passes
    are spaced out and skipped at exit: each traces every live object, and a run keeps a
    quarter million (modules, compiled kernels, figures), 0.1–0.2 s a pass; the default
    spacing made 5–13 passes a run, the interpreter's shutdown one more.
    """
    import gc

    if argv is None:  # a full pass after 100 young-generation passes instead of 10
        gc.set_threshold(*gc.get_threshold()[:2], 100)
    code = _dispatch(list(sys.argv[1:] if argv is None else argv))
    if argv is None:  # the process exits next: nothing left to collect
        gc.freeze()
    return code


def _dispatch(argv: list[str]) -> int:
    """Parse ``argv`` and run its command; the exit code."""
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        if getattr(args, "func", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.func(args))
    except SystemExit as exit_:
        return int(exit_.code) if isinstance(exit_.code, int) else EXIT_USAGE
    except QadlError as err:
        report(err, _sources_of(err))
        return EXIT_USER
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `qadl run | head`: the reader left; stop quietly, as SIGPIPE would
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as err:  # the last line of defence: never a raw traceback
        return _internal_error(err)
