"""``qadl compile``: a model to OpenQASM 3 (or IR text), optimised and routed for a target.

Imported only when the command is chosen (``cli.SUBCOMMANDS``); never imports Numba,
Qiskit or Matplotlib.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from qadl.cli import EXIT_OK, EXIT_USER, report
from qadl.errors import QadlError
from qadl.run.argtypes import int_at_least

__all__ = ["compile_configure", "compile_main"]


def compile_configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``qadl compile``."""
    parser.add_argument("file", metavar="FILE", help="the .qadl program")
    parser.add_argument("--model", help="the model to compile (default: every model)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="write <model>.qasm / <model>.ir here instead of printing",
    )
    parser.add_argument(
        "--bind",
        metavar="PARAMS.npz",
        help="bind trainable parameters to the array `theta` (or `<model>`) of this file, "
        "and the features to its optional array `x` (one sample)",
    )
    parser.add_argument("--emit", choices=("qasm", "ir"), default="qasm", help="output format")
    _add_compile_flags(parser)
    parser.add_argument(
        "--zne-scales", metavar="1,3,5",
        help="emit one circuit per odd folding scale (<model>.zne<S>.qasm), folded after "
        "routing and translation; needs -o",
    )
    parser.add_argument(
        "--zne-folding", choices=("global", "local"), default="global",
        help="fold the whole circuit (global) or every gate (local)",
    )
    parser.add_argument(
        "--calibration", choices=("tensored", "full"), default=None,
        help="also emit the readout calibration circuits (<model>.cal_<bits>.qasm); needs -o",
    )
    parser.add_argument(
        "--no-mitigation", action="store_true",
        help="emit the plain circuit only, not the circuits of the file's `mitigate` "
        "(by default, with --target T and -o, they are emitted for T)",
    )


def _add_compile_flags(parser: argparse.ArgumentParser) -> None:
    """COMPILE FLAGS — optimisation and target flags (qadl.passes)."""
    parser.add_argument(
        "--target",
        metavar="NAME",
        help="route and translate for a target: one the program declares or imports, "
        "`device` (the model's `device ... on` target), or built-in chain10 / heavy_hex27",
    )
    parser.add_argument(
        "-O", dest="opt_level", type=int, choices=(0, 1, 2, 3), default=None,
        help="optimisation level (default: 0 without --target, 3 with it)",
    )
    parser.add_argument(
        "--passes", metavar="SPEC",
        help="run these passes instead of a level, e.g. "
        "\"merge-rotations,cancel-inverses,resynth-1q{form='zyz'},lightcone\"",
    )
    parser.add_argument(
        "--report", action="store_true",
        help="print ops, 2-qubit ops, depth and time after each pass to stderr",
    )
    parser.add_argument(
        "--route-seed", type=int_at_least(0), default=11, metavar="N",
        help="SABRE routing seed (>= 0)",
    )


def _compile_pipeline(model, program, args: argparse.Namespace):
    """COMPILE PIPELINE — optimise (``-O``/``--passes``), then route/translate (``--target``).

    Returns the circuit to emit and extra keyword arguments for the QASM emitter.
    """
    from qadl.passes import (
        PassContext,
        PassTrace,
        compile_for_target,
        level_pipeline,
        parse_pass_spec,
    )

    trace = PassTrace()
    ctx = PassContext(trace=trace)
    circuit, extra = model.circuit, {}
    level = args.opt_level if args.opt_level is not None else (3 if args.target else 0)
    try:
        custom = parse_pass_spec(args.passes) if args.passes is not None else None
        if custom is not None:
            circuit = custom(circuit, ctx=ctx)
    except (ValueError, TypeError) as err:  # unknown pass, bad option name or value
        raise QadlError.at("E0613", f"bad --passes: {err}", _command_span("qadl compile")) from None
    if args.target:
        target = _find_target(args.target, model, program, args.file)
        x = _bound_features(args.bind, model) if args.bind else None
        spec = program.target_specs.get(target.name)
        builtin = _command_span(f"qadl compile --target {target.name}")
        span = spec.span if spec is not None else builtin
        level = 0 if custom is not None else level  # --passes replaces the level's passes
        compiled = compile_for_target(circuit, target, level, x=x, seed=args.route_seed, span=span)
        trace.entries.extend(compiled.trace.entries)
        circuit = compiled.circuit
        final = compiled.final_permutation[: model.num_qubits]
        perm = " ".join(f"{v}->{p}" for v, p in enumerate(final))
        how = "--passes" if custom is not None else f"-O{level}"
        extra = {
            "physical": True,
            "layout": compiled.layout[: model.num_qubits],
            "header_comments": (
                f"target {target.name}, {how}; final layout (logical->physical): {perm}",
            ),
        }
    elif custom is None and level:
        circuit = level_pipeline(level)(circuit, ctx=ctx)
    if args.report:
        print(f"// {model.name}: passes\n{trace.table()}", file=sys.stderr)
    return circuit, extra


