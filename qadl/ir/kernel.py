"""Lowering of quantum kernels: a kernel's feature map is lowered like a model's body.

The feature map reads features and may have trainable parameters (its own `param`s or
those of the blocks it calls), which only ``align`` trains; the kernel's data and its
``train`` statements are checked against it here, as for models.
"""

from __future__ import annotations

from dataclasses import replace

from qadl.check.check import CheckedProgram
from qadl.check.kernels import KernelSpec
from qadl.diagnostics import DiagnosticBag
from qadl.errors import QadlError
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op, Readout
from qadl.ir.inverse import inverse_ops
from qadl.ir.unroll.model import Lowerer
from qadl.ir.verify import verify
from qadl.program import KernelModel, Model

__all__ = ["compute_uncompute", "lower_kernel", "lower_kernels"]


def lower_kernel(spec: KernelSpec, lowerer: Lowerer, bag: DiagnosticBag) -> KernelModel | None:
    """One kernel's feature map as a ``KernelModel``, or None after recording its errors."""
    model = lowerer.model(spec.node, spec.module, feature_map=True)
    if model is None:
        return None
    return KernelModel(
        spec.name,
        model.circuit,
        model.num_qubits,
        model.num_features,
        spec.kind,
        spec.gamma,
        model.param_init,
        span=spec.span,
    )


def lower_kernels(program: CheckedProgram, lowerer: Lowerer, bag: DiagnosticBag) -> dict:
    """Every kernel the root module sees (its own and imported ones)."""
    out: dict[str, KernelModel] = {}
    for name, spec in program.kernels.items():
        kernel = lower_kernel(spec, lowerer, bag)
        if kernel is not None:
            out[name] = kernel
    data_problems(program, out, bag)
    alignment_problems(program, out, bag)
    for t in program.kernel_trainings:  # `defend k … as r`: r refits k's classifier
        source = getattr(t, "source", None)
        if source in out:
            out[t.kernel] = replace(out[source], name=t.kernel)
    return out


def alignment_problems(program: CheckedProgram, kernels: dict, bag: DiagnosticBag) -> None:
    """``align`` needs trainable parameters, and trainable parameters need ``align``."""
    for t in program.kernel_trainings:
        kernel = kernels.get(t.kernel)
        if kernel is None:
            continue
        if kernel.num_params and t.align is None:
            names = ", ".join(p.name for p in kernel.param_init)
            bag.error(
                "E0942",
                f"kernel `{t.kernel}` has trainable parameters ({names}) but its training "
                "does not align them",
                t.span,
                label="untrained feature-map parameters",
                help="add `align target_alignment` (and `optimizer`, `epochs`, `batch`), or "
                "drop the `param`s",
            )
        elif t.align is not None and not kernel.num_params:
            bag.error(
                "E0943",
                f"kernel `{t.kernel}` has no trainable parameters: there is nothing to align",
                t.align_span,
                label="`align` with a fixed feature map",
                help="add a `param` to the feature map, or drop `align` and its options",
            )


def data_problems(program: CheckedProgram, kernels: dict, bag: DiagnosticBag) -> None:
    """Kernels read features: quantum data sets and digit images of the wrong size are refused."""
    from qadl.ir.lower import _QUANTUM_SOURCES

    uses = [(t.kernel, t.data.dataset, t.span) for t in program.kernel_trainings]
    uses += [(m, e.data.dataset, e.span) for e in program.evaluations for m in e.models]
    for name, dataset, span in uses:
        kernel, data = kernels.get(name), program.datasets.get(dataset)
        if kernel is None or data is None:
            continue
        if data.source in _QUANTUM_SOURCES:
            bag.error(
                "E0550",
                f"kernel `{name}` reads features, but `{dataset}` holds quantum states",
                span,
                label="kernel and data do not fit",
            )
        elif data.source == "builtin.digits":
            h, w = data.options.get("size", (16, 16))
            if kernel.num_features != h * w:
                bag.error(
                    "E0550",
                    f"kernel `{name}` takes {kernel.num_features} features but `{dataset}` "
                    f"images have {h * w} pixels ({h}x{w})",
                    span,
                    label="kernel and data do not fit",
                )


def _shift_features(angle: E.Expr, by: int) -> E.Expr:
    """``angle`` with every feature x[i] renamed x[i + by]."""

    def move(s: E.Sym) -> E.Sym:
        return E.Sym(E.X, s.index + by) if s.kind == E.X else s

    return E.Expr.from_terms((tuple(move(s) for s in mono), c) for mono, c in angle.terms)


def compute_uncompute(kernel: KernelModel) -> Model:
    """The overlap circuit U(x′)† U(x) of a kernel as a model with 2N features (x, x′).

    Raises:
        QadlError: the feature map holds an op without an inverse (amplitude encoding).

    It measures every qubit; the probability of |0…0> (class 0) is the fidelity kernel
    K(x, x′). This is what ``qadl compile`` emits for a kernel.
    """
    fm, n = kernel.feature_map, kernel.num_features
    second = [
        replace(op, angles=tuple(_shift_features(a, n) for a in op.angles)) for op in fm.ops
    ]
    undo = inverse_ops(second)
    if isinstance(undo, Op):
        raise QadlError.at(
            "E0555",
            f"kernel `{kernel.name}`: its feature map applies `{undo.gate.value}`, which has "
            "no inverse, so there is no compute-uncompute circuit to compile",
            kernel.span,
            help="the kernel itself still runs (`qadl run` compares the simulated states)",
        )
    qubits = tuple(range(kernel.num_qubits))
    circuit = Circuit(
        kernel.num_qubits,
        tuple(fm.ops) + tuple(undo),
        0,
        2 * n,
        0,
        Readout("probs", qubits, num_classes=2),
        name=kernel.name,
    )
    verify(circuit)
    return Model(
        kernel.name, circuit, kernel.num_qubits, 0, 2 * n, (), "features", (2 * n,),
        span=kernel.span,
    )
