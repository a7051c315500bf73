"""The pass framework: PassContext, ``@circuit_pass`` registry, Pipeline, fixed_point, PassTrace."""

from __future__ import annotations

import contextlib
import functools
import gc
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from qadl.ir.circuit import Circuit, Op
from qadl.ir.verify import verify
from qadl.passes.analysis import CircuitStats, circuit_stats

__all__ = [
    "DEFAULT",
    "REGISTRY",
    "CircuitPass",
    "PassContext",
    "PassTrace",
    "Pipeline",
    "TraceEntry",
    "circuit_pass",
    "cyclic_gc_paused",
    "fixed_point",
    "is_fixed",
    "is_protected",
]


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One pass run: its name, the circuit size before and after, and the time it took."""

    name: str
    before: CircuitStats
    after: CircuitStats
    seconds: float


@dataclass(slots=True)
class PassTrace:
    """An append-only log of pass runs (the one mutable object of the framework).

    ``PassContext`` is frozen, so the trace it points to collects entries by appending
    to ``entries`` rather than by replacing the context.
    """

    entries: list[TraceEntry] = field(default_factory=list)

    def record(self, entry: TraceEntry) -> None:
        """Append one entry."""
        self.entries.append(entry)

    def table(self) -> str:
        """A fixed-width text table: pass, ops, 2q ops, depth, milliseconds."""
        rows = [f"{'pass':<30} {'ops':>7} {'2q':>6} {'depth':>6} {'ms':>9}"]
        for e in self.entries:
            a = e.after
            rows.append(
                f"{e.name:<30} {a.ops:>7} {a.two_qubit:>6} {a.depth:>6} {e.seconds * 1e3:>9.2f}"
            )
        return "\n".join(rows)


@dataclass(frozen=True, kw_only=True)
class PassContext:
    """Options every pass honours."""

    protected: frozenset[str] = frozenset()
    """Op tags to leave untouched."""
    atol: float = 1e-12
    """Numeric tolerance for "is the identity" and "is this angle zero"."""
    verify: bool = False
    """Run ``ir.verify`` after every pass (True in tests)."""
    trace: PassTrace | None = None
    """Where passes record (name, stats before/after, seconds), when given."""


DEFAULT = PassContext()
"""The context passes use when none is given."""


class CircuitPass(Protocol):
    """A registered pass: a pure function ``Circuit -> Circuit`` with a kebab-case name."""

    name: str

    def __call__(self, circuit: Circuit, /, *, ctx: PassContext = ...) -> Circuit:
        """Return the transformed circuit; never modify the argument."""
        ...


REGISTRY: dict[str, CircuitPass] = {}
"""Registry name -> pass, filled by ``@circuit_pass`` when the pass modules are imported."""

_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def is_protected(op: Op, ctx: PassContext) -> bool:
    """True when ``op`` carries a tag the context protects."""
    return bool(op.tags & ctx.protected)


def is_fixed(op: Op, ctx: PassContext) -> bool:
    """True when every angle of ``op`` is constant and no protected tag is on it: what a
    resynthesis may rewrite. Plain loops instead of ``Expr.is_constant``'s property and
    generator, since the resynthesis passes ask it of every op."""
    for angle in op.angles:
        for mono, _ in angle.terms:
            if mono:
                return False
    return not op.tags & ctx.protected


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (restored after, on error too).

    Compiling allocates thousands of short-lived ops, expressions and tuples, freed by
    reference counting as they go (they form almost no cycles), yet their allocation
    triggers collections, and some of those walk every tracked object of the process:
    with SciPy, Numba or Qiskit loaded, one full collection costs more than a whole
    compile. A collector the caller disabled stays disabled; a nested pause leaves the
    outer one to restore it. Usable as a decorator too.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _run_traced(
    name: str, fn: Callable[..., Circuit], circuit: Circuit, ctx: PassContext, kwargs
) -> Circuit:
    before = circuit_stats(circuit) if ctx.trace is not None else None
    start = time.perf_counter()
    result = fn(circuit, ctx=ctx, **kwargs)
    seconds = time.perf_counter() - start
    if ctx.verify:
        verify(result)
    if ctx.trace is not None and before is not None:
        ctx.trace.record(TraceEntry(name, before, circuit_stats(result), seconds))
    return result


def circuit_pass(name: str) -> Callable[[Callable[..., Circuit]], CircuitPass]:
    """Register ``fn`` under ``name``; wrap it with tracing and optional verification.

    Args:
        name: kebab-case registry name, the same words as the module and function.

    Raises:
        ValueError: when the name is not kebab-case or already taken.
    """
    if not _KEBAB.match(name):
        raise ValueError(f"pass name {name!r} is not kebab-case")

    def register(fn: Callable[..., Circuit]) -> CircuitPass:
        if name in REGISTRY:
            raise ValueError(f"pass {name!r} registered twice")

        @functools.wraps(fn)
        def wrapper(circuit: Circuit, /, *, ctx: PassContext = DEFAULT, **kwargs) -> Circuit:
            return _run_traced(name, fn, circuit, ctx, kwargs)

        wrapper.name = name  # type: ignore[attr-defined]
        REGISTRY[name] = wrapper  # type: ignore[assignment]
        return wrapper  # type: ignore[return-value]

    return register


PassLike = Callable[..., Circuit]


@dataclass(frozen=True)
class Pipeline:
    """Run passes in order; after each, call ``callback(prev, circuit, next_pass)`` (xDSL style).

    ``next_pass`` is the pass about to run, or None after the last one.
    """

    passes: tuple[PassLike, ...]
    callback: Callable[[PassLike | None, Circuit, PassLike | None], None] | None = None
    name: str = "pipeline"

    def __call__(self, circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
        """Apply every pass once, in order."""
        for i, pass_ in enumerate(self.passes):
            circuit = pass_(circuit, ctx=ctx)
            if self.callback is not None:
                nxt = self.passes[i + 1] if i + 1 < len(self.passes) else None
                self.callback(pass_, circuit, nxt)
        return circuit


@dataclass(frozen=True)
class fixed_point:
    """Repeat a sequence of passes until the circuit stops changing (structural equality).

    Returns the last circuit even when ``max_rounds`` is hit; never raises.
    """

    passes: Sequence[PassLike]
    max_rounds: int = 20
    name: str = "fixed-point"

    def __call__(self, circuit: Circuit, /, *, ctx: PassContext = DEFAULT) -> Circuit:
        """Run the passes round after round until a whole round changes nothing.

        A pass is skipped when the circuit equals one it has already returned unchanged
        (at any place in the sequence: one pass may appear twice, with the same options):
        passes are pure functions, so it would return it unchanged again. The rounds, and
        so the result, are those of running every pass every round. The cyclic garbage
        collector is paused meanwhile (``cyclic_gc_paused``).
        """
        with cyclic_gc_paused():
            return self._run(circuit, ctx)

    def _run(self, circuit: Circuit, ctx: PassContext) -> Circuit:
        passes = tuple(self.passes)
        keys = [_settle_key(pass_) for pass_ in passes]
        settled: dict[object, Circuit] = {}  # pass -> the last circuit it returned unchanged
        for _ in range(self.max_rounds):
            previous = circuit
            for key, pass_ in zip(keys, passes, strict=True):
                done = settled.get(key)
                if done is not None and (done is circuit or done == circuit):
                    continue
                result = pass_(circuit, ctx=ctx)
                if result is circuit or result == circuit:
                    settled[key] = circuit
                circuit = result
            if circuit == previous:
                break
        return circuit


def _settle_key(pass_: PassLike) -> object:
    """What identifies ``pass_`` for ``fixed_point``'s skipping: its ``settle_key`` (the
    same pass with the same options, wherever it appears in the sequence), else itself."""
    key = getattr(pass_, "settle_key", None)
    try:
        hash(key)
    except TypeError:  # an option value that is not hashable
        key = None
    return pass_ if key is None else key
