"""Unrolling built-in gate calls: qubit operands, angles, and amplitude encoding."""

from __future__ import annotations

import math

from qadl.check.limits import MAX_AMPLITUDE_QUBITS
from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.circuit import Op
from qadl.ir.evaluate.evaluator import Evaluator
from qadl.ir.evaluate.values import Env, QReg, SymVec, describe
from qadl.ir.gates import GATES, Gate
from qadl.source import Span

__all__ = ["GateCalls"]


class GateCalls(Evaluator):
    """Emits the ops of built-in gate calls into the model being lowered."""

    def qubits_of(self, refs: tuple[A.QubitRef, ...], env: Env) -> list[tuple[QReg, A.QubitRef]]:
        """Registers named by qubit references, with their references for spans."""
        out = []
        for ref in refs:
            reg = self.lookup(ref.register, env)
            if not isinstance(reg, QReg):
                self.fail(
                    "E0318",
                    f"`{ref.register.id}` is {describe(reg)}, not qubits",
                    ref.register.span,
                    label="not a qubit register",
                )
            if ref.index is not None:
                reg = self.index(reg, ref.index, env, ref.span)
            out.append((reg, ref))
        return out

    def gate_call(self, gate: Gate, stmt: A.CallStmt, env: Env) -> None:
        """Emit ops of a built-in gate (1-qubit gates broadcast over registers)."""
        info = GATES[gate]
        args = stmt.args or ()
        regs = self.qubits_of(stmt.qubits, env)
        qubits = [q for reg, _ in regs for q in reg.qubits]
        if not qubits:
            self.fail(
                "E0404", f"gate `{gate.value}` needs qubit operands", stmt.span, label="no qubits"
            )
        if gate is Gate.AMPLITUDE:
            self.amplitude(stmt, args, qubits, env)
            return
        if len(args) != info.num_angles:
            self.fail(
                "E0301",
                f"`{gate.value}` takes {info.num_angles} angle arguments, got {len(args)}",
                stmt.span,
            )
        angles = tuple(self.angle(a.value, env) for a in args)
        if info.num_qubits == 1:
            for q in qubits:
                self.b.ops.append(Op(gate, (q,), angles, span=stmt.span))
            return
        if len(qubits) != info.num_qubits:
            self.fail(
                "E0405",
                f"`{gate.value}` acts on {info.num_qubits} qubits, got {len(qubits)}",
                stmt.span,
                label="wrong number of qubits",
                help=f"write `{gate.value} "
                + ", ".join(f"q[{i}]" for i in range(info.num_qubits))
                + "`",
            )
        self.distinct(qubits, regs, gate.value)
        self.b.ops.append(Op(gate, tuple(qubits), angles, span=stmt.span))

    def distinct(self, qubits: list[int], regs: list[tuple[QReg, A.QubitRef]], what: str) -> None:
        """E0402 when a multi-qubit gate repeats a qubit."""
        if len(set(qubits)) != len(qubits):
            dup = next(q for q in qubits if qubits.count(q) > 1)
            span = regs[-1][1].span if regs else Span("", 0, 0)
            self.fail(
                "E0402",
                f"`{what}` uses qubit {dup} twice",
                span,
                label="repeated qubit operand",
                help="a multi-qubit gate needs distinct qubits",
            )

    def amplitude(
        self, stmt: A.CallStmt, args: tuple[A.Arg, ...], qubits: list[int], env: Env
    ) -> None:
        """Emit an amplitude-encoding op, zero-padded to ``2**len(qubits)`` entries."""
        if len(args) != 1:
            self.fail("E0301", "`amplitude` takes 1 argument (the feature vector)", stmt.span)
        if len(qubits) > MAX_AMPLITUDE_QUBITS:  # before 2**k amplitudes are allocated
            self.fail(
                "E0409",
                f"amplitude encoding on {len(qubits)} qubits is too large",
                stmt.span,
                label=f"the limit is {MAX_AMPLITUDE_QUBITS} qubits "
                f"({1 << MAX_AMPLITUDE_QUBITS:,} amplitudes)",
                help="encode fewer features, or encode them on fewer qubits",
            )
        vec = self.expr(args[0].value, env)
        items = vec.items if isinstance(vec, SymVec) else vec if isinstance(vec, tuple) else None
        if items is None:
            self.fail("E0306", f"`amplitude` needs a vector, got {describe(vec)}", args[0].span)
        values = [self.to_angle(v, args[0].span) for v in items]
        need = math.ceil(math.log2(max(len(values), 1)))
        if len(values) > 1 << len(qubits):
            self.fail(
                "E0306",
                f"amplitude encoding of {len(values)} features needs at least {need} "
                f"qubits, got {len(qubits)}",
                stmt.span,
                label="too few qubits",
                help=f"apply it to {need} qubits, e.g. `amplitude(...) q[0:{need}]`",
            )
        if len(set(qubits)) != len(qubits):
            self.fail("E0402", "`amplitude` uses a qubit twice", stmt.span)
        if self.touched() & set(qubits):
            self.fail(
                "E0407",
                "`amplitude` must come before any other gate on its qubits",
                stmt.span,
                label="these qubits are already in use",
            )
        squares = sum(v * v for v in values_of(values)) if all(v.is_constant for v in values) else 1
        if not 0 < squares < math.inf:  # the simulator normalises by the 2-norm, unscaled
            self.fail(
                "E0410",
                "`amplitude` of a constant vector that cannot be normalised",
                args[0].span,
                label="its norm is 0" if squares == 0 else "its norm overflows",
                help="amplitude encoding prepares v / ||v||: give a nonzero, moderate vector",
            )
        values += [E.const(0.0)] * ((1 << len(qubits)) - len(values))
        self.b.ops.append(Op(Gate.AMPLITUDE, tuple(qubits), tuple(values), span=stmt.span))

    def touched(self) -> set[int]:
        """The qubits some op acts on (kept up to date incrementally: amplitude statements in a
        loop must not rescan the whole circuit each time)."""
        for op in self.b.ops[self.b.scanned :]:
            self.b.touched.update(op.qubits)
        self.b.scanned = len(self.b.ops)
        return self.b.touched

    def angle(self, node: A.Expr, env: Env) -> E.Expr:
        """Evaluate an angle argument."""
        return self.to_angle(self.expr(node, env), node.span)


def values_of(angles: list[E.Expr]) -> list[float]:
    """The values of constant angle expressions."""
    return [a.constant_value for a in angles]
