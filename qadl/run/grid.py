"""An ``evaluate`` statement's attacks as independent tasks: one per white-box attack and ε,
one per transfer attack.

``evaluate`` here gives the same ``Evaluation`` as ``qadl.adversary.evaluate.evaluate``,
number for number: each cell runs exactly the call the serial sweep makes for that ε
(``craft``/``quantum_attack`` seed their random starts from the attack's own ``seed``,
so a cell does not depend on which cells ran before it), and the parts that read
several cells in order (shot-sampled re-scoring, whose random stream is numbered by the
result's position, fidelities, the per-attack log line) run afterwards in this process,
in the statement's order. So where the cells ran (serially, on a local cluster, on a
remote one) and in what order does not change a number.

A cell's key names the model, attack and ε and ends in a digest of everything the cell
reads (classifier, parameters, data, attack), so ``--resume`` reuses a stored cell only
when it would compute the same result.
"""

from __future__ import annotations

import base64
import hashlib
import pickle
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from qadl.adversary.attacks import ClassifierOracle, craft
from qadl.adversary.config import QuantumAttackConfig
from qadl.adversary.evaluate import (
    EXACT,
    Evaluation,
    RobustPoint,
    Scoring,
    clean_metrics,
    rescored,
    with_fidelity,
)
from qadl.adversary.quantum import quantum_attack
from qadl.adversary.result import AttackResult
from qadl.adversary.transfer import quantum_transfer_attack, transfer_attack
from qadl.run.executor import ResultStore, Shared, Task, execute, resolve

__all__ = [
    "CellRunner",
    "attack_cell",
    "decode_result",
    "encode_result",
    "evaluate",
    "runner_of",
    "transfer",
    "transfer_cell",
]


@dataclass(frozen=True)
class CellRunner:
    """Where and how cells run: the run's store, cluster and ``--resume``."""

    store: ResultStore
    workers: int | None = None
    scheduler: str | None = None
    resume: bool = False
    progress: bool = False

    def __call__(self, tasks: list[Task], shared: Mapping[str, Any]) -> dict[str, Any]:
        return execute(
            tasks, self.store, workers=self.workers, scheduler=self.scheduler,
            resume=self.resume, progress=self.progress, shared=shared,
        )


def _epsilons(config: Any) -> tuple[float | None, ...]:
    """The ε of each result of an attack, in the sweep's order (None: unbounded)."""
    if isinstance(config, QuantumAttackConfig):
        return config.epsilons
    return config.epsilons if config.bounded else (None,)


def attack_cell(
    classifier: Any, theta: np.ndarray, data: Any, config: Any, epsilon: float | None,
    adversary: Any = None,
) -> dict[str, Any]:
    """One attack at one ε: the call ``attack_sweep``/``quantum_attack_sweep`` make for it."""
    started = time.perf_counter()
    if isinstance(config, QuantumAttackConfig):
        result = quantum_attack(adversary, theta, data, config, epsilon=epsilon)
    else:
        oracle = ClassifierOracle(classifier, np.asarray(theta), loss=config.loss)
        result = craft(oracle, data.x, data.y, config, epsilon=epsilon,
                       feature_range=data.feature_range)
    return {"result": encode_result(result), "seconds": time.perf_counter() - started}


def evaluate(
    classifier: Any,
    theta: np.ndarray,
    data: Any,
    attacks: Mapping[str, Any],
    *,
    runner: Callable[[list[Task], Mapping[str, Any]], dict[str, Any]],
    adversary: Any = None,
    model: str = "model",
    keep: dict[str, tuple[AttackResult, ...]] | None = None,
    scoring: Scoring = EXACT,
    fidelity: bool | None = None,
    report: Callable[[str, tuple[AttackResult, ...], float], None] | None = None,
) -> Evaluation:
    """``qadl.adversary.evaluate.evaluate`` with its (attack, ε) cells run by ``runner``.

    ``report`` gets each attack's label, results and the seconds its cells computed for
    (summed over workers).
    """
    for name, config in attacks.items():
        if isinstance(config, QuantumAttackConfig) and adversary is None:
            raise ValueError(f"attack {name!r} on quantum data needs a LocalRotationAdversary")
    try:
        inputs = _digest(classifier, np.asarray(theta), data, adversary)
    except _UNPICKLABLE:  # cannot be shipped nor keyed: the cells run here, unstored
        inputs, runner = "local", _in_process
    cells: dict[str, list[str]] = {}
    tasks: list[Task] = []
    for name, config in attacks.items():
        for k, eps in enumerate(_epsilons(config)):
            key = f"evaluate/{model}/{name}/{k}/{_digest(inputs, config, eps)[:16]}"
            cells.setdefault(name, []).append(key)
            tasks.append(Task(key, attack_cell, (
                Shared("classifier"), Shared("theta"), Shared("data"), config, eps,
                None if adversary is None else Shared("adversary"),
            )))
    shared = {"classifier": classifier, "theta": theta, "data": data}
    if adversary is not None:
        shared["adversary"] = adversary
    done = runner(tasks, shared) if tasks else {}
    points: list[RobustPoint] = []
    scored = 0
    for name, config in attacks.items():
        raw = [done[key] for key in cells.get(name, [])]
        results = tuple(
            with_fidelity(
                rescored(decode_result(cell["result"]), classifier, theta, data, config,
                         scoring, scored + i),
                classifier, theta, data, fidelity,
            )
            for i, cell in enumerate(raw)
        )
        scored += len(results)
        if keep is not None:
            keep[name] = results
        if report is not None:
            report(name, results, float(sum(cell["seconds"] for cell in raw)))
        points += [RobustPoint.from_result(name, r) for r in results]
    metrics = clean_metrics(classifier, theta, data, scoring)
    return Evaluation(
        model=model, dataset=getattr(data, "name", "data"), n=len(data.y),
        clean_accuracy=metrics.accuracy, points=tuple(points), metrics=metrics,
    )


