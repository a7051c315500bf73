"""The attack part of the preflight: whether each attack applies to the model it is used on.

Reports a targeted class the model lacks (E0530), a `clip` range that does not contain the
clean data (E0719), a quantum attack on features or a classical one on states (E0716), a
transfer between models with different inputs (E0717), a scikit-learn surrogate on quantum
data (E0725), a transfer attack in a defence (E0721), ``closest_flip`` outside adversarial
training or on a model exact verification does not cover (E0950, E0951), and a defence's
options that disagree with its attack. ``AttackChecks`` is mixed into the preflight pass
(``qadl.run.preflight``).
"""

from __future__ import annotations

from typing import Any

from qadl.program import CallValue, Model, Program
from qadl.run.data_preflight import DataShape
from qadl.run.kernel_preflight import kernel_attack_on, kernel_source
from qadl.source import Span

__all__ = ["QUANTUM_METHODS", "AttackChecks"]

QUANTUM_METHODS = ("local_rotations", "closest_flip")
"""Attacks on input states; every other method perturbs features."""


def _input_of(model: Model) -> tuple[str, int]:
    """What a model reads: (``features``, F), (``state``, n) or (``none``, 0)."""
    if model.input_kind == "state":
        return "state", model.num_qubits
    return model.input_kind, model.num_features if model.input_kind == "features" else 0


