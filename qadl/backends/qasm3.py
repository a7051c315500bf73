"""Emit a circuit as OpenQASM 3: build an ``openqasm3.ast.Program`` and print it.

Output shape (deterministic; golden files depend on it)::

    OPENQASM 3.0;
    include "stdgates.inc";
    // <header comments, readout and layout notes>
    input float[64] theta_0;        // unbound symbols only, θ then x then δ, by index
    gate rzz(t) a, b { … }          // preamble for gates stdgates.inc lacks
    qubit[n] q;                     // or physical qubits $0, $1, … (physical=True)
    rx(theta_0 + 2.0 * x_1) q[0];   // one statement per op, in op order
    bit[k] c;
    c[0] = measure q[4];            // readout qubits, c[i] <- readout.qubits[i]

Qubit order is Qiskit's little-endian one on both sides, so ``qiskit.qasm3.loads`` gives a
circuit whose operator is the IR's, and the classical bits ``c`` read the readout
outcome little-endian. Numbers are printed with ``repr`` (shortest round trip), or as
``pi``, ``k * pi``, ``pi / d`` when exactly equal to one. Comments are not part of the
``openqasm3`` AST, so they are the one node type added here (``Comment``), printed by a
``Printer`` subclass.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from openqasm3 import ast
from openqasm3.printer import Printer, PrinterState

from qadl.errors import QadlError
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.gates import Gate
from qadl.ir.stateprep import amplitude_ops, unbound_symbols
from qadl.ir.verify import verify
from qadl.source import NO_SPAN, SourceMap

__all__ = [
    "STDGATES",
    "AmplitudeEmissionError",
    "BindingError",
    "Comment",
    "dumps",
    "emit",
    "expr_to_ast",
    "input_name",
    "to_program",
]

# fmt: off
STDGATES: frozenset[str] = frozenset((
    "p", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "cx", "cy", "cz",
    "cp", "crx", "cry", "crz", "ch", "swap", "ccx", "cswap", "cu", "CX", "phase", "cphase", "id",
    "u1", "u2", "u3",
))
# fmt: on
"""Gates ``stdgates.inc`` defines (openqasm/openqasm ``examples/stdgates.inc``)."""

_BUILTIN_NAMES: dict[Gate, str] = {Gate.U: "U"}
"""Gates spelled as OpenQASM 3 built-ins (``U`` is Qiskit's U, global phase included)."""

_INPUT_PREFIX = {E.THETA: "theta", E.X: "x", E.DELTA: "delta"}


class BindingError(QadlError, ValueError):
    """Values given to bind do not fit the circuit (E0614): not numbers, not one sample,
    not the declared count, or not finite. A ``QadlError`` (exit code 1 in the CLI) and a
    ``ValueError`` for Python callers."""


class AmplitudeEmissionError(QadlError, ValueError):
    """An ``amplitude`` op cannot be emitted: features unbound, or a zero vector (E0712).

    A ``QadlError`` located at the op's source span, so ``qadl compile`` reports it with
    exit code 1; also a ``ValueError`` for Python callers of ``emit``.
    """


@dataclass
class Comment(ast.Statement):
    """A ``// text`` line; the only node this module adds to the openqasm3 AST."""

    text: str


class _Printer(Printer):
    """openqasm3's printer, taught to print ``Comment`` lines."""

    def visit_Comment(self, node: Comment, context: PrinterState) -> None:
        self._start_line(context)
        self.stream.write(f"// {node.text}" if node.text else "//")
        self._end_line(context)


def dumps(program: ast.Program) -> str:
    """Print a program (which may hold ``Comment`` statements) as OpenQASM 3 text."""
    stream = io.StringIO()
    _Printer(stream).visit(program)
    return stream.getvalue()


# -- angle expressions ----------------------------------------------------------------------


def input_name(sym: E.Sym) -> str:
    """The OpenQASM ``input`` variable of a symbol: ``theta_3``, ``x_0``, ``delta_7``."""
    return f"{_INPUT_PREFIX[sym.kind]}_{sym.index}"


def _pi_form(value: float) -> ast.Expression | None:
    """``pi``, ``k * pi`` or ``pi / d`` when that float product is exactly ``value``.

    Exactness matters: Qiskit evaluates ``2 * pi`` in binary64 to the same float, so the
    readable form loses nothing.
    """
    pi = ast.Identifier("pi")
    k = round(value / math.pi)
    if 1 <= k <= 64 and k * math.pi == value:
        return (
            pi
            if k == 1
            else ast.BinaryExpression(ast.BinaryOperator["*"], ast.IntegerLiteral(k), pi)
        )
    for d in (2, 3, 4, 6, 8):
        if math.pi / d == value:
            return ast.BinaryExpression(ast.BinaryOperator["/"], pi, ast.IntegerLiteral(d))
    return None


def _number(value: float) -> ast.Expression:
    """A non-negative literal, as a multiple or fraction of π when it is one exactly."""
    if not math.isfinite(value):
        raise ValueError(f"cannot emit the non-finite angle {value!r}")
    return _pi_form(value) or ast.FloatLiteral(float(value))


def _product(factors: list[ast.Expression]) -> ast.Expression:
    out = factors[0]
    for factor in factors[1:]:
        out = ast.BinaryExpression(ast.BinaryOperator["*"], out, factor)
    return out


def _term_magnitude(mono: E.Monomial, coeff: float) -> ast.Expression:
    """``|coeff| * s1 * s2 …`` with a unit coefficient left out."""
    syms: list[ast.Expression] = [ast.Identifier(input_name(s)) for s in mono]
    magnitude = abs(coeff)
    if syms and magnitude == 1.0:
        return _product(syms)
    return _product([_number(magnitude), *syms])


def _negate_leftmost(term: ast.Expression) -> ast.Expression:
    """``-a * b / c`` rather than ``-(a * b / c)``: the same value, easier to read."""
    if isinstance(term, ast.BinaryExpression):
        return ast.BinaryExpression(term.op, _negate_leftmost(term.lhs), term.rhs)
    return ast.UnaryExpression(ast.UnaryOperator["-"], term)


def expr_to_ast(expr: E.Expr) -> ast.Expression:
    """An OpenQASM expression for an angle: a sum of products over the ``input`` names.

    Negative terms after the first are subtracted, so the text reads
    ``0.5 + theta_0 - 2.0 * x_1 * x_2``.
    """
    if not expr.terms:
        return ast.FloatLiteral(0.0)
    out: ast.Expression | None = None
    for mono, coeff in expr.terms:
        term = _term_magnitude(mono, coeff)
        if out is None:
            out = _negate_leftmost(term) if coeff < 0 else term
        else:
            op = ast.BinaryOperator["-" if coeff < 0 else "+"]
            out = ast.BinaryExpression(op, out, term)
    assert out is not None  # expr.terms is non-empty
    return out


# -- gates -----------------------------------------------------------------------------------


def _gate_call(
    name: str, args: Sequence[ast.Expression], qubits: Sequence[str], *, inverse: bool = False
) -> ast.QuantumGate:
    modifiers = [ast.QuantumGateModifier(ast.GateModifierName.inv)] if inverse else []
    return ast.QuantumGate(
        modifiers, ast.Identifier(name), list(args), [ast.Identifier(q) for q in qubits]
    )


def _pauli_rotation_definition(name: str, before: str, after: str) -> ast.QuantumGateDefinition:
    """``exp(-i t/2 P⊗P)`` as basis change, CX, RZ(t), CX, basis change back (exact)."""
    t = ast.Identifier("t")
    half_pi = ast.BinaryExpression(
        ast.BinaryOperator["/"], ast.Identifier("pi"), ast.IntegerLiteral(2)
    )
    change = {
        "": [],
        "h": [_gate_call("h", [], ["a"]), _gate_call("h", [], ["b"])],
        "rx+": [_gate_call("rx", [half_pi], ["a"]), _gate_call("rx", [half_pi], ["b"])],
        "rx-": [
            _gate_call("rx", [ast.UnaryExpression(ast.UnaryOperator["-"], half_pi)], [q])
            for q in ("a", "b")
        ],
    }
    body = [
        *change[before],
        _gate_call("cx", [], ["a", "b"]),
        _gate_call("rz", [t], ["b"]),
        _gate_call("cx", [], ["a", "b"]),
        *change[after],
    ]
    return ast.QuantumGateDefinition(
        ast.Identifier(name), [t], [ast.Identifier("a"), ast.Identifier("b")], body
    )


def _definitions() -> dict[Gate, ast.QuantumGateDefinition]:
    """Preamble definitions of the IR gates ``stdgates.inc`` lacks, each exact (no phase)."""
    return {
        Gate.SXDG: ast.QuantumGateDefinition(
            ast.Identifier("sxdg"),
            [],
            [ast.Identifier("a")],
            [_gate_call("sx", [], ["a"], inverse=True)],
        ),
        # RX(π/2)·Y·RX(-π/2) = Z, so conjugating RZZ by RX(∓π/2) gives RYY.
        Gate.RXX: _pauli_rotation_definition("rxx", "h", "h"),
        Gate.RYY: _pauli_rotation_definition("ryy", "rx+", "rx-"),
        Gate.RZZ: _pauli_rotation_definition("rzz", "", ""),
    }


def _qasm_name(gate: Gate) -> str:
    if gate in _BUILTIN_NAMES:
        return _BUILTIN_NAMES[gate]
    if gate is Gate.AMPLITUDE:
        raise ValueError("amplitude ops must be expanded before emission")
    return gate.value


# -- qubits, inputs, readout -----------------------------------------------------------------


def _qubit(index: int, physical: bool) -> ast.Identifier | ast.IndexedIdentifier:
    if physical:
        return ast.Identifier(f"${index}")
    return ast.IndexedIdentifier(ast.Identifier("q"), [[ast.IntegerLiteral(index)]])


def _op_statement(op: Op, physical: bool) -> ast.QuantumGate:
    return ast.QuantumGate(
        [],
        ast.Identifier(_qasm_name(op.gate)),
        [expr_to_ast(a) for a in op.angles],
        [_qubit(q, physical) for q in op.qubits],
    )


def _source_line(op: Op, sources: SourceMap) -> str | None:
    """``file:line`` of an op's span when its file is in ``sources``."""
    source = sources.get(op.span.file) if op.span is not NO_SPAN else None
    if source is None:
        return None
    return f"{op.span.file}:{source.line_col(op.span.start)[0]}"


def _gate_statements(
    ops: Sequence[Op], physical: bool, sources: SourceMap | None
) -> list[ast.Statement]:
    """One gate statement per op, each new source line announced by ``// from file:line``.

    Consecutive ops from one line (an unrolled loop) share the comment.
    """
    out: list[ast.Statement] = []
    last: str | None = None
    for op in ops:
        where = _source_line(op, sources) if sources is not None else None
        if where is not None and where != last:
            out.append(Comment(f"from {where}"))
            last = where
        out.append(_op_statement(op, physical))
    return out


def _input_declarations(ops: Iterable[Op]) -> list[ast.IODeclaration]:
    used = {s for op in ops for a in op.angles for s in a.symbols()}
    return [
        ast.IODeclaration(
            ast.IOKeyword.input,
            ast.FloatType(ast.IntegerLiteral(64)),
            ast.Identifier(input_name(s)),
        )
        for s in sorted(used, key=E.Sym.sort_key)
    ]


def _measurement_bases(readout: Readout) -> dict[int, str] | None:
    """Qubit -> the one Pauli every observable measures it in, or None when they disagree."""
    bases: dict[int, str] = {}
    for obs in readout.observables:
        for pauli, q in obs:
            if bases.setdefault(q, pauli) != pauli:
                return None
    return bases


def _basis_change(pauli: str, qubit: int, physical: bool) -> list[ast.QuantumGate]:
    """Rotate a Pauli eigenbasis to Z: X needs ``h``, Y needs ``sdg`` then ``h``."""
    names = {"X": ["h"], "Y": ["sdg", "h"], "Z": []}[pauli]
    return [ast.QuantumGate([], ast.Identifier(n), [], [_qubit(qubit, physical)]) for n in names]


def _observable_text(obs: tuple[tuple[str, int], ...]) -> str:
    return "*".join(f"{p}{q}" for p, q in obs) or "I"


def _readout_statements(readout: Readout, physical: bool) -> list[ast.Statement]:
    """Basis changes (expval only), ``bit[k] c;`` and one measurement per readout qubit."""
    out: list[ast.Statement] = []
    if readout.kind == "probs":
        qubits = list(readout.qubits)
        out.append(Comment(f"readout: probabilities of outcomes 0..{readout.num_classes - 1} of c"))
    else:
        qubits = sorted(readout.measured_qubits())
        obs = ", ".join(_observable_text(o) for o in readout.observables)
        out.append(Comment(f"readout: expectation values of {obs}"))
        bases = _measurement_bases(readout)
        if bases is None:
            out.append(Comment("observables need different bases on one qubit: measured in Z,"))
            out.append(Comment("rotate to each observable's basis in separate runs"))
        else:
            for q in qubits:
                out.extend(_basis_change(bases[q], q, physical))
    if not qubits:
        return out
    out.append(
        ast.ClassicalDeclaration(ast.BitType(ast.IntegerLiteral(len(qubits))), ast.Identifier("c"))
    )
    for bit, q in enumerate(qubits):
        target = ast.IndexedIdentifier(ast.Identifier("c"), [[ast.IntegerLiteral(bit)]])
        out.append(
            ast.QuantumMeasurementStatement(ast.QuantumMeasurement(_qubit(q, physical)), target)
        )
    return out


def _layout_comments(layout: Sequence[int] | Mapping[int, int] | None) -> list[Comment]:
    if layout is None:
        return []
    pairs = sorted(layout.items()) if isinstance(layout, Mapping) else list(enumerate(layout))
    text = ", ".join(f"q[{logical}] -> ${physical}" for logical, physical in pairs)
    return [Comment("layout: logical -> physical"), Comment(text)]


# -- binding ---------------------------------------------------------------------------------


_WHAT = {
    E.THETA: "trainable-parameter values (theta, `params` of qadl.to_qasm)",
    E.X: "feature values (x)",
    E.DELTA: "perturbation values (delta)",
}


def _binding_error(message: str, want: int) -> BindingError:
    return BindingError.at(
        "E0614",
        message,
        NO_SPAN,
        help=f"pass one vector of exactly {want} finite numbers, or leave it out to keep "
        "those symbols as `input`s",
    )


def _checked_values(circuit: Circuit, kind: E.SymKind, values) -> np.ndarray | None:
    """One sample's values for ``kind``: numbers, one vector (or one-row batch), the
    declared length exactly, all finite; otherwise a ``BindingError``."""
    if values is None:
        return None
    what, want = _WHAT[kind], circuit.num_symbols(kind)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise _binding_error(f"the {what} must be numbers: {err}", want) from None
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise _binding_error(
            f"the {what} must be one sample (a vector or a one-row batch), got shape {arr.shape}",
            want,
        )
    if arr.size != want:
        raise _binding_error(f"{arr.size} {what} given, but the circuit declares {want}", want)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise _binding_error(f"{what}: entry {i} is {float(arr[i])!r}, not a finite number", want)
    return arr


def _expanded(op: Op, x: np.ndarray | None, delta: np.ndarray | None) -> tuple[Op, ...]:
    """An amplitude op as RY/CX ops (numeric angles); any other op unchanged."""
    if op.gate is not Gate.AMPLITUDE:
        return (op,)
    missing = unbound_symbols(op, x, delta)
    try:
        if missing:
            raise ValueError(
                f"amplitude encoding needs bound features: {', '.join(missing)} "
                f"{'has' if len(missing) == 1 else 'have'} no value"
            )
        return amplitude_ops(op, x, delta)
    except ValueError as err:
        raise AmplitudeEmissionError.at(
            "E0712",
            str(err),
            op.span,
            label="amplitude encoding",
            help="its RY angles are computed numerically from one sample's features, so "
            "OpenQASM is emitted per sample: pass them (`qadl.to_qasm(model, x=...)`, or an "
            "`x` array in the `qadl compile --bind` file)",
        ) from None


def _bound_ops(circuit: Circuit, theta, x, delta) -> tuple[Op, ...]:
    """Amplitude ops expanded (they need numbers), then the given kinds substituted."""
    expanded = [new for op in circuit.ops for new in _expanded(op, x, delta)]
    return tuple(
        op.with_angles(tuple(a.bind(theta, x, delta) for a in op.angles)) for op in expanded
    )


# -- the program -----------------------------------------------------------------------------


def to_program(
    circuit: Circuit,
    *,
    theta: np.ndarray | None = None,
    x: np.ndarray | None = None,
    delta: np.ndarray | None = None,
    physical: bool = False,
    layout: Sequence[int] | Mapping[int, int] | None = None,
    header_comments: Sequence[str] = (),
    sources: SourceMap | None = None,
) -> ast.Program:
    """The OpenQASM 3 AST of a circuit (see ``emit`` for the arguments)."""
    verify(circuit)
    theta = _checked_values(circuit, E.THETA, theta)
    x = _checked_values(circuit, E.X, x)
    delta = _checked_values(circuit, E.DELTA, delta)
    ops = _bound_ops(circuit, theta, x, delta)
    statements: list[ast.Statement] = [ast.Include("stdgates.inc")]
    statements += [Comment(line) for text in header_comments for line in text.splitlines()]
    if physical:
        statements += _layout_comments(layout)
    if circuit.state_input:
        statements.append(
            Comment("input state: prepare the data state on the qubits before these gates")
        )
    statements += _input_declarations(ops)
    definitions = _definitions()
    used = {op.gate for op in ops}
    statements += [definitions[g] for g in Gate if g in used and g in definitions]
    if not physical:
        statements.append(
            ast.QubitDeclaration(ast.Identifier("q"), ast.IntegerLiteral(circuit.num_qubits))
        )
    statements += _gate_statements(ops, physical, sources)
    if circuit.readout is not None:
        statements += _readout_statements(circuit.readout, physical)
    return ast.Program(statements, version="3.0")


def emit(
    circuit: Circuit,
    *,
    theta: np.ndarray | None = None,
    x: np.ndarray | None = None,
    delta: np.ndarray | None = None,
    physical: bool = False,
    layout: Sequence[int] | Mapping[int, int] | None = None,
    header_comments: Sequence[str] = (),
    sources: SourceMap | None = None,
) -> str:
    """OpenQASM 3 text for a circuit.

    Symbols whose values are given are substituted by numbers; the others become scalar
    ``input float[64]`` declarations (only those used, θ then x then δ, by index), which
    ``qiskit.qasm3.loads`` turns into Parameters of the same names.

    Args:
        circuit: a valid circuit (``verify`` is run on it).
        theta: trainable parameter values to bind, or None to keep them as inputs.
        x: one sample's feature values (a vector or a one-row batch), or None.
        delta: one sample's perturbation values, or None.
        physical: address physical qubits ``$0, $1, …`` (for a circuit already routed onto
            a target) instead of declaring ``qubit[n] q``.
        layout: with ``physical``, the initial placement ``layout[logical] = physical``
            (a sequence or a mapping), printed as a comment.
        header_comments: lines printed as ``//`` comments after the include.
        sources: the files the circuit was compiled from (``qadl.load(path, sources=...)``);
            when given, ops are annotated with ``// from file:line`` comments.

    Returns:
        The program text, ending in a newline.

    Raises:
        AmplitudeEmissionError: (a ``QadlError`` and a ``ValueError``, E0712) when amplitude
            ops are present but their features are not bound (their rotation angles are
            computed numerically) or evaluate to a zero vector.
        BindingError: (a ``QadlError`` and a ``ValueError``, E0614) when given values are
            not numbers, not one sample, not exactly as many as the circuit declares, or
            not finite.
        InternalError: when the circuit breaks an IR invariant.
    """
    return dumps(
        to_program(
            circuit,
            theta=theta,
            x=x,
            delta=delta,
            physical=physical,
            layout=layout,
            header_comments=header_comments,
            sources=sources,
        )
    )