def transfer_cell(
    source: Any, target_classifier: Any, target_theta: np.ndarray, data: Any, config: Any,
    source_theta: np.ndarray | None = None,
) -> dict[str, Any]:
    """One transfer attack (every ε): crafted on ``source``, scored on the target."""
    started = time.perf_counter()
    if isinstance(config, QuantumAttackConfig):
        results = quantum_transfer_attack(
            source, source_theta, target_classifier, target_theta, data, config
        )
    else:
        results = transfer_attack(source, target_classifier, target_theta, data, config)
    return {"results": [encode_result(r) for r in results],
            "seconds": time.perf_counter() - started}


def transfer(
    runner: Callable[[list[Task], Mapping[str, Any]], dict[str, Any]],
    model: str,
    source: Any,
    target_classifier: Any,
    target_theta: np.ndarray,
    data: Any,
    config: Any,
    source_theta: np.ndarray | None = None,
) -> tuple[AttackResult, ...]:
    """``transfer_attack``/``quantum_transfer_attack`` run as one task by ``runner``.

    A source that cannot be pickled (so neither digested nor shipped) runs here instead.
    """
    inputs = (source, target_classifier, np.asarray(target_theta), data, config, source_theta)
    try:
        key = f"transfer/{model}/{_digest(*inputs)[:16]}"
    except _UNPICKLABLE:
        return tuple(decode_result(r) for r in transfer_cell(*inputs)["results"])
    task = Task(key, transfer_cell, (Shared("source"), Shared("target"), Shared("theta"),
                                     Shared("data"), config, source_theta))
    shared = {"source": source, "target": target_classifier, "theta": target_theta, "data": data}
    return tuple(decode_result(r) for r in runner([task], shared)[key]["results"])


_UNPICKLABLE = (pickle.PicklingError, TypeError, AttributeError)
"""What ``pickle.dumps`` raises for a lambda, a local class or an open handle inside."""


def _in_process(tasks: list[Task], shared: Mapping[str, Any]) -> dict[str, Any]:
    """Run tasks here, in order, storing nothing (inputs that cannot be pickled)."""
    done = {}
    for task in tasks:
        args, kwargs = resolve(task, shared)
        done[task.key] = task.fn(*args, **kwargs)
    return done


def _digest(*parts: Any) -> str:
    """A stable digest of picklable inputs (same inputs, same digest, in any process)."""
    hasher = hashlib.sha256()
    for part in parts:
        if isinstance(part, str):
            hasher.update(part.encode("utf-8"))
        else:
            hasher.update(pickle.dumps(part, protocol=5))
    return hasher.hexdigest()


def _encode_array(value: np.ndarray | None) -> dict[str, Any] | None:
    """An array as its raw bytes (base64): exact for every dtype, complex included."""
    if value is None:
        return None
    array = np.ascontiguousarray(value)
    return {"dtype": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii")}


def _decode_array(value: dict[str, Any] | None) -> np.ndarray | None:
    if value is None:
        return None
    raw = base64.b64decode(value["data"])
    return np.frombuffer(raw, dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()


_SCALARS = ("method", "epsilon")


def encode_result(result: AttackResult) -> dict[str, Any]:
    """An ``AttackResult`` as JSON-ready data that decodes to equal arrays, bit for bit."""
    fields = result.__dataclass_fields__
    return {name: getattr(result, name) if name in _SCALARS
            else _encode_array(getattr(result, name)) for name in fields}


def decode_result(data: dict[str, Any]) -> AttackResult:
    """Inverse of ``encode_result``."""
    return AttackResult(**{name: value if name in _SCALARS else _decode_array(value)
                           for name, value in data.items()})


def runner_of(options: Any) -> CellRunner:
    """The cell runner of a run's ``RunOptions``: its store is ``OUT/tasks``.

    The per-task progress shows only on a cluster: serially, each attack logs its line.
    """
    distributed = options.workers is not None or options.scheduler is not None
    return CellRunner(
        ResultStore(options.out_dir / "tasks"), options.workers, options.scheduler,
        options.resume, options.progress and distributed,
    )
