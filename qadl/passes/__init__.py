"""Optimising passes, routing and basis translation: REGISTRY name -> pass, LEVELS O0…O3 as data.

Importing this package registers every pass (each module's ``@circuit_pass``); nothing
else happens at import time.
"""

from __future__ import annotations

from qadl.passes import (
    cancel_inverses,
    commute_cancel,
    drop_diagonal_before_measure,
    drop_identities,
    lightcone,
    merge_rotations,
    resynth_1q,
    route_sabre,
    translate_basis,
)
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
from qadl.passes.levels import LEVELS, POST_ROUTING
from qadl.passes.pipeline import (
    CompiledCircuit,
    compile_for_target,
    level_pipeline,
    optimize,
    parse_pass_spec,
)
from qadl.passes.route_sabre import RoutedCircuit, route

__all__ = [
    "LEVELS",
    "POST_ROUTING",
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
    "fixed_point",
    "level_pipeline",
    "lightcone",
    "merge_rotations",
    "optimize",
    "parse_pass_spec",
    "resynth_1q",
    "route",
    "route_sabre",
    "translate_basis",
]
