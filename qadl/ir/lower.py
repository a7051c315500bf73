"""Lowering: a CheckedProgram -> one ``Circuit`` per model (blocks inlined, loops unrolled).

Lowering is compile-time evaluation (``qadl.ir.evaluate``) and unrolling
(``qadl.ir.unroll``); this module drives them over a program's models and builds its
targets and noise models, then checks each model against the data it is trained on.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from typing import Any

from qadl.check.check import CheckedProgram
from qadl.check.limits import MAX_OPS, MAX_SIM_QUBITS
from qadl.check.specs import DataSpec, NoiseSpec, TargetSpec
from qadl.check.values import CallValue
from qadl.diagnostics import DiagnosticBag
from qadl.ir.evaluate.values import BlockRef, GateRef, QReg, SymVec
from qadl.ir.gates import Gate, gate_by_name
from qadl.ir.kernel import lower_kernels
from qadl.ir.target import FALCON_27_EDGES, NoiseModel, Target
from qadl.ir.unroll.model import Lowerer
from qadl.program import Model, Program

__all__ = [
    "MAX_OPS",
    "MAX_SIM_QUBITS",
    "BlockRef",
    "GateRef",
    "QReg",
    "SymVec",
    "lower_model",
    "lower_program",
]


# ---- targets and noise --------------------------------------------------------------------------


def _fidelity_to_p(fidelity: float, num_qubits: int) -> float:
    """Depolarizing probability with average gate fidelity ``fidelity`` (F = 1 − p(d−1)/d)."""
    d = 2**num_qubits
    return (1.0 - fidelity) * d / (d - 1)


def _kw(value: Any, key: str, default: float) -> float:
    return float(value.get(key, default)) if isinstance(value, CallValue) else default


def noise_model(options: dict[str, Any]) -> NoiseModel:
    """A ``NoiseModel`` from resolved target/noise options (times in µs)."""
    dep = options.get("depolarizing")
    fid = options.get("fidelity")
    p1, p2 = _kw(dep, "1q", 0.0), _kw(dep, "2q", 0.0)
    if isinstance(fid, CallValue):
        p1 = p1 or _fidelity_to_p(_kw(fid, "1q", 1.0), 1)
        p2 = p2 or _fidelity_to_p(_kw(fid, "2q", 1.0), 2)
    ro = options.get("readout_error")
    gt = options.get("gate_time")
    return NoiseModel(
        depolarizing_1q=p1,
        depolarizing_2q=p2,
        readout_error=(_kw(ro, "p01", 0.0), _kw(ro, "p10", 0.0)),
        t1=options.get("t1"),
        t2=options.get("t2"),
        time_1q=_kw(gt, "1q", 0.0),
        time_2q=_kw(gt, "2q", 0.0),
        shots=options.get("shots"),
    )


def coupling_pairs(coupling: Any, n: int) -> tuple[tuple[int, int], ...] | None:
    """Coupled pairs ``(a, b)`` with ``a < b`` for a keyword or list; None if impossible."""
    if isinstance(coupling, tuple):
        return tuple(sorted({(min(a, b), max(a, b)) for a, b in coupling}))
    match coupling:
        case "chain":
            return tuple((i, i + 1) for i in range(n - 1))
        case "ring":
            return tuple(
                sorted({(i, i + 1) for i in range(n - 1)} | ({(0, n - 1)} if n > 2 else set()))
            )
        case "full":
            return tuple((a, b) for a in range(n) for b in range(a + 1, n))
        case "heavy_hex":
            return FALCON_27_EDGES if n == 27 else None
        case "grid":
            side = math.isqrt(n)
            if side * side != n:
                return None
            pairs = [(r * side + c, r * side + c + 1) for r in range(side) for c in range(side - 1)]
            pairs += [
                (r * side + c, (r + 1) * side + c) for r in range(side - 1) for c in range(side)
            ]
            return tuple(sorted(pairs))
    return tuple((a, b) for a in range(n) for b in range(a + 1, n))


def build_target(
    spec: TargetSpec, noise: dict[str, NoiseSpec], bag: DiagnosticBag
) -> Target | None:
    """A ``Target`` from a checked ``target`` declaration."""
    opts = spec.options
    n = opts.get("qubits")
    if not isinstance(n, int):
        return None
    pairs = coupling_pairs(opts.get("coupling", "full"), n)
    if pairs is None:
        bag.error(
            "E0604",
            f"coupling `{opts.get('coupling')}` is not available for {n} qubits",
            spec.span,
            help="heavy_hex needs 27 qubits and grid a square number; "
            "or give the pairs explicitly: coupling [(0, 1), (1, 2)]",
        )
        return None
    basis = tuple(g for g in (gate_by_name(b) for b in opts.get("basis", ())) if g is not None)
    basis = basis or tuple(g for g in Gate if g is not Gate.AMPLITUDE)
    noise_opts = dict(opts)
    named = opts.get("noise")
    if isinstance(named, str) and named in noise:
        # `fidelity` and `depolarizing` say the same thing: the target's one overrides both
        inherited = dict(noise[named].options)
        if "fidelity" in opts or "depolarizing" in opts:
            inherited.pop("fidelity", None)
            inherited.pop("depolarizing", None)
        noise_opts = {**inherited, **{k: v for k, v in opts.items() if k != "noise"}}
    for code, problem, hint in noise_problems(noise_opts):
        bag.error(code, f"target `{spec.name}`: {problem}", spec.span, help=hint)
    return Target(spec.name, n, basis, pairs, noise_model(noise_opts))


def noise_problems(options: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(code, problem, hint)`` for noise options that would be ignored or are unphysical.

    Checked on a target's merged options (its own over those of its ``noise``).
    """
    out = []
    times = [k for k in ("t1", "t2") if options.get(k) is not None]
    if times and "gate_time" not in options:
        out.append(
            (
                "E0522",
                f"`{times[0]}` has no effect without `gate_time` (qubits relax only during gates)",
                "add `gate_time(1q = …, 2q = …)`",
            )
        )
    if "gate_time" in options and not times:
        out.append(
            (
                "E0522",
                "`gate_time` has no effect without `t1` or `t2`",
                "add `t1 …` and/or `t2 …`, or drop `gate_time`",
            )
        )
    if "fidelity" in options and "depolarizing" in options:
        out.append(
            (
                "E0522",
                "`fidelity` and `depolarizing` both set the depolarizing probabilities",
                "give one of them",
            )
        )
    t1, t2 = options.get("t1"), options.get("t2")
    if t1 is not None and t2 is not None and t2 > 2 * t1:
        out.append(
            (
                "E0523",
                f"T2 = {t2:g}us exceeds 2·T1 = {2 * t1:g}us, which no physical qubit allows",
                "T2 is at most 2·T1",
            )
        )
    return out


