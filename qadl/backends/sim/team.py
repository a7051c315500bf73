"""A team of threads that runs one kernel together, meeting at spinning barriers.

One large state split over the threads (``soa_single``) is a sequence of short phases,
each a memory pass over the state that must finish before the next starts: about 44
per sample at 14 qubits. As OpenMP parallel regions, each phase ends with the threads
going idle and starts by waking them; under ``OMP_WAIT_POLICY=PASSIVE`` every wake-up
is a futex call costing tens of microseconds, and a 14-qubit sample took 2.1-2.6× its
``ACTIVE`` time (docs/benchmarks.md). Here the threads start once per call (``run``:
the calling thread is member 0, the others come from ``threads``' pool) and run the
whole kernel, meeting between phases at ``barrier``: an atomic counter that waiting
members spin on, yielding the core to other runnable threads (``sched_yield``) after a
short spin, so a member descheduled by a busy machine is not starved by its partner.
The result does not depend on the OpenMP runtime, its wait policy or spin count.

A team kernel takes ``(member, size, sync, *args)``: its rank, the team size and the
team's counters (``sync``: the barrier's, then any task counters, all zero at the start
of the call), and must give each member disjoint work between barriers: a fixed share,
or tasks it ``claim``s one at a time from a counter (each task goes to exactly one
member, the first free).
"""

from __future__ import annotations

from qadl.backends.sim.cache import configure_numba_cache

configure_numba_cache()

import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402

import llvmlite.binding as llvm  # noqa: E402
import llvmlite.ir as ir  # noqa: E402
import numpy as np  # noqa: E402
from numba import config, get_num_threads, types  # noqa: E402
from numba.core import cgutils  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

from qadl.backends.sim.jit import leaf  # noqa: E402
from qadl.backends.sim.threads import worker_pool  # noqa: E402

__all__ = ["SPINS", "barrier", "claim", "run", "team_size"]

SPINS = 2000
"""Polls of the counter before a waiting member starts yielding its core (a few µs)."""

_I64 = ir.IntType(64)
_X86 = llvm.get_process_triple().startswith(("x86_64", "i686", "i386"))
_POSIX = sys.platform != "win32"


def _sync_array(a) -> bool:
    return isinstance(a, types.Array) and a.ndim == 1 and a.dtype == types.int64


def _counter(context, builder, array_type, value, index=None):
    data = context.make_array(array_type)(context, builder, value).data
    return data if index is None else builder.gep(data, [index])


@intrinsic
def _fetch_add(typingctx, sync, index):
    """``sync[index] += 1`` atomically (sequentially consistent); the value before."""
    if not (_sync_array(sync) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        at = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = _counter(context, builder, signature.args[0], args[0], at)
        return builder.atomic_rmw("add", ptr, ir.Constant(_I64, 1), "seq_cst")

    return types.int64(sync, index), codegen


@intrinsic
def _arrived(typingctx, sync):
    """``sync[0]``, loaded atomically (acquire)."""
    if not _sync_array(sync):
        return None

    def codegen(context, builder, signature, args):
        ptr = _counter(context, builder, signature.args[0], args[0])
        return builder.load_atomic(ptr, "acquire", 8)

    return types.int64(sync), codegen


@intrinsic
def _relax(typingctx, yield_core):
    """A spin-wait hint (x86 ``pause``); then, if ``yield_core``, ``sched_yield()``."""
    if not isinstance(yield_core, types.Boolean):
        return None

    def codegen(context, builder, signature, args):
        module = builder.module
        if _X86:
            pause = cgutils.get_or_insert_function(
                module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(pause, [])
        if _POSIX:
            sched_yield = cgutils.get_or_insert_function(
                module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
            with builder.if_then(args[0], likely=False):
                builder.call(sched_yield, [])
        return context.get_dummy_value()

    return types.void(yield_core), codegen


@leaf()
def barrier(sync, size, phase):
    """Wait until all ``size`` members have reached barrier number ``phase`` (1, 2, …)
    of this call; memory written before it is visible to every member after it."""
    _fetch_add(sync, 0)
    target = phase * size
    polls = 0
    while _arrived(sync) < target:
        polls += 1
        _relax(polls > SPINS)


@leaf()
def claim(sync, counter):
    """The next unclaimed task of counter ``counter`` (1 … ``counters``, see ``run``): 0, 1,
    2, … in the order members ask. Members that claim work as they get to it share it
    out by speed: a member slowed by other processes on its core does less of it."""
    return _fetch_add(sync, counter)


def run(kernel: Callable[..., None], size: int, *args, counters: int = 0) -> None:
    """``kernel(member, size, sync, *args)`` on ``size`` threads at once, this thread
    member 0, with ``counters`` task counters for ``claim`` (``sync[1:]``, from 0).
    ``kernel`` must release the GIL (``nogil=True``)."""
    size = min(size, config.NUMBA_NUM_THREADS)  # never more members than the pool can start
    sync = np.zeros(1 + counters, dtype=np.int64)
    if size == 1:
        kernel(0, 1, sync, *args)
        return
    pool = worker_pool()
    futures = [pool.submit(kernel, member, size, sync, *args) for member in range(1, size)]
    try:
        kernel(0, size, sync, *args)
    finally:
        for future in futures:
            future.result()


def team_size(tasks: int) -> int:
    """Members for ``tasks`` pieces of work: Numba's thread count, at most ``tasks``."""
    return max(1, min(get_num_threads(), tasks))
