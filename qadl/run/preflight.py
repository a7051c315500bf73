"""The preflight: everything about a program that is knowable without training anything.

``qadl check`` and ``qadl run`` both call ``preflight`` after the program has been checked
and lowered, so a run never fails after minutes of training on a problem the checker could
have seen. It needs the data and the lowered models, which ``qadl.check`` may not import;
hence it lives here. It reports, each located at the statement concerned:

- data files: outside the allowed directories (E0713), unreadable, malformed or too large
  (E0701–E0707, E0714, E0715), too few samples to split (E0702); built-in data options
  that cannot give a data set (E0718, E0702);
- data that does not fit the model it trains or evaluates: feature count, state size,
  labels beyond the model's classes (E0722);
- attacks that cannot apply: a targeted class the model lacks (E0530), a `clip` range that
  does not contain the clean data (E0719), a quantum attack on
  features or a classical one on states (E0716), a transfer between models with different
  inputs (E0717), a scikit-learn surrogate on quantum data (E0725), a transfer attack in a
  defence (E0721), a model attacked, defended or evaluated without trained parameters (E0723);
- `evaluate { fidelity true }` on a model with no input state to compare: features that are
  not amplitude-encoded (E0531);
- `evaluate { device T; mitigate ... }`: an unknown or too small target, a device that
  lacks the noise mitigated or samples shots (E0620–E0628, ``qadl.run.mitigation``);
- memory: a training batch, or an evaluated split of known size, whose states would not
  fit (E0803, ``qadl.run.resources``).

It is fast: data files are read (and refused above a size limit) but not split, built-in
data sets are never generated (their shapes follow from their options), and nothing heavy
(Numba, scikit-learn) is imported.
"""

from __future__ import annotations

import argparse
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from qadl.adversary.fidelity import encoding_problem
from qadl.check.methods import PRIVACY_METHODS
from qadl.diagnostics import DiagnosticBag
from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.files import MAX_DATA_BYTES, check_split, read_file
from qadl.program import CallValue, DataRef, DataSpec, Model, Program
from qadl.run.argtypes import int_at_least
from qadl.run.certification import certify_problems
from qadl.run.kernel_preflight import kernel_attack_on, kernel_source, kernel_statements
from qadl.run.tabular_checks import (
    digits_pca_problem,
    file_steps_problem,
    preprocess_of,
    stepped_shape,
    tabular_problem,
    tabular_shape,
    tabular_source,
)
from qadl.source import Span

__all__ = ["DataPolicy", "DataShape", "Preflight", "add_data_flags", "policy_from", "preflight"]

QUANTUM_METHODS = ("local_rotations", "closest_flip")
"""Attacks on input states; every other method perturbs features."""

_QUANTUM_QUBITS = {"builtin.aubry_andre": 10, "builtin.ising": 8, "builtin.cluster_ising": 8}
"""Default ``qubits`` of the quantum-data generators (``qadl.run.configs.load_data``)."""


@dataclass(frozen=True)
class DataPolicy:
    """Where data files may come from, and how large they may be.

    A data file must lie (after following symlinks) inside the program's directory or one
    of ``roots``, unless ``allow_outside``: a program from someone else cannot pull
    arbitrary local files into its training data and outputs.
    """

    roots: tuple[Path, ...] = ()
    """Extra directories data files may come from (``--data-root DIR``)."""
    allow_outside: bool = False
    """Any readable path is allowed (``--allow-data-outside``)."""
    max_bytes: int = MAX_DATA_BYTES
    """Size limit of one data file (``--max-data-mb``)."""


@dataclass(frozen=True)
class DataShape:
    """What one ``data`` set feeds a model, known without generating it."""

    features: int | None
    """Features per sample, or None when it holds no features."""
    qubits: int | None
    """Qubits of its input states, or None when it holds no states."""
    classes: int
    """Labels lie in ``0 .. classes - 1``."""
    feature_range: tuple[float, float] | None = None
    """Smallest and largest feature value, where known without generating the data."""


