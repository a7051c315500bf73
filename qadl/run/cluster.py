"""The Dask side of ``qadl.run.executor``: a cluster, its workers' set-up, and task submission.

Imported only when ``--workers`` or ``--scheduler`` is given, so the serial path never
imports Dask. ``--workers N`` starts a ``LocalCluster`` of N single-threaded worker
processes, each with a Numba thread pool of ``cores // N`` threads (so N workers together
use the machine's cores once, not N times); ``--scheduler tcp://host:port`` joins a
running cluster. Every worker imports the simulator kernels once when it starts (a
``WorkerPlugin``), so the first task does not pay for loading Numba's cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from qadl.errors import QadlError
from qadl.source import Span

__all__ = [
    "INSTALL_HINT",
    "check_cluster_options",
    "cluster",
    "deferred",
    "numba_threads_per_worker",
    "require_dask",
    "run_on_dask",
]

INSTALL_HINT = "install the Dask extra: pip install 'qadl[dask]'"
_ADDRESS = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})")
_CLI = Span("<command line>", 0, 0)
CONNECT_TIMEOUT = "10s"
"""How long ``--scheduler`` waits for the scheduler to answer."""


def check_cluster_options(
    workers: int | None, scheduler: str | None, where: Span = _CLI
) -> None:
    """``--workers`` and ``--scheduler``: N >= 1, a ``tcp://host:port`` address, not both.

    Raises:
        QadlError: E0921 (bad N or address), E0923 (both given), E0920 (Dask missing).
    """
    if workers is not None and scheduler is not None:
        raise QadlError.at(
            "E0923", "--workers and --scheduler both given: a run uses one cluster", where,
            help="--workers N starts a local cluster; --scheduler ADDRESS joins a running one",
        )
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise QadlError.at(
            "E0921", f"--workers must be a whole number 1 or more, got {workers!r}", where,
            help="--workers 2 runs tasks in two worker processes",
        )
    if scheduler is not None:
        match = _ADDRESS.fullmatch(scheduler)
        if match is None or not 0 < int(match.group(3)) < 65536:
            raise QadlError.at(
                "E0921", f"--scheduler `{scheduler}` is not a scheduler address", where,
                help="write tcp://HOST:PORT, as `dask scheduler` prints it "
                "(e.g. tcp://10.0.0.5:8786)",
            )
    if workers is not None or scheduler is not None:
        require_dask(where)


def require_dask(where: Span = _CLI) -> None:
    """E0920 unless ``dask.distributed`` can be imported."""
    try:
        import dask.distributed  # noqa: F401
    except ImportError as err:
        raise QadlError.at(
            "E0920",
            f"--workers/--scheduler need dask.distributed, which is not installed ({err})",
            where,
            help=INSTALL_HINT + ", or run without --workers (serially)",
        ) from None


def numba_threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Numba threads for each of ``workers`` processes on ``cores`` CPUs (at least 1)."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1
        )
    return max(1, cores // workers)


def _worker_setup_class() -> type:
    """The ``WorkerPlugin`` (built lazily: its base class is Dask's)."""
    from distributed.diagnostics.plugin import WorkerPlugin

    class WarmKernels(WorkerPlugin):
        """Imports the simulator kernels when a worker starts (loads Numba's cache once)."""

        name = "qadl-warm-kernels"

        def setup(self, worker: Any) -> None:
            from qadl.run.warm import warm_kernels

            warm_kernels()

    return WarmKernels


@contextmanager
def _client(
    workers: int | None, scheduler: str | None, where: Span
) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as err:
            raise QadlError.at(
                "E0922", f"cannot reach the Dask scheduler at `{scheduler}`: {err}", where,
                help="start it with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                "or use --workers N for a local cluster",
            ) from None
        with client:
            yield client
        return
    assert workers is not None
    threads = numba_threads_per_worker(workers)
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True,
        dashboard_address=":0",  # any free port: several runs may share a machine
        env={"NUMBA_NUM_THREADS": str(threads)},  # read by Numba when a worker imports it
        silence_logs=50,  # CRITICAL: shutdown races log tracebacks; task errors reach us anyway
    )
    with cluster, Client(cluster) as client:
        yield client


@dataclass
class _Slot:
    """A cluster promised to a block (``deferred``), opened at its first task."""

    options: tuple[int | None, str | None]
    announce: Callable[[str], None]
    client: Any = None
    stack: ExitStack = field(default_factory=ExitStack)


_SLOTS: list[_Slot] = []  # innermost last; only the driving process's main thread uses it


