"""The experiment statements of a program (data, train, attack, defend, evaluate, target,
noise, device): their references and options, each turned into its spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qadl.check.kernel_defence import (
    KernelDefenceSpec,
    check_kernel_defence,
    is_kernel,
)
from qadl.check.kernels import (
    KernelTrainSpec,
    check_kernel_attack,
    check_kernel_evaluation,
    check_kernel_train,
    refuse_kernel,
)
from qadl.check.methods import (
    ATTACK_METHODS,
    DATA_SOURCES,
    DEFENCE_METHODS,
    check_call,
    ignored_attack_options,
)
from qadl.check.names import did_you_mean
from qadl.check.schema import SCHEMAS
from qadl.check.scope import KIND_WORDS, ModuleScope
from qadl.check.specs import (
    AttackSpec,
    DataSpec,
    DefenceSpec,
    DeviceSpec,
    EvaluationSpec,
    NoiseSpec,
    TargetSpec,
    TrainSpec,
)
from qadl.check.validators import close_match
from qadl.check.values import CallValue, DataRef, resolve_value
from qadl.diagnostics import Diagnostic, DiagnosticBag, Label
from qadl.frontend import ast as A
from qadl.source import Span

__all__ = ["TopLevel"]


class TopLevel:
    """Checks the experiment statements of the root module."""

    def __init__(self, scope: ModuleScope, bag: DiagnosticBag, root_dir: Path) -> None:
        self.scope = scope
        self.bag = bag
        self.root_dir = root_dir

    def ref(self, name: A.Name, kinds: tuple[str, ...], what: str) -> str | None:
        """Resolve a reference to a definition of one of ``kinds`` (did-you-mean otherwise)."""
        d = self.scope.lookup(name.id)
        if d is None:
            candidates = [n for n, x in self.scope.visible.items() if x.kind in kinds]
            self.bag.error(
                "E0202",
                f"unknown {what} `{name.id}`",
                name.span,
                label="not defined",
                help=did_you_mean(name.id, candidates),
            )
            return None
        if d.kind not in kinds:
            self.bag.error(
                "E0220",
                f"`{name.id}` is {KIND_WORDS[d.kind]}, not a {what}",
                name.span,
                label=f"expected a {what}",
            )
            return None
        return name.id

    def options(self, kind: str, options: tuple[A.Option, ...], span: Span) -> dict[str, Any]:
        """Validate options against the schema of ``kind``.

        ``span`` is where a missing required option is reported.
        """
        schema = SCHEMAS[kind]
        out: dict[str, Any] = {}
        seen: dict[str, Span] = {}
        for opt in options:
            if opt.key not in schema.options:
                hint = close_match(opt.key, schema.options)
                self.bag.error(
                    schema.code_unknown,
                    f"unknown {kind} option `{opt.key}`",
                    opt.key_span,
                    label="not an option here",
                    help=f"did you mean `{hint}`?"
                    if hint
                    else f"{kind} options: {', '.join(schema.options)}",
                )
                continue
            if opt.key in seen:
                self.bag.add(
                    Diagnostic(
                        "E0507",
                        f"option `{opt.key}` given twice",
                        Label(opt.key_span, "given again"),
                        (Label(seen[opt.key], "first given here"),),
                    )
                )
                continue
            seen[opt.key] = opt.key_span
            value = (
                True if opt.value is None else resolve_value(opt.value, self.scope.consts, self.bag)
            )
            if value is None:
                continue
            problem = schema.options[opt.key](value)
            if problem:
                self.bag.error(
                    schema.code_value,
                    f"bad value for `{opt.key}`: {problem}",
                    opt.value.span if opt.value is not None else opt.span,
                    label="invalid value",
                )
                continue
            out[opt.key] = value
        for key, rule in schema.rules:
            problem = rule(out) if key in out else None
            if problem:
                self.bag.error("E0519", problem, seen[key], label="contradicts another option")
        for key in schema.required:
            if key not in out and key not in seen:
                self.bag.error(
                    schema.code_unknown.replace("01", "08"),
                    f"{kind} needs the option `{key}`",
                    span,
                    label=f"missing `{key}`",
                    help=f"add `{key} ...` to the {{ ... }} block",
                )
        return out

    def data_split(self, node: A.Expr) -> DataRef | None:
        """A ``name.split`` reference to a declared dataset."""
        value = resolve_value(node, self.scope.consts, DiagnosticBag())
        if not isinstance(value, DataRef) or value.split not in ("train", "test", "all"):
            self.bag.error(
                "E0511",
                "expected a data split like `digits.train` or `digits.test`",
                node.span,
                label="not a data split",
            )
            return None
        base = node.base if isinstance(node, A.Attribute) else node
        if isinstance(base, A.Name) and self.ref(base, ("data",), "dataset") is None:
            return None
        return value

    # -- one method per statement kind ------------------------------------------------------------
    def data(self, decl: A.DataDecl) -> DataSpec | None:
        """Check a ``data`` declaration's source and arguments."""
        value = resolve_value(decl.source, self.scope.consts, self.bag)
        if not isinstance(value, CallValue):
            self.bag.error(
                "E0510",
                'a dataset is `builtin.NAME(...)` or `file("path", ...)`',
                decl.source.span,
                label="not a data source",
            )
            return None
        problem = check_call(value, DATA_SOURCES, "data source")
        if problem:
            self.bag.error(
                "E0510", problem[0].upper() + problem[1:], decl.source.span, label="here"
            )
            return None
        path = None
        if value.name == "file":
            if len(value.args) != 1 or not isinstance(value.args[0], str):
                self.bag.error(
                    "E0512",
                    "`file` needs the path as its first argument",
                    decl.source.span,
                    label='e.g. file("data/x.npz", test = 0.2)',
                )
                return None
            path = str(self.root_dir / value.args[0])
            if not value.args[0].endswith((".npz", ".csv")):
                self.bag.error(
                    "E0512",
                    "data files must be .npz or .csv",
                    decl.source.span,
                    label=value.args[0],
                )
        return DataSpec(decl.name, value.name, value.as_dict(), path, span=decl.span)

    def train(self, decl: A.TrainDecl) -> TrainSpec | KernelTrainSpec | None:
        """Check a ``train`` statement (of a model, or of a kernel's classifier)."""
        d = self.scope.lookup(decl.model.id)
        if d is not None and d.kind == "kernel":
            data = self.data_split(decl.data)
            return (
                check_kernel_train(
                    decl.model.id, data, decl.options, decl.span, self.scope, self.bag
                )
                if data is not None
                else None
            )
        model = self.ref(decl.model, ("model", "robust"), "model")
        data = self.data_split(decl.data)
        options = self.options("train", decl.options, decl.span)
        if model is None or data is None:
            return None
        return TrainSpec(model, data, options, span=decl.span)

    def attack(self, decl: A.AttackDecl) -> AttackSpec | None:
        """Check an ``attack`` statement; its ``method`` option is required."""
        model = self.ref(decl.model, ("model", "robust", "kernel"), "model")
        options = self.options("attack", decl.options, decl.name_span)
        method = options.pop("method", None)
        if model is None or method is None:
            return None
        method = method if isinstance(method, CallValue) else CallValue(str(method))
        kernel = is_kernel(self.scope, decl.model.id)
        if kernel and not check_kernel_attack(model, method, decl.options, self.bag):
            return None
        if method.name == "transfer" and method.get("from") is not None:
            self.ref(
                A.Name(method.get("from"), span=method.span), ("model", "robust", "kernel"), "model"
            )
        inner = method.get("attack")
        if method.name == "transfer" and isinstance(inner, str) and inner not in ATTACK_METHODS:
            self.ref(A.Name(inner, span=method.span), ("attack",), "attack")
        ignored = ignored_attack_options(method, options)
        for opt in decl.options:
            if opt.key in ignored:
                self.bag.error(
                    "E0532",
                    f"`{opt.key}` would have no effect here: {ignored[opt.key]}",
                    opt.key_span,
                    label="not used by this method",
                )
        return AttackSpec(decl.name, model, method, options, span=decl.span)

    def defend(self, decl: A.DefendDecl) -> DefenceSpec | KernelDefenceSpec | None:
        """Check a ``defend`` statement and the attack it names."""
        if getattr(self.scope.lookup(decl.model.id), "kind", None) == "kernel":
            spec = check_kernel_defence(decl, self.scope, self.bag)
            if spec is not None and isinstance(spec.attack, str):
                self.ref(A.Name(spec.attack, span=decl.method.span), ("attack",), "attack")
            return spec
        model = self.ref(decl.model, ("model",), "model")
        method = resolve_value(decl.method, self.scope.consts, self.bag)
        if isinstance(method, str):
            method = CallValue(method)
        problem = check_call(method, DEFENCE_METHODS, "defence")
        if problem:
            # a misspelt certified-training method gets both spellings of certified training
            certified = isinstance(method, CallValue) and method.name.startswith("lipschitz")
            self.bag.error(
                "E0520",
                problem[0].upper() + problem[1:],
                decl.method.span,
                label="here",
                help="certified training is `margin_training(lambda = …, certify = fidelity | "
                "lipschitz, margin = …)` or, for trained feature weights, "
                "`lipschitz_regularisation(lambda = …)`"
                if certified
                else None,
            )
            return None
        required = {
            "margin_training": ("lambda", "certify", "margin"),
            "lipschitz_regularisation": ("lambda",),
        }.get(method.name, ())
        missing = [k for k in required if method.get(k) is None]
        if missing:
            example = {
                "margin_training": (
                    "margin_training(lambda = 1.0, certify = fidelity, margin = 0.2)"
                ),
                "lipschitz_regularisation": "lipschitz_regularisation(lambda = 0.05)",
            }[method.name]
            self.bag.error(
                "E0520",
                f"`{method.name}` needs `{missing[0]}`",
                decl.method.span,
                label="here",
                help=f"e.g. `{example}`",
            )
            return None
        attack = method.get("attack")
        if isinstance(attack, str):
            self.ref(A.Name(attack, span=decl.method.span), ("attack",), "attack")
        options = self.options("defend", decl.options, decl.span)
        if "epochs" in options and method.get("epochs") is not None:
            self.bag.error(
                "E0519",
                f"`epochs` is given twice: in `{method.name}(epochs = …)` and in the block",
                decl.method.span,
                label="contradicts the block's `epochs`",
                help="keep one of them",
            )
        if model is None:
            return None
        return DefenceSpec(model, method, decl.result, options, span=decl.span)

    def evaluate(self, decl: A.EvaluateDecl) -> EvaluationSpec | None:
        """Check an ``evaluate`` statement."""
        models = [self.ref(m, ("model", "robust", "kernel"), "model") for m in decl.models]
        data = self.data_split(decl.data)
        under: tuple[Any, ...] = ("clean",)
        if decl.under is not None:
            under = self.under(decl.under)
        kernels = [m.id for m in decl.models if is_kernel(self.scope, m.id)]
        check_kernel_evaluation(decl, kernels, under, self.bag)
        options = self.options("evaluate", decl.options, decl.span)
        if None in models or data is None:
            return None
        return EvaluationSpec(tuple(models), data, under, options, span=decl.span)

    def under(self, node: A.Expr) -> tuple[Any, ...]:
        """The ``under [...]`` list: ``clean``, attack names or inline methods."""
        items = node.items if isinstance(node, A.ListExpr) else (node,)
        out: list[Any] = []
        for item in items:
            if isinstance(item, A.Name):
                if item.id == "clean" or self.ref(item, ("attack",), "attack") is not None:
                    out.append(item.id)
                continue
            value = resolve_value(item, self.scope.consts, self.bag)
            problem = (
                check_call(value, ATTACK_METHODS, "attack method") if value is not None else "bad"
            )
            if problem:
                self.bag.error(
                    "E0521", f"bad attack in `under`: {problem}", item.span, label="here"
                )
                continue
            out.append(value)
        return tuple(out)

    def target(self, decl: A.TargetDecl) -> TargetSpec:
        """Check a ``target``; coupling pairs must lie inside its qubits."""
        options = self.options("target", decl.options, decl.name_span)
        if isinstance(options.get("noise"), str):
            self.ref(A.Name(options["noise"], span=decl.span), ("noise",), "noise model")
        pairs = options.get("coupling")
        n = options.get("qubits")
        if isinstance(pairs, tuple) and isinstance(n, int):
            bad = [p for p in pairs if max(p) >= n]
            if bad:
                opt = next(o for o in decl.options if o.key == "coupling")
                self.bag.error(
                    "E0603",
                    f"coupling pair {bad[0]} is outside the target's {n} qubits",
                    opt.value.span if opt.value is not None else opt.span,
                    label=f"qubits are 0..{n - 1}",
                )
        return TargetSpec(decl.name, options, span=decl.span)

    def noise(self, decl: A.NoiseDecl) -> NoiseSpec:
        """Check a ``noise`` declaration."""
        return NoiseSpec(decl.name, self.options("noise", decl.options, decl.span), span=decl.span)

    def device(self, decl: A.DeviceDecl) -> DeviceSpec | None:
        """Check a ``device MODEL on TARGET`` binding."""
        if refuse_kernel(self.scope, decl.model, "device simulation", self.bag):
            return None
        model = self.ref(decl.model, ("model", "robust"), "model")
        target = self.ref(decl.target, ("target",), "target")
        if model is None or target is None:
            return None
        return DeviceSpec(model, target, span=decl.span)
