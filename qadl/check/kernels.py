"""Checks for quantum kernels: ``kernel`` declarations and the statements that use them.

A kernel is a feature-map circuit with no readout, plus its ``type``; it is trained by a
classical kernel method on its Gram matrix, after ``align`` has trained the feature map's
``param``s (if it has any) to maximise the kernel-target alignment. What qadl does not do
with kernels is refused here with a located error, never accepted and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qadl.check.methods import OPTIMIZERS, check_call
from qadl.check.scope import ModuleScope
from qadl.check.values import CallValue, DataRef, resolve_value
from qadl.diagnostics import DiagnosticBag
from qadl.frontend import ast as A
from qadl.source import NO_SPAN, Span

__all__ = [
    "CLASSIFIERS",
    "KERNEL_TRAIN_OPTIONS",
    "KernelSpec",
    "KernelTrainSpec",
    "check_kernel_attack",
    "check_kernel_decl",
    "check_kernel_evaluation",
    "check_kernel_train",
    "refuse_kernel",
]

CLASSIFIERS = {"svm": ("C", 1.0), "kernel_ridge": ("alpha", 1.0), "logistic": ("C", 1.0)}
"""Kernel classifier -> its one keyword argument and default (all must be > 0)."""

KERNEL_TRAIN_OPTIONS = (
    "classifier", "shots", "seed", "memory_mb", "align", "optimizer", "epochs", "batch",
)
"""Options of ``train KERNEL on DATA { ... }``."""

ALIGN_OPTIONS = ("optimizer", "epochs", "batch")
"""Options that train the feature map: they need ``align``."""

ALIGNMENTS = ("target_alignment",)
"""Objectives ``align`` maximises over a trainable feature map's parameters."""

ALIGN_DEFAULTS = {"epochs": 10, "batch": 32}
"""Alignment epochs and mini-batch size when the block gives none (optimizer: Adam, lr 0.05)."""

MAX_ALIGN_EPOCHS = 100_000

MAX_SHOTS = 10**9

ALIGN_OPTIMIZERS = {name: OPTIMIZERS[name] for name in ("adam", "sgd")}
"""Gradient-based optimizers of a kernel alignment (its gradient is analytic)."""


@dataclass(frozen=True)
class KernelSpec:
    """A checked ``kernel`` declaration: its AST (lowered later) and its resolved ``type``.

    ``kind`` is ``fidelity`` or ``projected``; ``gamma`` is the projected kernel's width.
    """

    name: str
    node: A.KernelDecl
    module: str
    kind: str
    gamma: float = 1.0
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class KernelTrainSpec:
    """``train KERNEL on DATA.split { classifier svm(C = 1.0); shots N; seed S; memory_mb M }``.

    ``shots`` None: exact overlaps; ``memory_mb`` caps the Gram matrix's working set.
    ``align`` (``target_alignment`` or None) trains the feature map's parameters first,
    with ``optimizer`` (name and keyword arguments) for ``epochs`` over mini-batches of
    ``batch`` samples shuffled by ``seed``.
    """

    kernel: str
    data: DataRef
    classifier: str
    strength: float
    shots: int | None = None
    seed: int = 0
    memory_mb: float = 256.0
    align: str | None = None
    optimizer: str = "adam"
    optimizer_options: tuple[tuple[str, float], ...] = ()
    epochs: int = ALIGN_DEFAULTS["epochs"]
    batch: int = ALIGN_DEFAULTS["batch"]
    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)
    align_span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)
    """Where ``align`` is written (the statement's span without it)."""


# ---- declarations -------------------------------------------------------------------------------


def _walk(stmts: tuple[A.Stmt, ...]):
    for s in stmts:
        yield s
        if isinstance(s, A.For):
            yield from _walk(s.body)
        elif isinstance(s, A.If):
            yield from _walk(s.then)
            yield from _walk(s.otherwise or ())


