"""Lowering one model: its register and inputs, its body, and the finished, verified circuit."""

from __future__ import annotations

from qadl.check.limits import MAX_SIM_QUBITS, MAX_STEPS, MAX_VECTOR
from qadl.frontend import ast as A
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit
from qadl.ir.evaluate.values import Abort, Builder, Env, QReg, Skip, SymVec
from qadl.ir.unroll.statements import BLOCK_BASE, Statements
from qadl.ir.verify import verify
from qadl.program import Model, ParamInit

__all__ = ["Lowerer"]


class Lowerer(Statements):
    """Runs model and block bodies into a circuit; one instance per program."""

    # -- models -----------------------------------------------------------------------------------
    def model(
        self, decl: A.ModelDecl | A.KernelDecl, module: str, *, feature_map: bool = False
    ) -> Model | None:
        """Lower one model to a ``Model``, or None after recording its errors.

        ``feature_map``: a kernel's body, which has no readout (``Model.circuit.readout`` None).
        """
        # the step budget is the program's: a file of many heavy models must not add them up
        if self.b.steps > MAX_STEPS:
            return None  # spent by an earlier model, which reported it
        self.b = Builder(decl.name, steps=self.b.steps)
        env = Env(module)
        try:
            n = self.integer(decl.size, env, "the register size")
            if n < 1:
                self.fail("E0403", f"a model needs at least 1 qubit, got {n}", decl.size.span)
            if n > MAX_SIM_QUBITS:
                self.fail(
                    "E0403",
                    f"{n} qubits is too many to simulate",
                    decl.size.span,
                    label=f"the limit is {MAX_SIM_QUBITS}",
                    help=f"a state of {n} qubits needs {_bytes(n)} per sample; "
                    "use fewer qubits or split the model",
                )
            input_kind, num_features = self.model_inputs(decl, env)
        except Skip:
            return None
        env.set(decl.register, QReg(tuple(range(n))))
        try:
            self.body(decl.body, env, in_model=True)
        except Abort:
            return None
        if self.b.readout is None and not feature_map:
            if self.b.readout_seen:
                return None  # the readout statement itself was reported
            self.bag.error(
                "E0513",
                f"model `{decl.name}` has no readout",
                decl.name_span,
                label="no readout",
                help="end the model with e.g. `readout probs(q[0]) -> classes 2`",
            )
            return None
        return self.finish(decl, n, input_kind, num_features)

    def model_inputs(self, decl: A.ModelDecl, env: Env) -> tuple[str, int]:
        """The input kind and feature count of a model's parameter list."""
        input_kind, num_features = "none", 0
        for p in decl.params:
            if p.type.name == "state":
                if input_kind != "none":
                    self.fail("E0509", "a model has at most one input", p.span)
                input_kind = "state"
            elif p.type.name in ("float", "angles", "angle") and p.type.size is not None:
                if input_kind != "none":
                    self.fail("E0509", "a model has at most one input", p.span)
                num_features = self.integer(p.type.size, env, "the feature count")
                if not 1 <= num_features <= MAX_VECTOR:
                    self.fail(
                        "E0306",
                        f"a feature vector needs 1 to {MAX_VECTOR} entries, got {num_features}",
                        p.type.size.span,
                    )
                input_kind = "features"
                env.set(p.name, SymVec(tuple(E.x(i) for i in range(num_features))))
            elif p.default is not None:
                env.set(p.name, self.expr(p.default, env))
            else:
                self.fail(
                    "E0509",
                    f"model input `{p.name}: {p.type.name}` is not supported",
                    p.span,
                    help="a model takes `name: float[N]` (features), `name: state` "
                    "(quantum data), or parameters with defaults",
                )
        return input_kind, num_features

    def finish(self, decl: A.ModelDecl, n: int, input_kind: str, num_features: int) -> Model:
        """Renumber block parameters after the model's, build and verify the circuit."""
        m = self.b.num_model_params
        ops = tuple(
            op.with_angles(tuple(_renumber(a, m) for a in op.angles))
            if self.b.num_block_params and op.angles
            else op  # nothing to renumber: no copy (a circuit may have 100,000 ops)
            for op in self.b.ops
        )
        inits = tuple(
            ParamInit(
                p.name,
                p.start - BLOCK_BASE + m if p.start >= BLOCK_BASE else p.start,
                p.size,
                p.kind,
                p.args,
            )
            for p in self.b.inits
        )
        num_params = m + self.b.num_block_params
        circuit = Circuit(
            n,
            ops,
            num_params,
            num_features,
            0,
            self.b.readout,
            state_input=input_kind == "state",
            name=decl.name,
        )
        verify(circuit)
        return Model(
            decl.name,
            circuit,
            n,
            num_params,
            num_features,
            inits,
            input_kind,
            (num_features,) if input_kind == "features" else (),
            self.b.readout_scale,
            span=decl.span,
        )


def _bytes(n: int) -> str:
    """The size of an ``n``-qubit complex128 state, 2**(n + 4) bytes, without computing it
    (``n`` may be a billion)."""
    exponent = n + 4
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    i = min(exponent // 10, len(units) - 1)
    rest = exponent - 10 * i
    return f"{1 << rest} {units[i]}" if rest <= 20 else f"2^{exponent} bytes"


def _renumber(angle: E.Expr, num_model_params: int) -> E.Expr:
    """Move block parameters from ``BLOCK_BASE + j`` to ``num_model_params + j``."""
    if not any(s.kind == E.THETA and s.index >= BLOCK_BASE for s in angle.symbols()):
        return angle

    def move(s: E.Sym) -> E.Sym:
        if s.kind == E.THETA and s.index >= BLOCK_BASE:
            return E.Sym(E.THETA, s.index - BLOCK_BASE + num_model_params)
        return s

    return E.Expr.from_terms((tuple(move(s) for s in mono), c) for mono, c in angle.terms)