class AttackChecks:
    """The preflight pass's attack checks (a mixin of ``qadl.run.preflight._Preflight``, which
    provides ``guard``, ``model``, ``error`` and ``needs_params``)."""

    program: Program
    shapes: dict[str, DataShape]

    def schedule_fits(self, spec: Any, attack: Any) -> None:
        """The defence's options agree with its attack (``schedule = linear`` needs an ε-ball)."""
        from qadl.run import configs

        if isinstance(attack, str):
            if attack not in self.program.attacks:
                return  # reported as an unknown name by the checker
            plan = self.guard(configs.spec_plan, self.program.attacks[attack], self.program.attacks)
        else:
            call = attack if isinstance(attack, CallValue) else CallValue(str(attack))
            plan = self.guard(configs.attack_plan, call, {}, self.program.attacks)
        if plan is not None and not isinstance(plan, configs.TransferPlan):  # E0721 above
            self.guard(configs.defence_config, spec, plan)

    def resolve(self, item: Any) -> tuple[CallValue, dict[str, Any], Span | None]:
        """The method, options and declaration span of an attack name or inline call."""
        if isinstance(item, str) and item in self.program.attacks:
            spec = self.program.attacks[item]
            return spec.method, spec.options, spec.span
        call = item if isinstance(item, CallValue) else CallValue(str(item))
        return call, {}, None

    def applies(self, method: CallValue, options: dict[str, Any], model: Model, span: Span) -> None:
        """One white-box attack method with its options on ``model``."""
        quantum = method.name in QUANTUM_METHODS
        if model.input_kind != "none" and quantum != (model.input_kind == "state"):
            kind = "input states" if quantum else "features"
            takes = "input states" if model.input_kind == "state" else "features"
            self.error(
                "E0716",
                f"`{method.name}` perturbs {kind}, but model `{model.name}` takes {takes}",
                span,
                help="use local_rotations on quantum data and fgsm/bim/pgd/mim/gradient_steps "
                "on features",
            )
        target = options.get("targeted")
        if target is not None and not 0 <= int(target) < model.num_classes:
            self.error(
                "E0530",
                f"`targeted {target}`: model `{model.name}` has classes 0..{model.num_classes - 1}",
                span,
                help=f"target a class below {model.num_classes}",
            )

    def attack_on(self, item: Any, name: str, span: Span, in_defence: bool) -> None:
        """An ``under`` item or a defence's attack applied to model ``name``."""
        model = self.model(name)
        if model is None and name in self.program.kernels:
            kernel_attack_on(self, item, name, span, in_defence)
            return
        if model is None or item == "clean":
            return
        method, options, declared = self.resolve(item)
        where = declared or span
        if method.name != "transfer":
            self.applies(method, options, model, where)
            if method.name == "closest_flip":
                self.closest_flip(model, span, in_defence)
            return
        if in_defence:
            self.error(
                "E0721",
                "adversarial training needs a white-box attack, not a transfer attack",
                span,
                help="name an fgsm/bim/pgd/mim/gradient_steps/local_rotations attack",
            )
            return
        self.transfer(method, options, model, name, where)

    def closest_flip(self, model: Model, span: Span, in_defence: bool) -> None:
        """``closest_flip``: adversarial training of a model exact verification applies to."""
        from qadl.adversary.certify_exact import exact_problem

        if not in_defence:
            self.error(
                "E0950",
                "`closest_flip` makes training examples for `adversarial_training`; in an "
                "evaluation its robust accuracy is the certified accuracy of `certify [exact]`",
                span,
                help="evaluate with `under [clean, ATTACK] { certify [exact] }` instead",
            )
            return
        if model.input_kind != "state":
            return  # E0716 above
        problem = exact_problem(model.circuit)
        target = self.program.target_of(model.name)
        if problem is None and target is not None and not target.noise.is_noiseless:
            problem = (
                f"it runs on the noisy device `{target.name}`, and mixed states have no "
                "closed-form closest flip"
            )
        if problem is not None:
            self.error(
                "E0951",
                f"`closest_flip` cannot attack model `{model.name}`: {problem}",
                span,
                help="use `local_rotations(epsilon = …, fidelity = …)` for this model",
            )

    def transfer(
        self, method: CallValue, options: dict[str, Any], model: Model, name: str, span: Span
    ) -> None:
        inner_item = method.get("attack", CallValue("bim"))
        inner, inner_options, declared = self.resolve(inner_item)
        if inner.name == "closest_flip":
            self.closest_flip(model, span, in_defence=False)
            return
        if declared is None:  # an inline method takes the attack block's options
            inner_options = options
        if method.get("surrogate") is not None:
            if model.input_kind == "state" or inner.name in QUANTUM_METHODS:
                self.error(
                    "E0725",
                    f"a scikit-learn surrogate (`{method.get('surrogate')}`) needs classical "
                    f"features; model `{model.name}` takes quantum states",
                    span,
                    help="transfer from another qadl model: `transfer(from = MODEL, attack = ...)`",
                )
            return
        source_name = method.get("from") or name
        source = self.model(source_name)
        if source is None and source_name in self.program.kernels:
            kernel_source(self, method, source_name, name, span)
            return
        if source is None:
            return
        self.needs_params(source_name, span, "the source of a transfer attack")
        self.applies(inner, inner_options, source, span)
        if _input_of(source) != _input_of(model):
            self.error(
                "E0717",
                f"transfer from `{source_name}` to `{model.name}`: the models take different "
                "inputs",
                span,
                help="craft on a model with the same input (features or state size)",
            )

    def clip_fits(self, item: Any, dataset: str, span: Span) -> None:
        """An attack's ``clip [lo, hi]`` must contain the clean data, or clipping alone moves
        clean samples (the reported perturbation would exceed ε)."""
        shape = self.shapes.get(dataset)
        if item == "clean" or shape is None or shape.feature_range is None:
            return
        method, options, declared = self.resolve(item)
        clip = options.get("clip")
        if clip is None and method.name == "transfer":  # the crafting attack's clip
            _, inner_options, inner_declared = self.resolve(method.get("attack", "bim"))
            clip = (inner_options if inner_declared else options).get("clip")
            declared = inner_declared or declared
        if clip is None or float(clip[0]) > float(clip[1]):  # lo > hi: the checker's error
            return
        lo, hi = shape.feature_range
        if lo < float(clip[0]) or hi > float(clip[1]):
            self.error(
                "E0719",
                f"`clip [{clip[0]}, {clip[1]}]` does not contain data `{dataset}`, whose "
                f"features lie in [{lo:.6g}, {hi:.6g}]: clipping would move clean samples",
                declared or span,
                help=f"widen the range to contain [{lo:.6g}, {hi:.6g}], or leave `clip` out "
                "(the data's range is the default)",
            )