def check_kernel_decl(decl: A.KernelDecl, scope: ModuleScope, bag: DiagnosticBag) -> KernelSpec:
    """The body is a fixed feature map; the input is one ``float[N]``; one valid ``type``."""
    for s in _walk(decl.body):
        if isinstance(s, A.ReadoutStmt):
            bag.error(
                "E0330",
                "a kernel has no readout: its value is the overlap of two feature states",
                s.span,
                label="readout in a kernel",
                help="drop the readout; the kernel's `train` block picks the classifier",
            )
    features = [p for p in decl.params if p.default is None]
    if len(features) != 1 or features[0].type.name not in ("float", "angles", "angle") or (
        features[0].type.size is None
    ):
        where = features[1].span if len(features) > 1 else (
            features[0].span if features else decl.name_span
        )
        bag.error(
            "E0334",
            f"kernel `{decl.name}` takes exactly one input, a feature vector `x: float[N]`",
            where,
            label="not a feature vector" if features else "no input",
            help="e.g. `kernel k(x: float[2]) on q[2] { ... }` (other parameters need defaults)",
        )
    kind, gamma = "fidelity", 1.0
    for extra in decl.types[1:]:
        bag.error("E0332", "a kernel has one `type`", extra.span, label="second `type`")
    if decl.types:
        kind, gamma = _kernel_type(decl.types[0], scope, bag)
    return KernelSpec(decl.name, decl, scope.key, kind, gamma, span=decl.span)


def _kernel_type(node: A.KernelType, scope: ModuleScope, bag: DiagnosticBag) -> tuple[str, float]:
    value = resolve_value(node.value, scope.consts, bag)
    hint = "`type fidelity` or `type projected(gamma = 0.5)`"
    if value == "fidelity":
        return "fidelity", 1.0
    if isinstance(value, CallValue) and value.name == "projected":
        gamma = value.get("gamma", 1.0)
        extra = [k for k, _ in value.kwargs if k != "gamma"]
        ok = isinstance(gamma, int | float) and not isinstance(gamma, bool) and 0 < gamma < 1e6
        if value.args or extra or not ok:
            bag.error(
                "E0333",
                "`projected` takes one keyword argument, `gamma`, a number in (0, 1e6)",
                node.value.span,
                label="bad argument",
                help=hint,
            )
        return "projected", float(gamma) if ok else 1.0
    if value is not None:
        bag.error(
            "E0333",
            "unknown kernel type",
            node.value.span,
            label="expected `fidelity` or `projected(...)`",
            help=hint,
        )
    return "fidelity", 1.0


# ---- statements that use a kernel ----------------------------------------------------------------


def refuse_kernel(scope: ModuleScope, name: A.Name, statement: str, bag: DiagnosticBag) -> bool:
    """Report (E0337) a kernel named where ``statement`` needs a variational model."""
    d = scope.lookup(name.id)
    if d is not None and d.kind == "robust" and isinstance(d.node, A.DefendDecl):
        d = scope.lookup(d.node.model.id)  # `defend KERNEL … as name` is a kernel too
    if d is None or d.kind != "kernel":
        return False
    bag.error(
        "E0337",
        f"`{name.id}` is a quantum kernel: qadl has no {statement} for kernel classifiers",
        name.span,
        label="a kernel",
        help="kernels are trained, attacked on their features and evaluated "
        "(`evaluate k on DATA.test under [clean, pgd(epsilon = 0.1)]`)",
    )
    return True