def _find_target(name: str, model, program, path: str):
    """The target called ``name``: declared in the program, ``device``, or built in."""
    from qadl.passes.devices import BUILTIN_TARGETS

    if name == "device" and name not in program.targets:
        if program.target_of(model.name) is not None:
            return program.target_of(model.name)
        raise QadlError.at(
            "E0612",
            f"--target device: model `{model.name}` in {path} is not bound to a device",
            _command_span("qadl compile"),
            help=f"add `device {model.name} on TARGET` to the program, or name a target",
        )
    if name in program.targets:
        return program.targets[name]
    if name in BUILTIN_TARGETS:
        return BUILTIN_TARGETS[name]
    declared = ", ".join(sorted(program.targets)) or "none"
    if program.target_of(model.name) is not None:
        declared += " (and `device`)"
    raise QadlError.at(
        "E0612",
        f"no target `{name}` in {path}; declared: {declared}; "
        f"built-in: {', '.join(sorted(BUILTIN_TARGETS))}",
        _command_span("qadl compile"),
        help="pass one of those names to --target",
    )


def _bind_arrays(path: str) -> dict:
    """The arrays of a ``--bind`` ``.npz`` file, read without ever unpickling.

    Raises:
        QadlError: E0710 (unreadable, not an archive) or E0805 (a lone ``.npy`` array,
            object or non-numeric arrays, NaN/inf), without a line:col (a whole-file error).
    """
    import zipfile

    import numpy as np

    span = _file_span(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise QadlError.at(
            "E0710", f"cannot read parameters from `{path}`: {reason}", span,
            help="--bind takes the `.npz` a run writes (`<model>.params.npz`)",
        ) from None
    if isinstance(loaded, np.ndarray):
        raise QadlError.at(
            "E0805", f"`{path}` holds a single array (.npy); --bind needs an .npz archive", span,
            help="save it with `numpy.savez(FILE, theta=...)`",
        )
    try:
        arrays = {name: loaded[name] for name in loaded.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:  # pickled object arrays
        raise QadlError.at(
            "E0805", f"`{path}`: an array that cannot be read without unpickling: {err}", span,
            help="qadl never unpickles --bind files; store plain float arrays",
        ) from None
    finally:
        loaded.close()
    for name, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise QadlError.at(
                "E0805", f"`{path}`: array `{name}` holds {array.dtype} values, not real numbers",
                span,
            )
        if not np.all(np.isfinite(array)):
            raise QadlError.at("E0805", f"`{path}`: array `{name}` holds NaN or inf", span)
    return arrays


def _bound_params(path: str, model) -> object:
    import numpy as np

    span = _file_span(path)
    data = _bind_arrays(path)
    key = "theta" if "theta" in data else model.name if model.name in data else None
    if key is None:
        raise QadlError.at("E0710", f"`{path}` has no array `theta` or `{model.name}`", span)
    theta = np.asarray(data[key], dtype=float).reshape(-1)
    if theta.size != model.num_params:
        raise QadlError.at(
            "E0711",
            f"`{path}`: `{key}` has {theta.size} values but model "
            f"`{model.name}` has {model.num_params} parameters",
            span,
        )
    return theta


def compile_main(args: argparse.Namespace) -> int:
    """Compile the chosen model(s) to QASM or IR text."""
    from qadl.api import load
    from qadl.source import SourceMap

    sources = SourceMap()
    try:
        if args.output is not None:  # before any work: an unusable -o fails at once
            from qadl.run.outdir import prepare_output_dir

            prepare_output_dir(Path(args.output), "-o")
        program = load(args.file, sources=sources)
        if args.model is not None and args.model not in {**program.models, **program.kernels}:
            known = ", ".join([*program.models, *program.kernels]) or "none"
            raise QadlError.at(
                "E0231",
                f"no model `{args.model}` in {args.file}; declared: {known}",
                _command_span("qadl compile"),
                help="pass one of those names to --model",
            )
        if args.bind is not None and args.emit == "ir":
            raise QadlError.at(
                "E0807",
                "--bind binds values into OpenQASM; the IR (--emit ir) is always printed unbound",
                _command_span("qadl compile"),
                help="drop --bind, or emit OpenQASM (--emit qasm)",
            )
        models = _compiled_models(program, args.model)
        _check_mitigation_flags(args)
        outputs = [out for m in models for out in _emit_all(m, program, args)]
    except QadlError as err:
        report(err, sources)
        return EXIT_USER
    try:
        _write(outputs, args)
    except QadlError as err:
        report(err, sources)
        return EXIT_USER
    return EXIT_OK


def _compiled_models(program, name: str | None) -> list:
    """The models ``qadl compile`` emits: each model, and each kernel's compute-uncompute
    circuit (``qadl.ir.kernel.compute_uncompute``)."""
    from qadl.ir.kernel import compute_uncompute

    if name is not None and name in program.kernels:
        return [compute_uncompute(program.kernels[name])]
    if name is not None:
        return [program.models[name]]
    return list(program.models.values()) + [compute_uncompute(k) for k in program.kernels.values()]


def _file_span(path: str):
    """A whole-file span: rendered as ``PATH: error[...]`` when PATH is not a loaded source."""
    from qadl.source import Span

    return Span(path, 0, 0)


def _command_span(command: str):
    """A span for a command-line mistake: rendered ``qadl compile: error[...]``, no line:col."""
    from qadl.source import Span

    return Span(command, 0, 0)


def _emit_all(model, program, args: argparse.Namespace) -> list[tuple[str, str]]:
    """``(file name, text)`` of the model, and of its folded and calibration circuits and
    mitigation manifest when the flags or the file ask for them (``qadl.cli_mitigation``)."""
    from qadl.cli_mitigation import mitigation_plan

    suffix = ".qasm" if args.emit == "qasm" else ".ir"
    circuit, extra = _compile_pipeline(model, program, args)
    target = _find_target(args.target, model, program, args.file) if args.target else None
    plan = mitigation_plan(model.name, program, target and target.name, args)
    plain = (f"{model.name}{suffix}", _emit(circuit, model, args, extra))
    if plan is None:
        return [plain]
    if args.output is None:  # only the file's declarations reach here: flags need -o
        print(
            f"note: model `{model.name}` declares mitigation on `{target.name}`: add -o DIR to "
            "emit its circuits and manifest (or --no-mitigation to emit the plain circuit only)",
            file=sys.stderr,
        )
        return [plain]
    from qadl.cli_mitigation import mitigation_outputs

    def emit(variant, note: str, bind: bool) -> str:
        notes = (*extra.get("header_comments", ()), note)
        return _emit(variant, model, args, {**extra, "header_comments": notes}, bind=bind)

    span = plan.declared[0].span if plan.declared else _command_span("qadl compile")
    return [plain, *mitigation_outputs(model.name, plan, circuit, target, plain[0], emit, span,
                                       program.sources)]


def _check_mitigation_flags(args: argparse.Namespace) -> None:
    from qadl.cli_mitigation import check_flags

    check_flags(args, _command_span("qadl compile"))


def _emit(circuit, model, args: argparse.Namespace, extra: dict, bind: bool = True) -> str:
    """The text of ``circuit``; ``bind`` False: a calibration circuit (nothing to bind)."""
    if args.emit == "ir":
        from qadl.ir.printer import format_circuit

        return format_circuit(circuit)
    from qadl.backends.qasm3 import emit

    path = args.bind if bind else None
    theta = _bound_params(path, model) if path else None
    x = _bound_features(path, model) if path else None
    return emit(circuit, theta=theta, x=x, **extra)


def _bound_features(path: str, model) -> object:
    """One sample's features from the optional array ``x`` of the ``--bind`` file, or None."""
    import numpy as np

    from qadl.source import Span

    data = _bind_arrays(path)
    if "x" not in data:
        return None
    x = np.asarray(data["x"], dtype=float).reshape(-1)
    if x.size != model.num_features:
        raise QadlError.at(
            "E0711",
            f"`{path}`: `x` has {x.size} values but model `{model.name}` has "
            f"{model.num_features} features",
            Span(path, 0, 0),
        )
    return x


def _write(outputs: list[tuple[str, str]], args: argparse.Namespace) -> None:
    """Each ``(file name, text)`` into ``-o DIR``, or every text to stdout."""
    if args.output is None:
        for _, text in outputs:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from qadl.run.outputs import write_text

    out = Path(args.output)
    for name, text in outputs:  # each file whole or not at all (temporary file, then rename)
        print(f"wrote {write_text(out / name, text, '-o')}")
