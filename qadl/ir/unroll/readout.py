"""Unrolling the ``readout`` statement: ``probs`` of qubits or ``expval`` of Pauli products."""

from __future__ import annotations

import math

from qadl.frontend import ast as A
from qadl.ir.circuit import Readout
from qadl.ir.evaluate.values import Env, is_num, plain
from qadl.ir.unroll.gates import GateCalls

__all__ = ["Readouts"]


class Readouts(GateCalls):
    """The model's one readout, resolved to qubits and observables."""

    def readout(self, stmt: A.ReadoutStmt, env: Env, in_model: bool) -> None:
        """The model's one readout, with its ``classes`` and ``scale`` options."""
        if not in_model:
            self.fail("E0503", "`readout` is only allowed at the top level of a model", stmt.span)
        if self.b.readout is not None:
            self.fail("E0504", "a model has exactly one readout", stmt.span, label="second readout")
        self.b.readout_seen = True
        opts = {}
        for opt in stmt.options:
            if opt.key not in ("classes", "scale"):
                self.fail(
                    "E0501",
                    f"unknown readout option `{opt.key}`",
                    opt.key_span,
                    help="readout options: classes, scale",
                )
            opts[opt.key] = plain(self.expr(opt.value, env))
        classes = opts.get("classes")
        if classes is not None and (not isinstance(classes, int) or classes < 1):
            self.fail("E0502", "`classes` must be a positive integer", stmt.span)
        kind = stmt.kind.id
        if kind in ("probs", "prob"):
            self.readout_probs(stmt, env, classes)
        elif kind == "expval":
            self.readout_expval(stmt, env, classes)
        else:
            self.fail(
                "E0505",
                f"unknown readout `{kind}`",
                stmt.kind.span,
                help="use `probs(q[i], ...)` or `expval(Z q[i], ...)`",
            )
        scale = opts.get("scale", 1.0)
        if not is_num(scale) or scale <= 0:
            self.fail("E0502", "`scale` must be a positive number", stmt.span)
        self.b.readout_scale = float(scale)

    def readout_probs(self, stmt: A.ReadoutStmt, env: Env, classes: int | None) -> None:
        """``probs(q...)``: marginal probabilities of the listed qubits."""
        qubits: list[int] = []
        for obs in stmt.observables:
            for f in obs.factors:
                if f.pauli is not None or len(obs.factors) > 1:
                    self.fail(
                        "E0505",
                        "`probs` takes qubits, not Pauli products",
                        f.span,
                        help="use `expval(Z q[0], ...)` for Pauli observables",
                    )
                qubits += [q for reg, _ in self.qubits_of((f.qubit,), env) for q in reg.qubits]
        if not qubits:
            self.fail("E0505", "`probs` needs at least one qubit", stmt.span)
        if len(set(qubits)) != len(qubits):
            self.fail("E0402", "a readout qubit is listed twice", stmt.span)
        classes = 2 if classes is None else classes
        if classes > 1 << len(qubits):
            self.fail(
                "E0502",
                f"{classes} classes need at least {math.ceil(math.log2(classes))} "
                f"readout qubits, got {len(qubits)}",
                stmt.span,
                label="too many classes",
            )
        self.b.readout = Readout("probs", tuple(qubits), num_classes=classes)

    def readout_expval(self, stmt: A.ReadoutStmt, env: Env, classes: int | None) -> None:
        """``expval(P q, ...)``: expectation values of Pauli products."""
        observables = []
        for obs in stmt.observables:
            product = []
            for f in obs.factors:
                if f.pauli not in ("X", "Y", "Z"):
                    self.fail(
                        "E0505",
                        "each factor of an observable is `X`, `Y` or `Z` on a qubit",
                        f.span,
                        help="e.g. `expval(Z q[0], X q[1] * X q[2])`",
                    )
                regs = self.qubits_of((f.qubit,), env)
                product += [(f.pauli, q) for reg, _ in regs for q in reg.qubits]
            if len({q for _, q in product}) != len(product):
                self.fail("E0402", "a qubit appears twice in one Pauli product", obs.span)
            observables.append(tuple(product))
        if not observables:
            self.fail("E0505", "`expval` needs at least one observable", stmt.span)
        if classes is None:
            classes = 2 if len(observables) <= 2 else len(observables)
        self.b.readout = Readout("expval", observables=tuple(observables), num_classes=classes)
