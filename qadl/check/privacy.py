"""Privacy attacks are applied on their own: refuse them where an evasion attack is expected.

A ``gradient_inversion`` attack reconstructs training inputs from a shared gradient and a
``membership_inference`` attack tells training samples from others; neither crafts
adversarial examples, so ``evaluate … under``, ``adversarial_training(attack =)``
and ``transfer(attack =)`` cannot use it (E0560). A ``privacy_utility`` curve reruns
gradient inversions and membership inferences of its own model (E0960).
"""

from __future__ import annotations

from typing import Any

from qadl.check.methods import PRIVACY_METHODS
from qadl.check.specs import AttackSpec, DefenceSpec
from qadl.diagnostics import DiagnosticBag
from qadl.frontend import ast as A

__all__ = ["check_privacy_uses"]

_HELP = "a privacy attack runs by itself in `qadl run`; name an evasion attack here"


def check_privacy_uses(
    decls: tuple[Any, ...],
    attacks: dict[str, AttackSpec],
    defences: list[DefenceSpec | None],
    bag: DiagnosticBag,
) -> None:
    """E0560 for every reference to a privacy attack from an evasion context."""
    private = {n for n, a in attacks.items() if a.method.name in PRIVACY_METHODS}
    found: list[tuple[Any, str, str]] = []
    for decl in decls:
        if isinstance(decl, A.EvaluateDecl) and decl.under is not None:
            items = decl.under.items if isinstance(decl.under, A.ListExpr) else (decl.under,)
            for item in items:
                if isinstance(item, A.Name) and item.id in private:
                    found.append((item.span, item.id, "`evaluate … under`"))
    for spec in defences:
        if spec is not None and _names_private(spec.method.get("attack"), private):
            found.append((spec.span, spec.method.get("attack"), "adversarial training"))
    for spec in attacks.values():
        inner = spec.method.get("attack") if spec.method.name == "transfer" else None
        if _names_private(inner, private):
            found.append((spec.span, inner, "a transfer attack"))
    for span, name, where in sorted(found, key=lambda f: f[0].start):
        _error(bag, name, where, span)
    check_curves(attacks, bag)


CURVE_ATTACKS = ("gradient_inversion", "membership_inference")
"""Methods a ``privacy_utility`` curve can run at every noise level."""


def check_curves(attacks: dict[str, AttackSpec], bag: DiagnosticBag) -> None:
    """E0960: every attack a ``privacy_utility`` curve names is a declared gradient
    inversion or threshold membership inference (not a shadow-model one) of the curve's
    own model."""
    for spec in attacks.values():
        if spec.method.name != "privacy_utility":
            continue
        names = spec.method.get("attacks")
        for item in names if isinstance(names, tuple) else (names,):
            other = attacks.get(item) if isinstance(item, str) else None
            if other is not None and other.method.get("score") == "shadow":
                _shadow_in_curve(spec, str(item), bag)
                continue
            if other is not None and other.method.name in CURVE_ATTACKS:
                if other.model == spec.model:
                    continue
                why = f"`{item}` attacks `{other.model}`, not `{spec.model}`"
            elif other is not None:
                why = f"`{item}` is a `{other.method.name}` attack"
            else:
                why = f"no attack `{item}` is declared"
            bag.error(
                "E0960",
                f"`{spec.name}`: the privacy-utility curve runs its attacks at every noise "
                f"level; {why}",
                spec.span,
                label="names an attack it cannot run",
                help="name `gradient_inversion` or `membership_inference` attacks on "
                f"`{spec.model}`",
            )


def _shadow_in_curve(spec: AttackSpec, item: str, bag: DiagnosticBag) -> None:
    """E0960: a curve scores each DP-SGD retraining of its model; shadows trained like
    the plain ``train`` statement would model another training (and cost K trainings a point)."""
    bag.error(
        "E0960",
        f"`{spec.name}`: the privacy-utility curve cannot run `{item}`, a shadow-model "
        "membership inference (its shadows copy the model's training without DP-SGD)",
        spec.span,
        label="names a shadow-model attack",
        help="name a threshold membership attack (`score = loss` or `confidence`) in the curve",
    )


def _names_private(value: Any, private: set[str]) -> bool:
    """Inline privacy methods never get here: their option tables do not list them."""
    return isinstance(value, str) and value in private


def _error(bag: DiagnosticBag, name: str, where: str, span: Any) -> None:
    bag.error(
        "E0560",
        f"`{name}` is a privacy attack: {where} needs an evasion attack",
        span,
        label="not an evasion attack",
        help=_HELP,
    )