@dataclass(frozen=True)
class Preflight:
    """What the preflight learnt: the data files it read and every data set's shape."""

    files: dict[str, Dataset]
    """Every ``file(...)`` data set (before its train/test split), by data-set name."""
    shapes: dict[str, DataShape]

    def log_lines(self) -> list[str]:
        """One line per data file: how many rows were read (for the run log)."""
        lines = []
        for name, data in self.files.items():
            header = ", header row skipped" if data.meta.get("header") else ""
            lines.append(
                f"data {name}: read {data.meta.get('rows')} samples from "
                f"{_shown(Path(data.meta['path']))}{header}"
            )
        return lines


def _shown(path: Path) -> str:
    """A path as the user should see it: relative to the working directory when it lies
    below it, absolute otherwise (``../../etc/x`` hides where a file is)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def _allowed(path: Path, program_dir: Path, policy: DataPolicy) -> bool:
    if policy.allow_outside:
        return True
    real = path.resolve()  # follows every symlink, so a link cannot escape
    roots = (program_dir, *policy.roots)
    return any(real.is_relative_to(root.resolve()) for root in roots)


def _read(spec: DataSpec, program_dir: Path, policy: DataPolicy) -> Dataset:
    path = Path(spec.path or "")
    try:
        allowed = _allowed(path, program_dir, policy)
    except (OSError, RuntimeError) as err:  # a symlink loop (RuntimeError before 3.13)
        raise QadlError.at(
            "E0701", f"data file `{_shown(path)}`: {err}", spec.span, label="data loaded here"
        ) from None
    if not allowed:
        real = path.resolve()
        via = "" if real == Path(os.path.abspath(path)) else f" (a link to `{real}`)"
        raise QadlError.at(
            "E0713",
            f"data file `{_shown(path)}`{via} lies outside the program's directory "
            f"`{_shown(program_dir)}`",
            spec.span,
            label="data loaded here",
            help="move the file next to the program, or allow its directory with "
            "`--data-root DIR` (any path: `--allow-data-outside`)",
        )
    # messages name the file as the user sees it; the data set records its full path
    data = read_file(_shown(path), span=spec.span, max_bytes=policy.max_bytes)
    check_split(data, _test(spec), spec.span)
    return replace(data, meta={**data.meta, "path": str(path)})


def _builtin_shape(spec: DataSpec) -> DataShape | None:
    if tabular_source(spec) is not None:
        if tabular_problem(spec) is not None:  # reported once, by `_builtin_problem`
            return None
        features, classes, known = tabular_shape(spec)
        return DataShape(features, None, classes, known)
    if spec.source == "builtin.digits":
        h, w = spec.options.get("size", (16, 16))
        classes = len(tuple(spec.options.get("classes", (1, 9))))
        # l2 and minmax put every pixel in [0, 1]; `none` keeps raw values (not known here)
        known = spec.options.get("normalize", "l2") in ("l2", "minmax")
        steps = preprocess_of(spec.options)
        features = int(h) * int(w) if steps.pca is None else steps.pca
        pixels = (0.0, 1.0) if known else None
        return DataShape(features, None, classes, steps.feature_range(pixels))
    if spec.source in _QUANTUM_QUBITS:
        return DataShape(None, int(spec.options.get("qubits", _QUANTUM_QUBITS[spec.source])), 2)
    if spec.source == "builtin.havlicek":  # points of [0, 2π)², two classes
        return DataShape(2, None, 2, (0.0, 2 * math.pi))
    return None


def _builtin_problem(spec: DataSpec) -> tuple[str, str, str] | None:
    """(code, message, help) for options of a built-in data set that cannot give the data
    set they promise, or None."""
    opts = spec.options
    if tabular_source(spec) is not None:
        return tabular_problem(spec)
    if spec.source == "builtin.digits":
        classes = [int(c) for c in opts.get("classes", (1, 9))]
        if len(set(classes)) != len(classes):
            return "E0718", f"`classes` lists a digit twice: {classes}", "list each digit once"
        return digits_pca_problem(spec)
    if spec.source == "builtin.havlicek":  # half of the samples in each class
        from qadl.learn.data import split_problem

        n = int(opts.get("samples", 200))
        problem = split_problem(np.repeat(np.arange(2), [n // 2, n - n // 2]), _test(spec))
        if problem is not None:
            return _unsplittable(spec, problem)
        return None
    if spec.source not in _QUANTUM_QUBITS:
        return None
    from qadl.learn.data import split_problem
    from qadl.learn.quantum_data import MAX_QUBITS

    qubits = int(opts.get("qubits", _QUANTUM_QUBITS[spec.source]))
    if qubits > MAX_QUBITS:
        return (
            "E0718",
            f"quantum data of {qubits} qubits: the generators stop at {MAX_QUBITS}",
            f"use at most {MAX_QUBITS} qubits",
        )
    field = opts.get("field")
    if field is not None and not float(field[0]) < float(field[1]) <= 2.0:
        return (
            "E0718",
            f"`field = [{field[0]}, {field[1]}]`: the classes take h in [0, a] and [b, 2], "
            "so a < b <= 2 is needed",
            "e.g. field = [0.8, 1.2]",
        )
    per_class = int(opts.get("samples", 600 if spec.source == "builtin.aubry_andre" else 200)) // 2
    labels = np.repeat(np.arange(2), per_class)
    problem = "no samples in a class" if per_class == 0 else split_problem(labels, _test(spec))
    return None if problem is None else _unsplittable(spec, problem)


def _unsplittable(spec: DataSpec, problem: str) -> tuple[str, str, str]:
    """The E0702 (code, message, help) of a generated two-class data set that cannot split."""
    return (
        "E0702",
        f"cannot split `{spec.name}` into train and test: {problem}",
        "use more `samples` (half go to each class), or another `test` fraction",
    )


def _test(spec: DataSpec) -> float:
    """The held-out fraction (the defaults of ``qadl.run.configs.load_data``)."""
    return float(spec.options.get("test", 0.2))


def _file_shape(train: Dataset) -> DataShape:
    return DataShape(
        train.num_features if train.x is not None else None,
        train.num_qubits if train.states is not None else None,
        train.num_classes,
        train.feature_range,
    )


def _input_of(model: Model) -> tuple[str, int]:
    """What a model reads: (``features``, F), (``state``, n) or (``none``, 0)."""
    if model.input_kind == "state":
        return "state", model.num_qubits
    return model.input_kind, model.num_features if model.input_kind == "features" else 0


def _fit_problem(model: Model, shape: DataShape, data: str) -> str | None:
    """Why data of ``shape`` cannot feed ``model``, or None."""
    m, d = f"model `{model.name}`", f"data `{data}`"
    if model.input_kind == "state":
        if shape.qubits is None:
            return f"{m} takes input states of {model.num_qubits} qubits, {d} holds none"
        if shape.qubits != model.num_qubits:
            return f"{m} takes {model.num_qubits}-qubit states, {d} holds {shape.qubits}-qubit ones"
    elif model.input_kind == "features":
        if shape.features is None:
            return f"{m} takes {model.num_features} features, {d} holds none"
        if shape.features != model.num_features:
            return f"{m} takes {model.num_features} features per sample, {d} has {shape.features}"
    if shape.classes > model.num_classes:
        return (
            f"{d} has labels up to {shape.classes - 1}, but {m} reads out "
            f"{model.num_classes} classes (0..{model.num_classes - 1})"
        )
    return None


class _Preflight:
    """One pass over a program's statements, collecting every problem in a bag."""

    def __init__(self, program: Program, policy: DataPolicy, max_samples: int | None) -> None:
        self.program = program
        self.policy = policy
        self.max_samples = max_samples
        self.bag = DiagnosticBag()
        self.files: dict[str, Dataset] = {}
        self.shapes: dict[str, DataShape] = {}
        self.reported: set[tuple[str, str, Span]] = set()
        self.base = {d.result: d.model for d in program.defences}
        """Defended model name -> the model it copies."""
        self.trained = {t.model for t in program.trainings} | set(self.base)
        self.trained |= {t.kernel for t in program.kernel_trainings}

    # -- helpers ----------------------------------------------------------------------------------
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

    def guard(self, fn, *args) -> Any:
        """Run ``fn``; a ``QadlError`` joins the bag (so every statement gets checked)."""
        try:
            return fn(*args)
        except QadlError as err:
            for diag in err.diagnostics:
                self.bag.add(diag)
            return None

    def model(self, name: str) -> Model | None:
        return self.program.models.get(self.base.get(name, name))

    def has_encoded_state(self, name: str, span: Span) -> None:
        """``evaluate { fidelity true }`` needs input states: quantum data or amplitudes."""
        model = self.model(name)
        if model is None or model.input_kind == "state":
            return
        problem = encoding_problem(model.circuit)
        if problem is not None:
            self.error(
                "E0531",
                f"`fidelity true`: no encoded-state fidelity for model `{name}`: {problem}",
                span,
                help="fidelity is reported for quantum-data inputs and amplitude-encoded "
                "features; drop `fidelity true` here",
            )

    def certifies(self, name: str, options: dict[str, Any], span: Span) -> None:
        """``evaluate { certify [...] }``: every method applies to the model, exactly."""
        model = self.model(name)
        kernels = getattr(self.program, "kernels", {})
        if model is None and options.get("certify") and name in kernels:
            self.error(
                "E0540",
                f"`certify`: `{name}` is a kernel classifier; certificates are for circuit models",
                span,
                help="evaluate the kernel classifier in its own `evaluate` without `certify`",
            )
        if model is not None:
            for code, message, hint in certify_problems(self.program, name, model, options):
                self.error(code, message, span, help=hint)

    def margin(self, spec: Any) -> None:
        """Certified training: the certificate applies to the defended model (and can move)."""
        from qadl.run.margin_defence import (
            MARGIN_HELP,
            REGULARISATION_HELP,
            margin_problem,
            regularisation_problem,
        )

        model = self.model(spec.model)
        if model is None:
            return
        if spec.method.name == "lipschitz_regularisation":
            problem = regularisation_problem(model.circuit)
            if problem is not None:
                self.error(
                    "E0540",
                    f"`lipschitz_regularisation` cannot train model `{spec.model}`: {problem}",
                    spec.span,
                    help=REGULARISATION_HELP,
                )
            return
        certify = str(spec.method.as_dict().get("certify"))
        problem = margin_problem(model.circuit, certify)
        if problem is not None:
            self.error(
                "E0540",
                f"`margin_training(certify = {certify})` cannot train model `{spec.model}`: "
                f"{problem}",
                spec.span,
                help=MARGIN_HELP,
            )

    def on_device(self, name: str, options: dict[str, Any], span: Span, under: Any) -> None:
        """``evaluate { device T; mitigate ... }``: a target that fits, with noise to mitigate."""
        from qadl.run.mitigation import problems
        from qadl.run.noise_sweep import sweep_problems

        model = self.model(name)
        asked = " and ".join(
            f"`{k}`" for k in ("device", "mitigate", "noise_scale") if k in options
        )
        noiseless = hint = None
        if model is None and name in self.program.kernels:
            noiseless = f"kernel `{name}` is evaluated from its noiseless Gram matrix"
            hint = f"evaluate `{name}` in an `evaluate` without {asked}"
        elif model is not None and model.input_kind == "state" and any(i != "clean" for i in under):
            noiseless = f"attacks on the quantum states of `{name}` run on the noiseless circuit"
            hint = f"evaluate `{name}` under [clean] only, or without {asked}"
        if noiseless is not None:
            self.error("E0629", f"{asked}: {noiseless}", span, help=hint)
        for code, message, help in problems(self.program, model, options) if model else ():
            self.error(code, message, span, help=help)
        if model is not None and "noise_scale" in options:
            for code, message, help in sweep_problems(self.program, model, options):
                self.error(code, message, span, help=help)

    def trains_mitigated(self, name: str, options: dict[str, Any], span: Span) -> None:
        """``train { mitigate ... }``: the model's bound device has the noise to mitigate."""
        from qadl.run.mitigation import problems

        model = self.model(name)
        for code, message, help in problems(self.program, model, options) if model else ():
            if code == "E0620":  # a training has no `device` option: only the binding
                help = f"bind it to a noisy target: `device {name} on TARGET`"
            self.error(code, message, span, help=help)

    def error(self, code: str, message: str, span: Span, help: str | None = None) -> None:
        """Report a problem once (an attack used by several statements is checked for each)."""
        key = (code, message, span)
        if key not in self.reported:
            self.reported.add(key)
            self.bag.error(code, message, span, label="here", help=help)

    # -- data -------------------------------------------------------------------------------------
    def data(self) -> None:
        program_dir = Path(self.program.path).resolve().parent
        for name, spec in self.program.datasets.items():
            if spec.source == "file":
                data = self.guard(_read, spec, program_dir, self.policy)
                if data is not None:
                    self.files[name] = data
                    problem = file_steps_problem(spec, data)
                    if problem is not None:
                        code, message, help = problem
                        self.bag.error(code, message, spec.span, label="data declared here",
                                       help=help)
                    else:
                        self.shapes[name] = replace(_file_shape(data), **stepped_shape(spec, data))
            else:
                problem = _builtin_problem(spec)
                if problem is not None:
                    code, message, help = problem
                    self.bag.error(code, message, spec.span, label="data declared here", help=help)
                shape = _builtin_shape(spec)
                if shape is not None:
                    self.shapes[name] = shape

    def fits(self, name: str, dataset: str, span: Span) -> None:
        model, shape = self.model(name), self.shapes.get(dataset)
        if model is None or shape is None:
            return
        problem = _fit_problem(model, shape, dataset)
        if problem is not None:
            self.error(
                "E0722", problem, span, help="the model's input and classes must match the data"
            )

    def needs_params(self, name: str, span: Span, what: str) -> None:
        if name not in self.trained:
            self.error(
                "E0723",
                f"model `{name}` is {what} but never trained",
                span,
                help=f"add `train {name} on DATA.train {{ ... }}`",
            )

    # -- attacks ----------------------------------------------------------------------------------
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

    # -- statements -------------------------------------------------------------------------------
    def privacy(self) -> None:
        """What ``qadl run`` checks of privacy attacks before any work (E0561–E0565,
        E0961–E0964), and an inversion's sample count where the data size is known."""
        from qadl.run.privacy import check_privacy_attack  # lazy: attacks import SciPy

        for attack in self.program.attacks.values():
            if attack.method.name in PRIVACY_METHODS:
                self.guard(check_privacy_attack, self.program, attack, self.split_size)

    def statements(self) -> None:
        program = self.program
        for attack in program.attacks.values():  # wrong for its own model even if unused
            model = self.model(attack.model)
            crafts = attack.method.name not in ("transfer", *PRIVACY_METHODS)
            if model is not None and crafts:  # privacy attacks: `privacy` below
                self.applies(attack.method, attack.options, model, attack.span)
        self.privacy()
        for spec in program.trainings:
            self.fits(spec.model, spec.data.dataset, spec.span)
            if "mitigate" in spec.options:
                self.trains_mitigated(spec.model, spec.options, spec.span)
            batch = int(spec.options.get("batch", 20))
            self.memory(spec.model, batch, True, spec.span, f"training `{spec.model}`")
        for spec in program.defences:
            if spec.model not in {t.model for t in program.trainings}:
                self.error(
                    "E0723",
                    f"model `{spec.model}` is defended but never trained",
                    spec.span,
                    help=f"add `train {spec.model} on DATA.train {{ ... }}`",
                )
            if spec.method.name in ("margin_training", "lipschitz_regularisation"):
                self.margin(spec)
            else:
                attack = spec.method.as_dict().get("attack", "pgd")
                self.attack_on(attack, spec.model, spec.span, in_defence=True)
                self.schedule_fits(spec, attack)
                for training in program.trainings:  # the defence retrains on the model's data
                    if training.model == spec.model:
                        self.clip_fits(attack, training.data.dataset, spec.span)
            batch = int(spec.options.get("batch", 20))
            self.memory(spec.model, batch, True, spec.span, f"defending `{spec.model}`")
        kernel_statements(self)
        for spec in program.evaluations:
            for name in spec.models:
                self.needs_params(name, spec.span, "evaluated")
                self.fits(name, spec.data.dataset, spec.span)
                if spec.options.get("fidelity", False):
                    self.has_encoded_state(name, spec.span)
                if {"mitigate", "device", "noise_scale"} & spec.options.keys():
                    self.on_device(name, spec.options, spec.span, spec.under)
                self.certifies(name, spec.options, spec.span)
                for item in spec.under:
                    self.attack_on(item, name, spec.span, in_defence=False)
            for item in spec.under:
                self.clip_fits(item, spec.data.dataset, spec.span)
            size = self.split_size(spec.data)
            for cap in (spec.options.get("samples"), self.max_samples):  # as the run limits it
                if cap is not None:
                    size = min(int(cap), size or int(cap))
            attacked = any(item != "clean" for item in spec.under)
            for name in spec.models if size else ():  # a whole split is simulated at once
                self.memory(name, size, attacked, spec.span, f"evaluating `{name}`")

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

    def memory(self, name: str, batch: int, gradient: bool, span: Span, what: str) -> None:
        """Refuse work whose batch of states (and gradients) cannot fit in memory."""
        from qadl.backends.sim.noisy import choose_method
        from qadl.run.resources import require_memory

        model = self.model(name)
        if model is None:
            return
        target = self.program.target_of(model.name)
        noisy = target is not None and not target.noise.is_noiseless
        density = noisy and choose_method(model.num_qubits) == "density"
        self.guard(require_memory, model.num_qubits, batch, density, gradient, span, what)

    def split_size(self, ref: DataRef) -> int | None:
        """Samples in a data split, where known without generating the data (not digits)."""
        spec = self.program.datasets.get(ref.dataset)
        if spec is None:
            return None
        if spec.source == "file":
            data = self.files.get(ref.dataset)
            total = None if data is None else len(data)
        elif spec.source in _QUANTUM_QUBITS:
            default = 600 if spec.source == "builtin.aubry_andre" else 200
            total = int(spec.options.get("samples", default)) // 2 * 2
        else:
            return None
        if total is None:
            return None
        held_out = math.ceil(_test(spec) * total)  # as the stratified split
        return {"test": held_out, "train": total - held_out}.get(ref.split or "", total)