# ---- models against their data ---------------------------------------------------------------

_QUANTUM_SOURCES = {"builtin.aubry_andre": 10, "builtin.ising": 8, "builtin.cluster_ising": 8}
"""Quantum-data generators and their default number of qubits (``qadl.learn.quantum_data``)."""


def _data_fit_problem(model: Model, data: DataSpec) -> tuple[str, str] | None:
    """Why ``model`` cannot consume ``data`` as (code, message), or None.

    Data files are checked when they are read (E0704).
    """
    m, d = f"model `{model.name}`", f"`{data.name}`"
    if data.source == "builtin.digits":
        h, w = data.options.get("size", (16, 16))
        if model.input_kind != "features":
            return "E0514", f"{m} does not take features, but {d} holds images"
        pca = data.options.get("pca")  # principal components replace the pixels
        if pca is not None and model.num_features != pca:
            return "E0515", (
                f"{m} takes {model.num_features} features but {d} has {pca} "
                f"(`pca = {pca}`)"
            )
        if pca is None and model.num_features != h * w:
            return "E0515", (
                f"{m} takes {model.num_features} features but {d} images have "
                f"{h * w} pixels ({h}x{w})"
            )
    elif data.source in _QUANTUM_SOURCES:
        n = data.options.get("qubits", _QUANTUM_SOURCES[data.source])
        if model.input_kind != "state":
            return "E0514", (
                f"{m} does not take a quantum state, but {d} holds quantum data "
                "(declare the input as `psi: state`)"
            )
        if model.num_qubits != n:
            return "E0515", f"{m} has {model.num_qubits} qubits but {d} states have {n}"
    return None