def check_kernel_train(
    kernel: str, data: DataRef, options: tuple[A.Option, ...], span: Span,
    scope: ModuleScope, bag: DiagnosticBag,
) -> KernelTrainSpec | None:
    """``train KERNEL on DATA { classifier ...; shots N; seed S; memory_mb M }``."""
    values: dict[str, Any] = {}
    for opt in options:
        if opt.key not in KERNEL_TRAIN_OPTIONS:
            bag.error(
                "E0336",
                f"`{opt.key}` is not an option of a kernel's training",
                opt.key_span,
                label="not a kernel option",
                help=f"kernel options: {', '.join(KERNEL_TRAIN_OPTIONS)} "
                "(losses train variational models)",
            )
            continue
        if opt.key in values:
            bag.error("E0507", f"option `{opt.key}` given twice", opt.key_span, label="again")
            continue
        value = True if opt.value is None else resolve_value(opt.value, scope.consts, bag)
        if opt.key == "align" and value not in ALIGNMENTS:
            bag.error(
                "E0940",
                "unknown kernel alignment objective",
                opt.value.span if opt.value is not None else opt.span,
                label=f"expected {', '.join(f'`{a}`' for a in ALIGNMENTS)}",
                help="`align target_alignment` maximises the kernel-target alignment",
            )
            continue
        problem = _option_problem(opt.key, value)
        if problem:
            bag.error(
                "E0502",
                f"bad value for `{opt.key}`: {problem}",
                opt.value.span if opt.value is not None else opt.span,
                label="invalid value",
            )
            continue
        values[opt.key] = value
    if "shots" in values and _is_projected(scope, kernel):
        opt = next(o for o in options if o.key == "shots")
        bag.error(
            "E0336",
            "`shots` samples fidelity overlaps; a `projected` kernel has no shot model here",
            opt.key_span,
            label="not for a projected kernel",
            help="drop `shots`, or use `type fidelity`",
        )
    if "seed" in values and "shots" not in values and "align" not in values:
        opt = next(o for o in options if o.key == "seed")
        bag.error(
            "E0336",
            "`seed` seeds the shot sampling and the alignment's mini-batches: it has no "
            "effect without `shots` or `align`",
            opt.key_span,
            label="no effect here",
            help="add `shots N`, or drop `seed` (exact kernels are deterministic)",
        )
    if "align" not in values and not any(o.key == "align" for o in options):
        for opt in options:
            if opt.key in ALIGN_OPTIONS and opt.key in values:
                bag.error(
                    "E0941",
                    f"`{opt.key}` trains the feature map's parameters: it needs "
                    "`align target_alignment`",
                    opt.key_span,
                    label="no alignment to configure",
                    help="add `align target_alignment` (the kernel needs `param`s), or drop "
                    f"`{opt.key}`",
                )
    if "classifier" not in values:
        if not any(o.key == "classifier" for o in options):
            bag.error(
                "E0508",
                "a kernel's training needs the option `classifier`",
                span,
                label="missing `classifier`",
                help="add `classifier svm(C = 1.0)` (or kernel_ridge(alpha = …), logistic(C = …))",
            )
        return None
    call = values["classifier"]
    call = call if isinstance(call, CallValue) else CallValue(str(call))
    key, default = CLASSIFIERS[call.name]
    opt_call = values.get("optimizer", CallValue("adam"))
    opt_call = opt_call if isinstance(opt_call, CallValue) else CallValue(str(opt_call))
    return KernelTrainSpec(
        kernel,
        data,
        call.name,
        float(call.get(key, call.args[0] if call.args else default)),
        shots=values.get("shots"),
        seed=int(values.get("seed", 0)),
        memory_mb=float(values.get("memory_mb", 256.0)),
        align=values.get("align"),
        optimizer=opt_call.name,
        optimizer_options=tuple((k, float(v)) for k, v in opt_call.kwargs),
        epochs=int(values.get("epochs", ALIGN_DEFAULTS["epochs"])),
        batch=int(values.get("batch", ALIGN_DEFAULTS["batch"])),
        span=span,
        align_span=next((o.span for o in options if o.key == "align"), span),
    )


