"""The checker: imports, scopes, names and options of a program; returns a CheckedProgram.

Module scopes and constants come from ``qadl.check.module_scopes``, the experiment
statements are checked by ``qadl.check.statements``; this module ties them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qadl.check.imports import ModuleGraph, load_modules
from qadl.check.kernel_defence import (
    KernelDefenceSpec,
    resolve_kernel_defences,
)
from qadl.check.kernels import (
    KernelSpec,
    KernelTrainSpec,
    check_kernel_decl,
)
from qadl.check.module_scopes import build_scopes, resolve_consts
from qadl.check.names import check_body_names
from qadl.check.privacy import check_privacy_uses
from qadl.check.scope import Definition, ModuleScope
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
from qadl.check.statements import TopLevel
from qadl.check.sweep import SweepSpec, bind_constants, check_sweep
from qadl.diagnostics import DiagnosticBag
from qadl.frontend import ast as A
from qadl.source import SourceFile, SourceMap

__all__ = ["CheckedProgram", "check_file", "check_source"]


@dataclass(frozen=True)
class CheckedProgram:
    """A program whose names, imports and options are known to be right.

    Models are still ASTs here (``models``); ``qadl.ir.lower`` turns them into circuits.
    Everything else is resolved to plain values.
    """

    root: str
    graph: ModuleGraph
    sources: SourceMap
    scopes: dict[str, ModuleScope]
    models: dict[str, Definition]
    datasets: dict[str, DataSpec]
    trainings: tuple[TrainSpec, ...]
    attacks: dict[str, AttackSpec]
    defences: tuple[DefenceSpec, ...]
    evaluations: tuple[EvaluationSpec, ...]
    targets: dict[str, TargetSpec]
    noise_models: dict[str, NoiseSpec]
    devices: tuple[DeviceSpec, ...]
    kernels: dict[str, KernelSpec] = field(default_factory=dict)
    kernel_trainings: tuple[KernelTrainSpec, ...] = ()
    sweep: SweepSpec | None = None
    """The root file's ``sweep`` (None without one, and for one point of a sweep)."""


def _collect(
    graph: ModuleGraph,
    scopes: dict[str, ModuleScope],
    bag: DiagnosticBag,
    sources: SourceMap,
    root_dir: Path,
) -> CheckedProgram:
    root = scopes[graph.root]
    top = TopLevel(root, bag, root_dir)
    datasets: dict[str, DataSpec] = {}
    trainings, defences, evaluations, devices = [], [], [], []
    attacks: dict[str, AttackSpec] = {}
    targets: dict[str, TargetSpec] = {}
    noise_models: dict[str, NoiseSpec] = {}
    kernel_specs: dict[tuple[str, str], KernelSpec] = {}
    for key, loaded in graph.modules.items():
        scope = scopes[key]
        local = TopLevel(scope, bag, root_dir)
        for decl in loaded.module.decls:
            if isinstance(decl, A.GateDecl | A.ModelDecl | A.KernelDecl):
                check_body_names(decl, scope, bag)
            if isinstance(decl, A.KernelDecl):
                kernel_specs.setdefault((key, decl.name), check_kernel_decl(decl, scope, bag))
            elif isinstance(decl, A.TargetDecl):
                targets.setdefault(decl.name, local.target(decl))
            elif isinstance(decl, A.NoiseDecl):
                noise_models.setdefault(decl.name, local.noise(decl))
    for decl in graph.modules[graph.root].module.decls:
        match decl:
            case A.DataDecl():
                spec = top.data(decl)
                if spec is not None:
                    datasets[spec.name] = spec
            case A.TrainDecl():
                trainings.append(top.train(decl))
            case A.AttackDecl():
                spec = top.attack(decl)
                if spec is not None:
                    attacks[spec.name] = spec
            case A.DefendDecl():
                defences.append(top.defend(decl))
            case A.EvaluateDecl():
                evaluations.append(top.evaluate(decl))
            case A.DeviceDecl():
                devices.append(top.device(decl))
            case _:
                pass
    check_privacy_uses(graph.modules[graph.root].module.decls, attacks, defences, bag)
    models = {n: d for n, d in root.visible.items() if d.kind == "model"}
    kernels = {
        n: kernel_specs[(d.module, n)] for n, d in root.visible.items() if d.kind == "kernel"
    }
    return CheckedProgram(
        graph.root,
        graph,
        sources,
        scopes,
        models,
        datasets,
        tuple(t for t in trainings if isinstance(t, TrainSpec)),
        attacks,
        tuple(d for d in defences if isinstance(d, DefenceSpec)),
        tuple(e for e in evaluations if e),
        targets,
        noise_models,
        tuple(d for d in devices if d),
        kernels,
        tuple(t for t in trainings if isinstance(t, KernelTrainSpec))
        + tuple(
            resolve_kernel_defences(  # refitted after every kernel's own training
                [d for d in defences if isinstance(d, KernelDefenceSpec)],
                [t for t in trainings if isinstance(t, KernelTrainSpec)],
                bag,
            )
        ),
    )


def check_source(
    source: SourceFile,
    sources: SourceMap | None = None,
    *,
    real_path: Path | None = None,
    bindings: dict[str, Any] | None = None,
) -> CheckedProgram:
    """Check one root file (already read) and everything it imports.

    ``bindings`` gives root-file constants other values: the program is then one point of
    the file's sweep, checked as a plain program (its ``sweep`` is None).

    Raises:
        QadlError: every problem found (up to ``MAX_ERRORS``), each with its location.
        KeyError: a binding names no constant of the root file.
    """
    sources = sources if sources is not None else SourceMap()
    graph = load_modules(source, sources, real_path=real_path)
    if bindings is not None:  # the file as if its constants were written with these values
        graph = bind_constants(graph, bindings)
    bag = DiagnosticBag()
    scopes = build_scopes(graph, bag)
    resolve_consts(scopes, graph, bag)
    root_dir = (real_path or Path(source.path)).resolve().parent
    program = _collect(graph, scopes, bag, sources, root_dir)
    # a point of a sweep is a plain program (its sweep was checked with the file)
    sweep = check_sweep(graph, scopes, bag) if bindings is None else None
    bag.raise_if_errors()
    return replace(program, sweep=sweep)


def check_file(path: str | Path, sources: SourceMap | None = None) -> CheckedProgram:
    """Read and check a file (see ``check_source``)."""
    return check_source(SourceFile.read(path), sources)
