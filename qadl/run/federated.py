"""Run a ``train … { federated(...) }`` statement and record what the clients shared.

The shared updates go to ``<model>.updates.npz`` (``updates`` (rounds, clients, P),
``aggregated`` (rounds, P), ``sizes`` (clients,), ``batches`` (rounds, clients,
local_steps, batch): the training-set rows of every local mini-batch, -1 padded);
``results.json["federated"][model]`` summarises the split and the size of the updates
round by round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from qadl.errors import QadlError
from qadl.learn.data import Dataset
from qadl.learn.federated import EmptyClientError, FederatedConfig, federated_fit
from qadl.learn.train import TrainConfig, TrainResult
from qadl.program import CallValue, TrainSpec

__all__ = ["federated_config", "run_federated"]


def federated_config(call: CallValue, max_rounds: int | None = None) -> FederatedConfig:
    """``federated(clients, rounds, local_steps, aggregate, split)`` with its defaults;
    ``--max-epochs`` caps the rounds."""
    kw = call.as_dict()
    split = kw.get("split", "iid")
    split = split if isinstance(split, CallValue) else CallValue(str(split))
    rounds = int(kw.get("rounds", 20))
    rule = kw.get("aggregate", "fedavg")
    rule = rule if isinstance(rule, CallValue) else CallValue(str(rule))
    return FederatedConfig(
        clients=int(kw.get("clients", 8)),
        rounds=rounds if max_rounds is None else min(rounds, max_rounds),
        local_steps=int(kw.get("local_steps", 2)),
        split=split.name,
        alpha=float(split.get("alpha", 0.5)),
        aggregate=rule.name,
        beta=float(rule.get("beta", 0.1)),
    )


def run_federated(
    session: Any, spec: TrainSpec, config: TrainConfig, train: Dataset, test: Dataset | None
) -> TrainResult:
    """Federated training of ``spec.model``; writes the updates file and the record."""
    fed = federated_config(spec.options["federated"], session.options.max_epochs)
    model = session.model(spec.model)
    print(
        f"train {spec.model} on {train.name}: federated, {fed.clients} clients "
        f"({fed.split}), {fed.rounds} rounds of {fed.local_steps} local steps, batch "
        f"{config.batch}, {model.num_params} parameters, {model.num_qubits} qubits",
        flush=True,
    )
    try:
        result = federated_fit(
            session.classifier(spec.model),
            model.initial_params(config.seed),
            train,
            config,
            fed,
            test=test,
            progress=session.options.progress,
        )
    except EmptyClientError as err:
        raise QadlError.at(
            "E0567",
            f"federated training of `{spec.model}`: {err}",
            spec.span,
            help="use fewer clients, or a larger `dirichlet(alpha = …)`",
        ) from None
    out: Path = session.options.out_dir
    name = f"{spec.model}.updates.npz"
    np.savez(
        out / name,
        updates=result.updates,
        aggregated=result.aggregated,
        sizes=result.sizes,
        batches=result.batches,
    )
    session.results.setdefault("federated", {})[spec.model] = {
        "clients": fed.clients,
        "rounds": fed.rounds,
        "local_steps": fed.local_steps,
        "aggregate": fed.aggregate,
        **({"beta": fed.beta} if fed.aggregate == "trimmed_mean" else {}),
        "split": fed.split,
        **({"alpha": fed.alpha} if fed.split == "dirichlet" else {}),
        "client_sizes": result.sizes.tolist(),
        "mean_client_update_norm": np.linalg.norm(result.updates, axis=2).mean(axis=1).tolist(),
        "aggregated_update_norm": np.linalg.norm(result.aggregated, axis=1).tolist(),
        "updates": name,
    }
    return result.training
