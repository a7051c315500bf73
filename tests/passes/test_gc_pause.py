"""Compiles pause the cyclic garbage collector and always give it back as they found it."""

from __future__ import annotations

import gc

import pytest

from qadl.ir.circuit import Circuit
from qadl.ir.gates import Gate
from qadl.passes import compile_for_target, optimize
from qadl.passes.base import PassContext, cyclic_gc_paused, fixed_point

from .helpers import line_target, op


def _circuit() -> Circuit:
    ops = [op(Gate.H, 0), op(Gate.CX, 0, 2), op(Gate.RZ, 2, angles=(0.3,)), op(Gate.CX, 0, 2)]
    return Circuit(3, tuple(ops), 0, 0)


@pytest.fixture
def collector():
    """The collector's state is restored after each test, whatever the test left."""
    enabled = gc.isenabled()
    yield
    (gc.enable if enabled else gc.disable)()


@pytest.mark.usefixtures("collector")
@pytest.mark.parametrize("enabled", [True, False])
def test_compile_and_optimize_leave_the_collector_as_they_found_it(enabled):
    (gc.enable if enabled else gc.disable)()
    compile_for_target(_circuit(), line_target(3), 3)
    assert gc.isenabled() is enabled
    optimize(_circuit(), 3)
    assert gc.isenabled() is enabled


@pytest.mark.usefixtures("collector")
def test_passes_run_with_the_collector_paused():
    seen = []

    def probe(circuit, *, ctx):
        seen.append(gc.isenabled())
        return circuit

    gc.enable()
    fixed_point((probe,))(_circuit(), ctx=PassContext())
    assert seen == [False]
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_an_error_inside_restores_the_collector():
    def fail(circuit, *, ctx):
        raise RuntimeError("boom")

    gc.enable()
    with pytest.raises(RuntimeError, match="boom"):
        fixed_point((fail,))(_circuit(), ctx=PassContext())
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_nested_pauses_restore_once_at_the_outermost():
    gc.enable()
    with cyclic_gc_paused():
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause found it paused: it leaves it so
    assert gc.isenabled()


def _cyclic_garbage(circuit: Circuit, compiles: int = 3) -> int:
    """Objects only the cyclic collector frees, left by ``compiles`` compiles of
    ``circuit`` with one angle changed each time (caches warm)."""
    target = line_target(3)
    compile_for_target(circuit, target, 3)
    gc.collect()
    for k in range(compiles):
        changed = circuit.with_ops((*circuit.ops, op(Gate.RX, 1, angles=(0.1 * k + 0.05,))))
        compile_for_target(changed, target, 3)
    return gc.collect()


def test_compiles_leave_no_cyclic_garbage_that_grows_with_the_circuit():
    """What a paused collector leaves for later is a fixed handful of objects per compile
    (e.g. a library's graph with its cached views), not the compile's ops: three compiles
    of an 81-op circuit leave fewer such objects than the circuits have ops."""
    small = _circuit()
    large = small.with_ops(small.ops * 20)
    compiles = 3
    assert _cyclic_garbage(large, compiles) < compiles * (len(large.ops) + 1)
    assert _cyclic_garbage(small, compiles) < compiles * (len(large.ops) + 1)
