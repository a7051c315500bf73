"""``qadl compile``'s mitigation circuits (``qadl.passes.mitigation_circuits``), one file each.

What is emitted for a model compiled for a target ``T`` (``--target T``), in this order of
precedence:

1. ``--no-mitigation``: the plain circuit only;
2. ``--zne-scales 1,3,5 [--zne-folding F]`` and/or ``--calibration tensored|full``: what the
   flags ask (the file's ``mitigate`` is ignored: flags win);
3. otherwise what the file declares for the model on ``T``: every ``evaluate { device T;
   mitigate ... }`` listing it (or a ``defend`` copy of it) and its ``train { mitigate ... }``
   when it is bound to ``T``. Their fold scales are merged (one file per scale) and the
   calibration is ``full`` if any declaration asks for it (its circuits include the
   ``tensored`` pair).

With mitigation, ``-o DIR`` receives the plain circuit, the folded and calibration circuits
and ``MODEL.mitigation.json``, the manifest that says how to combine the results.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from qadl.errors import QadlError
from qadl.source import Span

__all__ = [
    "Declared",
    "MitigationPlan",
    "check_flags",
    "manifest",
    "mitigation_outputs",
    "mitigation_plan",
    "mitigation_variants",
    "parse_scales",
]

MAX_FOLD_SCALE = 99
"""As ``mitigate zne``: the folded circuit has ``scale`` times the gates."""


def parse_scales(text: str) -> tuple[int, ...] | str:
    """``"1,3,5"`` -> ``(1, 3, 5)``, or why it is not a list of distinct odd scales."""
    try:
        scales = tuple(int(part) for part in text.split(","))
    except ValueError:
        return f"--zne-scales {text!r}: expected odd integers separated by commas, like 1,3,5"
    bad = [s for s in scales if s < 1 or s % 2 == 0 or s > MAX_FOLD_SCALE]
    if bad:
        return f"--zne-scales: {bad[0]} is not a folding scale (odd integers 1, 3, 5, … ≤ 99)"
    if len(set(scales)) != len(scales):
        return f"--zne-scales: the scales must differ, got {list(scales)}"
    return scales


def _has_flags(args: argparse.Namespace) -> bool:
    return bool(args.zne_scales or args.calibration)


def check_flags(args: argparse.Namespace, span: Span) -> None:
    """The mitigation flags, before any work.

    Raises:
        QadlError: E0973 for malformed scales, or several files without ``-o``; E0977 for
            ``--no-mitigation`` beside a flag that asks for mitigation circuits.
    """
    if args.no_mitigation and _has_flags(args):
        flag = "--zne-scales" if args.zne_scales else "--calibration"
        raise QadlError.at(
            "E0977", f"--no-mitigation and {flag} contradict each other", span,
            help="drop one of them",
        )
    if not _has_flags(args):
        return
    if args.zne_scales:
        scales = parse_scales(args.zne_scales)
        if isinstance(scales, str):
            raise QadlError.at("E0973", scales, span, help="e.g. --zne-scales 1,3,5")
    if args.output is None:
        flag = "--zne-scales" if args.zne_scales else "--calibration"
        raise QadlError.at(
            "E0973",
            f"{flag} writes one file per circuit: it needs an output directory",
            span,
            help="add -o DIR",
        )


@dataclass(frozen=True)
class Declared:
    """One ``mitigate`` of the file that applies to the compiled model on the target."""

    statement: str
    """``evaluate`` or ``train``."""
    spec: Any
    """Its ``qadl.run.mitigation.MitigationSpec``."""
    span: Span


@dataclass(frozen=True)
class MitigationPlan:
    """The mitigation circuits of one model: fold scales and calibration method."""

    scales: tuple[int, ...] | None
    folding: str
    calibration: str | None
    declared: tuple[Declared, ...] = ()
    """The file's declarations the circuits serve; empty when the flags chose them."""

    @property
    def source(self) -> str:
        """``flags`` or ``file``."""
        return "file" if self.declared else "flags"