def preflight(
    program: Program, policy: DataPolicy | None = None, *, max_samples: int | None = None
) -> Preflight:
    """Check what ``qadl run`` would otherwise find only while running (see the module doc).

    Args:
        program: a checked and lowered program.
        policy: where data files may come from and their size limit (default: the
            program's directory, 1 GiB).
        max_samples: ``qadl run --samples N``: evaluations simulate at most N samples.

    Returns:
        The data files read and every data set's shape.

    Raises:
        QadlError: every problem found, each located at its statement.
    """
    run = _Preflight(program, policy or DataPolicy(), max_samples)
    run.data()
    run.statements()
    run.bag.raise_if_errors()
    return Preflight(run.files, run.shapes)


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    """The data-policy flags shared by ``qadl check`` and ``qadl run``."""
    parser.add_argument(
        "--data-root",
        action="append",
        default=[],
        metavar="DIR",
        help="also allow data files under DIR (default: only under the program's directory)",
    )
    parser.add_argument(
        "--allow-data-outside",
        action="store_true",
        help="allow data files anywhere (only for programs you trust)",
    )
    parser.add_argument(
        "--max-data-mb",
        type=int_at_least(1),
        default=MAX_DATA_BYTES >> 20,
        metavar="N",
        help=f"refuse data files over N MiB (default {MAX_DATA_BYTES >> 20})",
    )


def policy_from(args: argparse.Namespace) -> DataPolicy:
    """The ``DataPolicy`` of parsed ``add_data_flags`` arguments."""
    return DataPolicy(
        roots=tuple(Path(d) for d in args.data_root),
        allow_outside=args.allow_data_outside,
        max_bytes=args.max_data_mb << 20,
    )
