"""Optimising passes, routing and basis translation: REGISTRY name -> pass, LEVELS O0…O3 as data.

Importing this package registers every pass (each module's ``@circuit_pass``); nothing
else happens at import time.
"""

from __future__ import annotations

from qadl.passes.analysis import CircuitStats, circuit_stats
from qadl.passes.base import (
    REGISTRY,
    PassContext,
    PassTrace,
    Pipeline,
    TraceEntry,
    circuit_pass,
    fixed_point,
)
from qadl.passes.cancel_inverses import cancel_inverses
from qadl.passes.commute_cancel import commute_cancel
from qadl.passes.describe import passes_markdown
from qadl.passes.drop_diagonal_before_measure import drop_diagonal_before_measure
from qadl.passes.drop_identities import drop_identities
from qadl.passes.drop_initial_diagonal import drop_initial_diagonal
from qadl.passes.fold import fold_global, fold_local
from qadl.passes.levels import LEVELS, POST_ROUTING, PRE_ROUTING
from qadl.passes.lightcone import lightcone
from qadl.passes.merge_rotations import merge_rotations
from qadl.passes.pipeline import (
    CompiledCircuit,
    compile_for_target,
    level_pipeline,
    optimize,
    parse_pass_spec,
)
from qadl.passes.resynth_1q import resynth_1q
from qadl.passes.resynth_2q import resynth_2q
from qadl.passes.route_sabre import RoutedCircuit, route, route_sabre
from qadl.passes.translate_basis import translate_basis

__all__ = [
    "LEVELS",
    "POST_ROUTING",
    "PRE_ROUTING",
    "REGISTRY",
    "CircuitStats",
    "CompiledCircuit",
    "PassContext",
    "PassTrace",
    "Pipeline",
    "RoutedCircuit",
    "TraceEntry",
    "cancel_inverses",
    "circuit_pass",
    "circuit_stats",
    "commute_cancel",
    "compile_for_target",
    "drop_diagonal_before_measure",
    "drop_identities",
    "drop_initial_diagonal",
    "fixed_point",
    "fold_global",
    "fold_local",
    "level_pipeline",
    "lightcone",
    "merge_rotations",
    "optimize",
    "parse_pass_spec",
    "passes_markdown",
    "resynth_1q",
    "resynth_2q",
    "route",
    "route_sabre",
    "translate_basis",
]