@contextmanager
def deferred(
    workers: int | None, scheduler: str | None, *, announce: Callable[[str], None] = print,
    where: Span = _CLI,
) -> Iterator[None]:
    """Within the block, every ``cluster`` with these options is one cluster.

    The options are checked now (so a missing Dask or a bad address fails before any
    work); the cluster starts at the first task, so a run that trains for an hour before
    it evaluates does not keep idle workers meanwhile. A nested block with the same
    options (a sweep and the runs of its points) shares the outer one's cluster.
    """
    if any(slot.options == (workers, scheduler) for slot in _SLOTS):
        yield
        return
    check_cluster_options(workers, scheduler, where)
    slot = _Slot((workers, scheduler), announce)
    _SLOTS.append(slot)
    try:
        yield
    finally:
        _SLOTS.remove(slot)
        slot.stack.close()


@contextmanager
def cluster(
    workers: int | None,
    scheduler: str | None,
    *,
    announce: Callable[[str], None] = print,
    where: Span = _CLI,
) -> Iterator[Any]:
    """A Dask client: that of an enclosing ``deferred`` or ``cluster`` block with the same
    options, else a new cluster, open for the block (and shared by blocks inside it)."""
    for slot in reversed(_SLOTS):
        if slot.options == (workers, scheduler):
            if slot.client is None:
                slot.client = slot.stack.enter_context(
                    _opened(workers, scheduler, slot.announce, where)
                )
            yield slot.client
            return
    with _opened(workers, scheduler, announce, where) as client:
        slot = _Slot((workers, scheduler), announce, client)
        _SLOTS.append(slot)
        try:
            yield client
        finally:
            _SLOTS.remove(slot)


@contextmanager
def _opened(
    workers: int | None, scheduler: str | None, announce: Callable[[str], None], where: Span
) -> Iterator[Any]:
    check_cluster_options(workers, scheduler, where)
    with _client(workers, scheduler, where) as client:
        client.register_plugin(_worker_setup_class()())
        count = len(client.scheduler_info().get("workers", {}))
        announce(f"dask: {count} workers, {_dashboard(client)}")
        yield client


def _dashboard(client: Any) -> str:
    """Where the dashboard is; Dask serves it only when bokeh is installed."""
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return "no dashboard (pip install bokeh to get one)"
    return f"dashboard {client.dashboard_link}"


def run_on_dask(
    tasks: Sequence[Any],
    shared: Mapping[str, Any],
    finished: Callable[[str, Any], None],
    *,
    workers: int | None,
    scheduler: str | None,
    retries: int,
    announce: Callable[[str], None],
    where: Span = _CLI,
) -> None:
    """Submit ``tasks`` to a cluster; call ``finished(key, value)`` in this process, once each.

    Shared values are scattered to every worker once (``broadcast=True``) and passed as
    futures. Tasks are submitted with ``pure=False`` under unique keys, so two tasks with
    equal arguments still both run, and with ``retries``; a worker that dies mid-task has
    its task rescheduled by the scheduler. ``as_completed`` yields each future once, so a
    retried task is reported (and stored) once.
    """
    from distributed import as_completed

    from qadl.run.executor import resolve

    if not tasks:
        return
    with cluster(workers, scheduler, announce=announce, where=where) as client:
        futures_of = {name: client.scatter(value, broadcast=True, hash=False)
                      for name, value in shared.items()}
        keys: dict[Any, str] = {}
        futures = []
        for number, task in enumerate(tasks):
            args, kwargs = resolve(task, futures_of)
            future = client.submit(
                _guarded, task.fn, *args, **kwargs,
                key=f"qadl-task-{number}-{os.urandom(6).hex()}", pure=False, retries=retries,
            )
            keys[future.key] = task.key
            futures.append(future)
        try:
            for future in as_completed(futures):
                finished(keys[future.key], _result(future, keys[future.key], where))
        finally:
            client.cancel(futures + list(futures_of.values()))


def _guarded(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """Runs on a worker: a diagnostic is returned, not raised, so Dask does not retry it
    (the program is wrong; running it again gives the same error)."""
    try:
        return "ok", fn(*args, **kwargs)
    except QadlError as err:
        return "error", err


def _result(future: Any, key: str, where: Span) -> Any:
    """The future's value; a task's own QadlError is raised here, a lost worker is E0924."""
    from distributed import KilledWorker

    try:
        status, value = future.result()
    except KilledWorker as err:
        raise QadlError.at(
            "E0924", f"task `{key}` killed its worker too often and was given up: {err}", where,
            help="it may run out of memory on a worker: use fewer --workers (more memory each) "
            "or fewer samples",
        ) from None
    if status == "error":
        raise value
    return value
