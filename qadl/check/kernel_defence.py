"""``defend KERNEL with adversarial_training(...) as RESULT``: checks and the checked spec.

A kernel classifier has no training loop to put adversarial examples into: it is refitted
once, on its training set plus adversarial copies of a fraction ``ratio`` of it, crafted
against the clean classifier (support-set augmentation). The options of adversarial
training that steer a training loop (``epochs``, ``schedule``, ``examples = on_the_fly``)
and the block's training options have nothing to act on, so they are refused (E0932).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from qadl.check.kernels import KernelTrainSpec
from qadl.check.methods import DEFENCE_METHODS, check_call
from qadl.check.scope import ModuleScope
from qadl.check.values import CallValue, DataRef, resolve_value
from qadl.diagnostics import DiagnosticBag
from qadl.frontend import ast as A

__all__ = [
    "KernelDefenceSpec",
    "check_kernel_defence",
    "is_kernel",
    "resolve_kernel_defences",
]

HELP = (
    "a kernel is defended by `adversarial_training(attack = …, ratio = …)`: its classifier "
    "is refitted once on the training set plus adversarial copies of a fraction `ratio` of it"
)

LOOP_OPTIONS = {
    "epochs": "a kernel classifier is refitted once, not trained for epochs",
    "schedule": "ε is not ramped: the examples are crafted once, at the attack's first ε",
}


@dataclass(frozen=True)
class KernelDefenceSpec(KernelTrainSpec):
    """A kernel training whose set is augmented with adversarial examples.

    ``kernel`` is the result's name; ``data``, ``classifier``, ``strength``, ``shots`` and
    ``memory_mb`` are those of the defended kernel's ``train`` (``resolve_kernel_defences``).
    """

    source: str = ""
    """The defended kernel."""
    method: CallValue = field(default_factory=lambda: CallValue("adversarial_training"))
    attack: Any = "pgd"
    """A declared attack's name or an inline method (``CallValue``)."""
    ratio: float = 0.5
    """Fraction of the training samples that get an adversarial copy."""


def is_kernel(scope: ModuleScope, name: str) -> bool:
    """``name`` is a kernel, or the result of ``defend KERNEL … as name``."""
    d = scope.lookup(name)
    if d is not None and d.kind == "robust" and isinstance(d.node, A.DefendDecl):
        d = scope.lookup(d.node.model.id)
    return d is not None and d.kind == "kernel"


def _kwarg_span(method: CallValue, key: str, default: Any) -> Any:
    for (k, _), span in zip(method.kwargs, method.kwarg_spans, strict=False):
        if k == key:
            return span
    return default


def check_kernel_defence(
    decl: A.DefendDecl, scope: ModuleScope, bag: DiagnosticBag
) -> KernelDefenceSpec | None:
    """The spec of a kernel's defence, or None after reporting why it cannot be run."""
    method = resolve_value(decl.method, scope.consts, bag)
    if isinstance(method, str):
        method = CallValue(method)
    if not isinstance(method, CallValue):
        return None
    problem = check_call(method, DEFENCE_METHODS, "defence")
    if problem:
        bag.error("E0520", problem[0].upper() + problem[1:], decl.method.span, label="here",
                  help=HELP)
        return None
    ok = True
    if method.name != "adversarial_training":
        bag.error(
            "E0932",
            f"`{method.name}` is not a defence of kernel classifiers (`{decl.model.id}` is a "
            "kernel)",
            decl.method.span,
            label="not for kernels",
            help=HELP,
        )
        return None
    for key, why in LOOP_OPTIONS.items():
        if method.get(key) is not None:
            ok = _refuse(bag, f"`{key}`", why, _kwarg_span(method, key, decl.method.span))
    if method.get("examples") == "on_the_fly":
        ok = _refuse(bag, "`examples = on_the_fly`",
                     "the examples are crafted once against the clean classifier "
                     "(`precomputed`)", _kwarg_span(method, "examples", decl.method.span))
    seed = 0
    for opt in decl.options:
        value = None if opt.value is None else resolve_value(opt.value, scope.consts, bag)
        if opt.key != "seed":
            ok = _refuse(bag, f"`{opt.key}`", "a kernel's refit has no training loop to "
                         "configure (only `seed`, which picks the samples to copy)", opt.key_span)
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**32:
            seed = value
        else:
            bag.error("E0502", "bad value for `seed`: expected an integer in [0, 4294967295]",
                      opt.value.span if opt.value is not None else opt.span, label="here")
            ok = False
    if not ok:
        return None
    return KernelDefenceSpec(
        decl.result, DataRef("", None), "", 0.0, seed=seed, source=decl.model.id,
        method=method, attack=method.get("attack", "pgd"),
        ratio=float(method.get("ratio", 0.5)), span=decl.span,
    )


def _refuse(bag: DiagnosticBag, what: str, why: str, span: Any) -> bool:
    bag.error("E0932", f"{what} does not apply to a kernel's adversarial training: {why}",
              span, label="not for kernels", help=HELP)
    return False


def resolve_kernel_defences(
    defences: list[KernelDefenceSpec], trainings: list[KernelTrainSpec], bag: DiagnosticBag
) -> list[KernelDefenceSpec]:
    """Each defence with the data and classifier of its kernel's ``train`` (E0933 if none)."""
    out = []
    for d in defences:
        source = next((t for t in trainings if t.kernel == d.source), None)
        if source is None:
            bag.error(
                "E0933",
                f"kernel `{d.source}` is defended but never trained",
                d.span,
                label="no classifier to refit",
                help=f"add `train {d.source} on DATA.train {{ classifier svm(C = 1.0) }}`",
            )
            continue
        out.append(replace(
            d, data=source.data, classifier=source.classifier, strength=source.strength,
            shots=source.shots, memory_mb=source.memory_mb,
        ))
    return out