def _check_data_fit(program: CheckedProgram, models: dict[str, Model], bag: DiagnosticBag) -> None:
    """Report trainings and evaluations whose data cannot feed their model."""
    robust = {d.result: d.model for d in program.defences}
    uses = [(t.model, t.data.dataset, t.span) for t in program.trainings]
    uses += [(m, e.data.dataset, e.span) for e in program.evaluations for m in e.models]
    for name, dataset, span in uses:
        model = models.get(robust.get(name, name))
        data = program.datasets.get(dataset)
        if model is None or data is None:
            continue
        problem = _data_fit_problem(model, data)
        if problem is not None:
            bag.error(
                problem[0],
                problem[1],
                span,
                label="model and data do not fit",
                help="the model's input must match the data's shape",
            )


# ---- entry points -------------------------------------------------------------------------------


@contextlib.contextmanager
def _deep_stack(limit: int = 20_000) -> Iterator[None]:
    """Room for the evaluator's recursion: blocks (<= 64 calls) times expressions (<= 120 deep).

    Both depths are capped with diagnostics, so the product stays far below ``limit``.
    """
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def lower_model(program: CheckedProgram, name: str) -> Model:
    """Lower one model of a checked program.

    Raises:
        QadlError: value-level problems (qubit ranges, shapes, non-polynomial angles).
    """
    bag = DiagnosticBag()
    d = program.models[name]
    with _deep_stack():
        model = Lowerer(program, bag).model(d.node, d.module)
    bag.raise_if_errors()
    assert model is not None
    return model


def lower_program(program: CheckedProgram) -> Program:
    """Lower every model and assemble the run-time ``Program``.

    Raises:
        QadlError: every problem found in any model (up to ``MAX_ERRORS``).
    """
    bag = DiagnosticBag()
    lowerer = Lowerer(program, bag)
    models: dict[str, Model] = {}
    for name, d in program.models.items():
        if d.module != program.root:
            continue  # models of imported files are compiled only if the root names them
        with _deep_stack():
            model = lowerer.model(d.node, d.module)
        if model is not None:
            models[name] = model
    kernels = lower_kernels(program, lowerer, bag)
    targets = {}
    for name, spec in program.targets.items():
        target = build_target(spec, program.noise_models, bag)
        if target is not None:
            targets[name] = target
    _check_data_fit(program, models, bag)
    for device in program.devices:
        model, target = models.get(device.model), targets.get(device.target)
        if model is not None and target is not None and model.num_qubits > target.num_qubits:
            bag.error(
                "E0605",
                f"model `{model.name}` needs {model.num_qubits} qubits but target "
                f"`{target.name}` has {target.num_qubits}",
                device.span,
                label="does not fit",
            )
    bag.raise_if_errors()
    return Program(
        program.root,
        models,
        program.datasets,
        program.trainings,
        program.attacks,
        program.defences,
        program.evaluations,
        targets,
        {n: noise_model(s.options) for n, s in program.noise_models.items()},
        {d.model: d.target for d in program.devices},
        dict(program.targets),
        dict(program.noise_models),
        program.sources,
        kernels,
        program.kernel_trainings,
        program.sweep,
    )
