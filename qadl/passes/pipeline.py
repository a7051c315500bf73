"""Level pipelines, ``--passes`` specs, and ``compile_for_target`` (optimise, route, translate)."""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qadl.errors import InternalError, QadlError
from qadl.ir.circuit import Circuit
from qadl.ir.gates import GATES, Gate
from qadl.ir.target import Target
from qadl.ir.verify import verify
from qadl.passes.analysis import circuit_stats, non_native_ops, uncoupled_ops
from qadl.passes.base import (
    REGISTRY,
    PassContext,
    PassTrace,
    Pipeline,
    TraceEntry,
    cyclic_gc_paused,
    fixed_point,
)
from qadl.passes.levels import LEVELS, POST_ROUTING, PRE_ROUTING
from qadl.passes.route_sabre import RoutingError, route
from qadl.passes.translate_basis import TranslationError, native_gates
from qadl.source import NO_SPAN, Span

__all__ = [
    "CompiledCircuit",
    "compile_for_target",
    "level_pipeline",
    "optimize",
    "parse_pass_spec",
    "resynth_form",
]

PassFn = Callable[..., Circuit]


def _bound(name: str, options: dict[str, object]) -> PassFn:
    """The registered pass ``name`` with keyword ``options`` fixed."""
    if name not in REGISTRY:
        raise ValueError(f"unknown pass {name!r}; known passes: {', '.join(sorted(REGISTRY))}")
    pass_ = REGISTRY[name]
    if not options:
        return pass_

    def bound(circuit: Circuit, /, *, ctx: PassContext) -> Circuit:
        return pass_(circuit, ctx=ctx, **options)

    bound.name = name  # type: ignore[attr-defined]
    bound.settle_key = (name, tuple(sorted(options.items())))  # type: ignore[attr-defined]
    return bound


def level_pipeline(
    level: int,
    *,
    options: dict[str, dict[str, object]] | None = None,
    stage: dict[int, tuple[str, ...]] = LEVELS,
) -> PassFn:
    """The passes of ``stage[level]`` repeated to a fixed point (O0: the identity pipeline).

    Args:
        level: 0 … 3.
        options: per-pass keyword options, e.g. ``{"resynth-1q": {"form": "zyz"}}``.
        stage: ``LEVELS`` (default), or ``PRE_ROUTING`` / ``POST_ROUTING`` for
            ``compile_for_target``'s stages.
    """
    if level not in stage:
        raise ValueError(f"optimisation level must be one of {sorted(stage)}, got {level}")
    options = options or {}
    return fixed_point(tuple(_bound(name, options.get(name, {})) for name in stage[level]))


def optimize(circuit: Circuit, level: int = 3, *, ctx: PassContext | None = None) -> Circuit:
    """Run optimisation level ``level`` (no routing, no translation)."""
    return level_pipeline(level)(circuit, ctx=ctx or PassContext())


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets, braces and parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == sep and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _check_brackets(spec: str) -> None:
    """Raise ``ValueError`` unless every ``( [ {`` in ``spec`` is closed, in order."""
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for ch in spec:
        if ch in "([{":
            stack.append(ch)
        elif ch in closing and (not stack or stack.pop() != closing[ch]):
            raise ValueError(f"unmatched {ch!r} in pass spec {spec!r}")
    if stack:
        raise ValueError(f"unclosed {stack[-1]!r} in pass spec {spec!r}")
    if not _split_top(spec):
        raise ValueError("empty pass spec; name at least one pass, e.g. 'merge-rotations'")