def _is_projected(scope: ModuleScope, kernel: str) -> bool:
    d = scope.lookup(kernel)
    types = d.node.types if d is not None else ()
    if not types:
        return False
    value = resolve_value(types[0].value, scope.consts, DiagnosticBag())
    return isinstance(value, CallValue) and value.name == "projected"


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _option_problem(key: str, value: Any) -> str | None:
    if key == "classifier":
        call = value if isinstance(value, CallValue) else CallValue(str(value))
        if call.name not in CLASSIFIERS:
            return f"expected one of {', '.join(CLASSIFIERS)}"
        arg, _ = CLASSIFIERS[call.name]
        extra = [k for k, _ in call.kwargs if k != arg]
        given = list(call.args) + [v for _, v in call.kwargs]
        if extra or len(given) > 1:
            return f"`{call.name}` takes one argument, `{arg}`"
        if given and not (_number(given[0]) and 0 < given[0] < 1e12):
            return f"`{arg}` must be a number in (0, 1e12)"
        return None
    if key == "align":
        return None
    if key == "optimizer":
        name = value.name if isinstance(value, CallValue) else value
        if name in OPTIMIZERS and name not in ALIGN_OPTIMIZERS:
            return f"`{name}` is gradient-free; the alignment's gradient is analytic: use " + (
                " or ".join(f"`{n}`" for n in ALIGN_OPTIMIZERS)
            )
        return check_call(value, ALIGN_OPTIMIZERS, "optimizer")
    if key in ("epochs", "batch"):
        lo, hi = (1, MAX_ALIGN_EPOCHS) if key == "epochs" else (2, 1 << 20)
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        why = "" if key == "epochs" else " (the alignment of one sample is constant)"
        return None if ok else f"expected an integer in [{lo}, {hi}]{why}"
    if key in ("shots", "seed"):
        lo, hi = (1, MAX_SHOTS) if key == "shots" else (0, 2**32 - 1)
        ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        return None if ok else f"expected an integer in [{lo}, {hi}]"
    ok = _number(value) and 1 <= value <= 1 << 20
    return None if ok else "expected a number of MiB in [1, 1048576]"


KERNEL_ATTACK_HELP = (
    "attack a kernel classifier's features: fgsm, bim, pgd, mim, gradient_steps or transfer"
)

STATE_METHODS = ("local_rotations", "closest_flip")
"""Attack methods that perturb input states (a kernel reads features)."""

PRIVACY_ATTACKS = ("gradient_inversion", "membership_inference", "label_inference")
"""Privacy attacks: they query a variational model's training gradients and losses."""


def check_kernel_attack(
    kernel: str, method: CallValue, options: tuple[A.Option, ...], bag: DiagnosticBag
) -> bool:
    """``attack NAME on KERNEL``: only attacks on features apply (E0930, E0931)."""
    where = next((o.value.span for o in options if o.key == "method" and o.value), NO_SPAN)
    inner = method.get("attack") if method.name == "transfer" else method
    name = inner.name if isinstance(inner, CallValue) else inner
    if name in STATE_METHODS:
        bag.error(
            "E0930",
            f"`{name}` perturbs input states, but kernel `{kernel}` reads features",
            where,
            label="an attack on states",
            help=KERNEL_ATTACK_HELP,
        )
        return False
    if name in PRIVACY_ATTACKS:
        bag.error(
            "E0931",
            f"`{name}` attacks a variational model's training; kernel `{kernel}` has none "
            "(its classifier is fitted in closed form)",
            where,
            label="not for kernels",
            help=KERNEL_ATTACK_HELP,
        )
        return False
    return True


def check_kernel_evaluation(
    decl: A.EvaluateDecl, kernels: list[str], under: tuple[Any, ...], bag: DiagnosticBag
) -> None:
    """Kernels are attacked on their features; no `fidelity` or evaluation `shots`."""
    if not kernels:
        return
    names = ", ".join(f"`{k}`" for k in kernels)
    for item in under:
        if not isinstance(item, CallValue):
            continue  # `clean` or a declared attack (the preflight checks those)
        method = item.get("attack") if item.name == "transfer" else item
        name = method.name if isinstance(method, CallValue) else None
        if name in STATE_METHODS:
            bag.error(
                "E0930",
                f"`{name}` perturbs input states, but "
                + (f"kernel {names} reads" if len(kernels) == 1 else f"kernels {names} read")
                + " features",
                item.span,
                label="an attack on states",
                help=KERNEL_ATTACK_HELP,
            )
    for opt in decl.options:
        if opt.key in ("fidelity", "shots"):
            bag.error(
                "E0339",
                f"`{opt.key}` does not apply to a kernel ({names})",
                opt.key_span,
                label="not for kernels",
                help="a kernel's shots are set in its `train` block (`shots N`)",
            )
