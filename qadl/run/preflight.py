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
(Numba, scikit-learn) is imported. The data checks are ``qadl.run.data_preflight``, the
attack checks ``qadl.run.attack_preflight`` (both mixed into the pass here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qadl.adversary.fidelity import encoding_problem
from qadl.check.methods import PRIVACY_METHODS
from qadl.diagnostics import DiagnosticBag
from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.program import Model, Program
from qadl.run.attack_preflight import AttackChecks
from qadl.run.certification import certify_problems
from qadl.run.data_preflight import DataChecks, DataPolicy, DataShape, shown
from qadl.run.kernel_preflight import kernel_statements
from qadl.source import Span

__all__ = ["Preflight", "preflight"]


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
                f"{shown(Path(data.meta['path']))}{header}"
            )
        return lines


class _Preflight(DataChecks, AttackChecks):
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

    def needs_params(self, name: str, span: Span, what: str) -> None:
        if name not in self.trained:
            self.error(
                "E0723",
                f"model `{name}` is {what} but never trained",
                span,
                help=f"add `train {name} on DATA.train {{ ... }}`",
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
