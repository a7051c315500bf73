"""Run independent tasks serially or on Dask, each result stored once under its key.

A ``Task`` is a pure function call with a stable key. ``execute`` runs a list of them and
returns ``{key: result}``:

* serially, in order, when neither ``workers`` nor ``scheduler`` is given (the default;
  Dask is not imported);
* on a ``dask.distributed.LocalCluster`` of ``workers`` processes, or on the cluster whose
  scheduler listens at ``scheduler`` (``qadl.run.cluster``).

Either way the driving process writes each finished result into the ``ResultStore``
exactly once, and ``resume=True`` skips the keys the store already holds. Large inputs
shared by many tasks (data sets, trained parameters, the program) are passed as
``Shared(name)`` placeholders resolved from ``execute(..., shared={name: value})``: on a
cluster each is scattered to every worker once instead of being shipped with every task.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from qadl.run.store import ResultStore

__all__ = ["ResultStore", "Shared", "Task", "TaskProgress", "execute", "pool", "resolve"]


@dataclass(frozen=True)
class Shared:
    """A placeholder argument: the value ``execute`` received as ``shared[name]``."""

    name: str


@dataclass(frozen=True)
class Task:
    """One call ``fn(*args, **kwargs)`` returning a JSON-able dict, stored under ``key``.

    ``fn`` must be a module-level function (workers import it by name) and pure: its result
    may depend only on its arguments, so where or how often it runs does not matter.
    ``Shared`` placeholders may stand for any top-level argument.
    """

    key: str
    fn: Callable[..., dict]
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def resolve(task: Task, shared: Mapping[str, Any]) -> tuple[tuple, dict[str, Any]]:
    """``task``'s arguments with each ``Shared`` placeholder replaced by its shared value."""

    def one(value: Any) -> Any:
        return shared[value.name] if isinstance(value, Shared) else value

    return tuple(one(a) for a in task.args), {k: one(v) for k, v in task.kwargs.items()}


def check_tasks(tasks: Sequence[Task], shared: Mapping[str, Any]) -> None:
    """Keys are unique and every placeholder names a shared value (a programming error else)."""
    seen: set[str] = set()
    for task in tasks:
        if task.key in seen:
            raise ValueError(f"two tasks share the key {task.key!r}")
        seen.add(task.key)
        for value in (*task.args, *task.kwargs.values()):
            if isinstance(value, Shared) and value.name not in shared:
                raise ValueError(f"task {task.key!r} uses shared {value.name!r}, never given")


def execute(
    tasks: Sequence[Task],
    store: ResultStore,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    shared: Mapping[str, Any] | None = None,
    retries: int = 2,
) -> dict[str, Any]:
    """Run ``tasks``; returns ``{key: result}`` in the order of ``tasks``.

    Each result is the value as stored (a JSON round trip: tuples read back as lists),
    so a resumed, a serial and a distributed run return equal values. ``retries`` is how
    often Dask re-runs a task that raised (a worker that dies mid-task is handled by the
    scheduler, which reschedules its tasks). A task that still fails stops the run with
    its exception; the results finished before it stay in the store.
    """
    shared = dict(shared or {})
    check_tasks(tasks, shared)
    done = {t.key: store.get(t.key) for t in tasks if resume and store.has(t.key)}
    todo = [t for t in tasks if t.key not in done]
    with TaskProgress(len(tasks), len(done), enabled=progress) as bar:
        if workers is None and scheduler is None:
            for task in todo:
                args, kwargs = resolve(task, shared)
                done[task.key] = store.put(task.key, task.fn(*args, **kwargs))
                bar.advance(task.key)
        else:
            from qadl.run.cluster import run_on_dask

            def finished(key: str, value: Any) -> None:
                done[key] = store.put(key, value)
                bar.advance(key)

            run_on_dask(
                todo, shared, finished, workers=workers, scheduler=scheduler, retries=retries,
                announce=bar.say,
            )
    return {t.key: done[t.key] for t in tasks}


@contextmanager
def pool(workers: int | None = None, scheduler: str | None = None) -> Iterator[None]:
    """One Dask cluster for every ``execute`` inside the block with the same options.

    Without ``workers`` and ``scheduler`` it does nothing (and imports no Dask). A run
    wraps its whole body in it, so its evaluations share one cluster instead of starting
    one each; the options are checked at once, the cluster starts at the first task
    (``qadl.run.cluster.deferred``) and its dashboard address is printed then.
    """
    if workers is None and scheduler is None:
        yield
        return
    from qadl.run.cluster import deferred

    with deferred(workers, scheduler, announce=lambda line: print(line, flush=True)):
        yield


class TaskProgress:
    """Tasks done/total: a rich bar on a terminal, else one flushed line per finished task."""

    def __init__(self, total: int, done: int = 0, *, enabled: bool = True) -> None:
        self.total, self.done = total, done
        self.enabled = enabled
        self._bar: Any = None
        self._task: Any = None
        self._started = time.perf_counter()

    def __enter__(self) -> TaskProgress:
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]tasks[/]"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("{task.fields[last]}"),
                console=Console(stderr=True),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("tasks", total=self.total, completed=self.done,
                                            last="")
        elif self.enabled and self.done:
            self.say(f"tasks: {self.done}/{self.total} already done (resumed)")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def advance(self, key: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, last=key)
        elif self.enabled:
            seconds = time.perf_counter() - self._started
            self.say(f"  task {self.done}/{self.total} done: {key} ({seconds:.1f} s)")

    def say(self, line: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        else:
            print(line, flush=True)
