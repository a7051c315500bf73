"""Preflight of attacks that involve kernel classifiers (run by ``qadl check`` too).

The checker refuses state attacks written on a kernel; what needs the resolved program
is here: a declared attack used on a kernel, transfers to and from kernels (the two
sides must read the same features). Imports nothing heavy.
"""

from __future__ import annotations

from typing import Any

from qadl.program import CallValue
from qadl.source import Span

__all__ = ["kernel_attack_on", "kernel_source", "kernel_statements", "reads"]

STATE_METHODS = ("local_rotations", "closest_flip")
HELP = "attack a kernel classifier's features: fgsm, bim, pgd, mim, gradient_steps or transfer"


def reads(pf: Any, name: str) -> tuple[str, int] | None:
    """What a model or kernel reads: (``features``, F), (``state``, n); None if unknown."""
    kernel = pf.program.kernels.get(name)
    if kernel is not None:
        return "features", kernel.num_features
    model = pf.model(name)
    if model is None:
        return None
    if model.input_kind == "state":
        return "state", model.num_qubits
    return model.input_kind, model.num_features if model.input_kind == "features" else 0


def _classes(pf: Any, kernel: str) -> int | None:
    """Classes of the data a kernel is trained on, where known without generating it."""
    training = next((t for t in pf.program.kernel_trainings if t.kernel == kernel), None)
    shape = None if training is None else pf.shapes.get(training.data.dataset)
    return None if shape is None else shape.classes


def _feature_method(pf: Any, method: CallValue, kernel: str, span: Span,
                    options: dict[str, Any] | None = None) -> None:
    if method.name in STATE_METHODS:
        pf.error(
            "E0930",
            f"`{method.name}` perturbs input states, but kernel `{kernel}` reads features",
            span,
            help=HELP,
        )
    target, classes = (options or {}).get("targeted"), _classes(pf, kernel)
    if target is not None and classes is not None and not 0 <= int(target) < classes:
        pf.error(
            "E0530",
            f"`targeted {target}`: kernel `{kernel}` has classes 0..{classes - 1}",
            span,
            help=f"target a class below {classes}",
        )


def kernel_attack_on(pf: Any, item: Any, name: str, span: Span, in_defence: bool) -> None:
    """An ``under`` item applied to kernel ``name``."""
    if item == "clean":
        return
    method, options, declared = pf.resolve(item)
    where = declared or span
    if method.name != "transfer":
        _feature_method(pf, method, name, where, options)
        return
    if in_defence:
        pf.error(
            "E0721",
            "adversarial training needs a white-box attack, not a transfer attack",
            span,
            help="name an fgsm/bim/pgd/mim/gradient_steps attack",
        )
        return
    inner, _, _ = pf.resolve(method.get("attack", CallValue("bim")))
    _feature_method(pf, inner, name, where)
    if method.get("surrogate") is None:
        source = method.get("from") or name
        pf.needs_params(source, where, "the source of a transfer attack")
        same_input(pf, source, name, where)


def kernel_source(pf: Any, method: CallValue, source: str, target: str, span: Span) -> None:
    """A transfer from kernel ``source`` to model ``target``: crafted on features it reads."""
    pf.needs_params(source, span, "the source of a transfer attack")
    inner, _, _ = pf.resolve(method.get("attack", CallValue("bim")))
    _feature_method(pf, inner, source, span)
    same_input(pf, source, target, span)


def same_input(pf: Any, source: str, target: str, span: Span) -> None:
    """E0717 when the two sides of a transfer read different inputs."""
    a, b = reads(pf, source), reads(pf, target)
    if a is not None and b is not None and a != b:
        pf.error(
            "E0717",
            f"transfer from `{source}` to `{target}`: the two read different inputs "
            f"({a[1]} {a[0]} against {b[1]} {b[0]})",
            span,
            help="craft on a model or kernel with the same input (features or state size)",
        )


def kernel_statements(pf: Any) -> None:
    """Attacks declared on kernels (checked even if unused), and ``defend KERNEL with
    adversarial_training(attack = …)``: a white-box feature attack whose ``clip`` contains
    the training data."""
    for attack in pf.program.attacks.values():
        if attack.model in pf.program.kernels and attack.method.name != "transfer":
            _feature_method(pf, attack.method, attack.model, attack.span, attack.options)
    for spec in pf.program.kernel_trainings:
        if hasattr(spec, "source"):
            kernel_attack_on(pf, spec.attack, spec.source, spec.span, in_defence=True)
            pf.clip_fits(spec.attack, spec.data.dataset, spec.span)