def _base_model(program, name: str) -> str:
    """The model a ``defend ... as NAME`` copy was made from (the same circuit)."""
    made = {d.result: d.model for d in program.defences}
    seen: set[str] = set()
    while name in made and name not in seen:
        seen.add(name)
        name = made[name]
    return name


def declared_mitigations(program, model_name: str, target_name: str) -> list[Declared]:
    """Every ``mitigate`` the file applies to ``model_name`` on target ``target_name``."""
    from qadl.run.mitigation import parse_mitigation

    bound = program.devices.get(model_name)
    found = []
    for spec in program.trainings:
        if spec.model == model_name and "mitigate" in spec.options and bound == target_name:
            found.append(Declared("train", parse_mitigation(spec.options["mitigate"]), spec.span))
    for spec in program.evaluations:
        if "mitigate" not in spec.options:
            continue
        names = {_base_model(program, name) for name in spec.models}
        device = spec.options.get("device", None)
        on = bound if device is None else device
        if model_name in names and on == target_name:
            found.append(
                Declared("evaluate", parse_mitigation(spec.options["mitigate"]), spec.span)
            )
    return found


def _from_declarations(declared: list[Declared], model_name: str, target_name: str, sources):
    """Merge the declarations into one plan.

    Raises:
        QadlError: E0975 for channel-scaling ZNE (a device cannot scale its noise), E0976 for
            two declarations that fold differently (their files would share names).
    """
    scales: set[int] = set()
    folding: tuple[str, Declared] | None = None
    calibration = None
    for item in declared:
        spec = item.spec
        if spec.scales is not None and spec.scaling == "channel":
            raise QadlError.at(
                "E0975",
                f"`mitigate zne(scaling = channel)` of model `{model_name}` on `{target_name}` "
                "cannot be compiled: a device cannot scale its noise channels",
                item.span,
                help="fold the circuit instead (`zne(scaling = fold, scales = [1, 3, 5])`), "
                "pass --zne-scales 1,3,5 to override the file, or --no-mitigation",
            )
        if spec.scales is not None:
            if folding is not None and folding[0] != spec.folding:
                raise QadlError.at(
                    "E0976",
                    f"model `{model_name}` on `{target_name}`: this `mitigate zne` folds "
                    f"`{spec.folding}`, the one at {_where(folding[1].span, sources)} "
                    f"`{folding[0]}`; their folded circuits would share the files "
                    f"{model_name}.zneS.qasm",
                    item.span,
                    help="use the same `folding` in both, or choose with --zne-folding "
                    "and --zne-scales (the flags override the file)",
                )
            folding = folding or (spec.folding, item)
            scales |= {int(s) for s in spec.scales}
        if spec.readout is not None and calibration != "full":
            calibration = spec.readout
    return MitigationPlan(
        tuple(sorted(scales)) if scales else None,
        folding[0] if folding else "global",
        calibration,
        tuple(declared),
    )


def mitigation_plan(
    model_name: str, program, target_name: str | None, args: argparse.Namespace
) -> MitigationPlan | None:
    """What ``qadl compile`` emits beside the plain circuit; None: the plain circuit only.

    Raises:
        QadlError: E0975/E0976 for declarations that cannot be compiled (``_from_declarations``).
    """
    if args.no_mitigation:
        return None
    if _has_flags(args):
        scales = parse_scales(args.zne_scales) if args.zne_scales else None
        return MitigationPlan(scales, args.zne_folding, args.calibration)  # type: ignore[arg-type]
    if target_name is None:
        return None
    declared = declared_mitigations(program, model_name, target_name)
    if not declared:
        return None
    return _from_declarations(declared, model_name, target_name, program.sources)