def _value(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_pass_spec(spec: str) -> Pipeline:
    """Build a pipeline from ``"merge-rotations,resynth-1q{form='zyz'},lightcone"``.

    Options use the xDSL style ``name{key=value, …}``; values are Python literals
    (numbers, strings, booleans, tuples), bare words are strings.

    Raises:
        ValueError: for unknown passes or malformed options.
    """
    _check_brackets(spec)
    passes = []
    for item in _split_top(spec):
        name, brace, rest = item.partition("{")
        options: dict[str, object] = {}
        if brace:
            if not rest.endswith("}"):
                raise ValueError(f"unclosed options in pass spec {item!r}; write name{{key=value}}")
            for pair in _split_top(rest[:-1]):
                key, eq, value = pair.partition("=")
                if not eq:
                    raise ValueError(f"option {pair!r} of {name!r} is not key=value")
                options[key.strip().replace("-", "_")] = _value(value.strip())
        passes.append(_bound(name.strip(), options))
    return Pipeline(tuple(passes), name=spec)


def resynth_form(target: Target) -> str:
    """The ``resynth-1q`` form whose gates are all native on ``target``."""
    basis = frozenset(target.basis)
    if {Gate.RX, Gate.RY, Gate.RZ} <= basis:
        return "xyz"
    if {Gate.RY, Gate.RZ} <= basis:
        return "zyz"
    if {Gate.RZ, Gate.SX, Gate.X} <= basis:
        return "zsx"
    return "u"


@dataclass(frozen=True)
class CompiledCircuit:
    """The result of ``compile_for_target``: a native, routed circuit and how it was made.

    ``layout[v]`` / ``final_permutation[v]``: physical qubit holding virtual qubit ``v``
    at the start / end. The circuit's readout already measures the final positions.
    """

    circuit: Circuit
    layout: tuple[int, ...]
    final_permutation: tuple[int, ...]
    trace: PassTrace


def _target_error(message: str, hint: str, span: Span = NO_SPAN) -> QadlError:
    return QadlError.at("E0610", message, span, help=hint)


def _expand_amplitudes(circuit: Circuit, x, delta, span: Span) -> Circuit:
    if not any(op.gate is Gate.AMPLITUDE for op in circuit.ops):
        return circuit
    from qadl.ir.stateprep import expand_amplitude

    if x is None and any(
        not a.is_constant for op in circuit.ops for a in op.angles if op.gate is Gate.AMPLITUDE
    ):
        raise _target_error(
            "amplitude encoding cannot be compiled for a device with symbolic features",
            "its rotation angles are not polynomials of the features; bind one sample "
            "(x=...) to compile the state preparation for it",
            span,
        )
    try:
        return expand_amplitude(
            circuit,
            None if x is None else np.asarray(x),
            None if delta is None else np.asarray(delta),
        )
    except ValueError as err:  # unbound δ symbols, an all-zero amplitude vector …
        raise _target_error(
            f"cannot expand amplitude encoding: {err}", "check the bound sample", span
        ) from err


def _timed(name: str, fn: Callable[[], object], circuit: Circuit, trace: PassTrace | None):
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    if trace is not None:
        out = result.circuit if hasattr(result, "circuit") else result
        trace.record(TraceEntry(name, circuit_stats(circuit), circuit_stats(out), seconds))
    return result


@cyclic_gc_paused()
def compile_for_target(
    circuit: Circuit,
    target: Target,
    level: int = 3,
    *,
    x=None,
    delta=None,
    seed: int = 11,
    trials: int = 8,
    verify_each: bool = False,
    report: bool = True,
    span: Span = NO_SPAN,
) -> CompiledCircuit:
    """Optimise, translate, route and re-optimise ``circuit`` for ``target``.

    Steps: expand ``amplitude`` ops (needs bound ``x``), ``PRE_ROUTING[level]`` to a fixed
    point, ``translate-basis`` (3-qubit gates become 2-qubit ones), ``route-sabre``,
    ``translate-basis`` again (the SWAPs), then ``POST_ROUTING[level]`` with
    ``resynth-1q`` in the target's native form. Every entry of the returned trace is one
    pass run, for ``qadl compile --report``. The cyclic garbage collector is paused
    meanwhile (``base.cyclic_gc_paused``).

    Args:
        circuit: the lowered circuit.
        target: basis and coupling to compile for.
        level: optimisation level 0 … 3 (routing and translation happen at every level).
        x: one feature sample, needed only to expand ``amplitude`` ops.
        delta: perturbation values for the same purpose.
        seed: routing seed (results are deterministic for a given seed).
        trials: SABRE layout trials when no perfect layout exists.
        verify_each: run ``verify`` after every pass.
        report: record gate counts and depth after every pass (``--report``); off, the
            trace stays empty and compilation skips those statistics.
        span: where user errors point (the target declaration, or the file).

    Raises:
        QadlError: (E0610) when the circuit cannot be compiled for the target: symbolic
            amplitude encoding, an unsupported basis, or too few qubits.
        InternalError: when the result is not native or not on coupled pairs (a bug).
    """
    trace = PassTrace()
    ctx = PassContext(trace=trace if report else None, verify=verify_each)
    basis = tuple(g.value for g in target.basis)
    try:
        native_gates(basis)
        circuit = _expand_amplitudes(circuit, x, delta, span)
        circuit = level_pipeline(level, stage=PRE_ROUTING)(circuit, ctx=ctx)
        # Before routing only reach CX/CZ plus native 1q gates: SWAPs then sit next to CX they
        # can cancel with, and a CZ-native target's CZs are not detoured through CX.
        one_qubit = tuple(g.value for g in target.basis if GATES[g].num_qubits == 1)
        circuit = REGISTRY["translate-basis"](circuit, ctx=ctx, basis=(*one_qubit, "cx", "cz"))
        routed = _timed(
            "route-sabre",
            lambda: route(circuit, target.coupling, target.num_qubits, seed=seed, trials=trials),
            circuit,
            ctx.trace,
        )
    except (TranslationError, RoutingError) as err:
        raise _target_error(
            f"cannot compile for target `{target.name}`: {err}",
            "check the target's basis and qubit count",
            span,
        ) from err
    out = REGISTRY["translate-basis"](routed.circuit, ctx=ctx, basis=basis)
    options = {"resynth-1q": {"form": resynth_form(target)}}
    post = level_pipeline(level, options=options, stage=POST_ROUTING)
    out = verify(post(out, ctx=ctx))
    bad = non_native_ops(out, target) + uncoupled_ops(out, target)
    if bad:
        raise InternalError(
            f"compile_for_target left non-native or uncoupled ops at {sorted(set(bad))}"
        )
    return CompiledCircuit(out, routed.initial_layout, routed.final_permutation, trace)