def mitigation_variants(circuit, plan: MitigationPlan, basis, span: Span) -> list:
    """The folded circuits then the calibration ones.

    ``span``: where to point when they cannot be built (the flags, or the declaration).

    Raises:
        QadlError: E0974 when the circuit cannot be folded (a gate without an inverse) or
            calibrated (more than 8 measured qubits for ``full``).
    """
    from qadl.passes.mitigation_circuits import calibration_circuits, folded_circuits

    out = []
    try:
        if plan.scales:
            out += folded_circuits(circuit, plan.scales, plan.folding)
        if plan.calibration:
            out += calibration_circuits(circuit, plan.calibration, basis)
    except ValueError as err:
        fix = (
            "drop --zne-scales or --calibration for this model (--model NAME)"
            if plan.source == "flags"
            else "compile it with --no-mitigation, or drop this `mitigate`"
        )
        raise QadlError.at(
            "E0974", f"cannot emit the mitigation circuits: {err}", span, help=fix
        ) from None
    return out


def mitigation_outputs(
    model_name: str, plan: MitigationPlan, circuit, target, plain: str, emit, span: Span,
    sources=None,
) -> list[tuple[str, str]]:
    """``(file name, text)`` of the folded and calibration circuits, then of the manifest.

    ``target``: the compile target or None; ``plain``: the plain circuit's file name (its
    suffix, ``.qasm`` or ``.ir``, is the variants'); ``emit(circuit, note, bind)``: the text
    of a circuit with a header note (``bind`` False for calibration circuits).
    """
    import json

    suffix = plain[len(model_name):]
    basis = tuple(g.value for g in target.basis) if target is not None else None
    out, files = [], {"": plain}
    for variant in mitigation_variants(circuit, plan, basis, span):
        files[variant.suffix] = f"{model_name}.{variant.suffix}{suffix}"
        out.append((files[variant.suffix], emit(variant.circuit, variant.note,
                                                not variant.calibration)))
    record = manifest(model_name, target and target.name, plan, files, sources)
    out.append((f"{model_name}.mitigation.json", json.dumps(record, indent=2) + "\n"))
    return out


def _where(span: Span, sources) -> str:
    source = sources.get(span.file) if sources is not None else None
    if source is None:
        return span.file
    line, col = source.line_col(span.start)
    return f"{span.file}:{line}:{col}"


def manifest(
    model_name: str, target_name: str | None, plan: MitigationPlan, files: dict[str, str],
    sources=None,
) -> dict[str, Any]:
    """``MODEL.mitigation.json``: which file is which circuit, and how to combine the results.

    ``files``: variant suffix (``zne3``, ``cal_01``; ``""`` for the plain circuit) -> file name.
    """
    zne = cal = None
    if plan.scales:
        zne = {
            "folding": plan.folding,
            "files": {str(s): files[f"zne{s}"] for s in plan.scales},
        }
    if plan.calibration:
        cal = {
            "method": plan.calibration,
            "files": {k[4:]: v for k, v in files.items() if k.startswith("cal_")},
            "bits": "character i of each key is the bit prepared on, and read into, c[i]",
        }
    declared = [
        {"statement": d.statement, "at": _where(d.span, sources), **d.spec.to_json()}
        for d in plan.declared
    ]
    return {
        "model": model_name,
        "target": target_name,
        "from": plan.source,
        "circuit": files[""],
        "zne": zne,
        "calibration": cal,
        "mitigations": declared,
        "combine": _combine(plan),
    }


def _combine(plan: MitigationPlan) -> str:
    """How a hardware user combines the results (the order qadl's simulator applies them)."""
    steps = []
    if plan.calibration:
        which = "per qubit" if plan.calibration == "tensored" else "the whole matrix"
        steps.append(
            "estimate the readout confusion matrix from the calibration circuits' counts "
            f"and apply its inverse ({which}) to each circuit's outcome distribution"
        )
    if plan.scales:
        steps.append(
            "fit each declared extrapolation to the outputs of the folded circuits at its "
            "scales and evaluate the fit at scale 0"
        )
    steps.append("project the result onto the probability simplex (clip expectations to [-1, 1])")
    return "; then ".join(steps)
