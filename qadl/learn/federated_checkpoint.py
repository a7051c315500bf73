"""Checkpoints of federated training: the server and every client, after a round.

One ``Checkpoint`` (``qadl.learn.checkpoint``, the same atomic ``last.npz`` as ``fit``)
holds the global θ and history, and per client its θ, optimizer state, generator state
and position in its current pass over its data, with the updates shared so far. A run
resumed from it continues with bit-for-bit the same rounds as an uninterrupted one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qadl.learn.checkpoint import Checkpoint, CheckpointError
from qadl.learn.data import Dataset
from qadl.learn.train import CheckpointMismatchError, History, TrainConfig

__all__ = ["fingerprint", "restore", "to_checkpoint"]


def fingerprint(config: TrainConfig, federated: Any, train: Dataset, num_params: int) -> str:
    """What must not change between a run and its resumption (the rounds may)."""
    return repr(
        (
            "federated",
            config.loss,
            config.optimizer,
            config.batch,
            config.seed,
            config.method,
            config.shots if config.dp is None else (config.shots, config.dp),
            federated.clients,
            federated.local_steps,
            federated.split,
            federated.alpha,
            *(() if federated.aggregate == "fedavg" else (federated.aggregate, federated.beta)),
            len(train),
            train.num_features,
            train.num_qubits,
            num_params,
        )
    )


def to_checkpoint(
    server, clients, walks, updates, aggregated, stamp: str, batches=None
) -> Checkpoint:
    """The state after ``server.epoch`` rounds."""
    arrays: dict[str, np.ndarray] = {
        "updates": updates[: server.epoch],
        "aggregated": aggregated[: server.epoch],
    }
    if batches is not None:
        arrays["batches"] = batches[: server.epoch]
    for k, (client, walk) in enumerate(zip(clients, walks, strict=True)):
        arrays[f"client{k}/theta"] = client.theta
        arrays.update({f"client{k}/opt/{n}": v for n, v in client.opt_state.items()})
        if walk.order is not None:
            arrays[f"client{k}/order"] = walk.order
    extra = {
        "fingerprint": stamp,
        "elapsed": server.elapsed,
        "client_rng": [c.rng.bit_generator.state for c in clients],
        "walk_start": [w.start for w in walks],
    }
    return Checkpoint(
        epoch=server.epoch,
        theta=server.theta,
        opt_state={},
        rng_state=server.rng.bit_generator.state,
        history=server.history.to_arrays(),
        extra=extra,
        arrays=arrays,
    )


def restore(
    ckpt: Checkpoint, server, clients, walks, updates, aggregated, stamp: str, batches=None
) -> None:
    """Put the state of ``ckpt`` into fresh run states (in place); the batches of its
    rounds too, where it kept them (else they stay -1: unknown).

    Raises:
        CheckpointMismatchError: the checkpoint is of another run.
        CheckpointError: it is damaged, or has more rounds than this run asks for.
    """
    if ckpt.extra.get("fingerprint") != stamp:
        raise CheckpointMismatchError(
            "the checkpoint was written by a run with another loss, optimizer, batch size, "
            "seed, gradient method, client split, training set or parameter count; "
            "use a fresh checkpoint directory or resume=False"
        )
    if ckpt.epoch > len(updates):
        raise CheckpointError(f"the checkpoint has {ckpt.epoch} rounds, more than {len(updates)}")
    try:
        done = ckpt.epoch
        updates[:done] = ckpt.arrays["updates"]
        aggregated[:done] = ckpt.arrays["aggregated"]
        if batches is not None and "batches" in ckpt.arrays:
            batches[:done] = ckpt.arrays["batches"]
        server.theta = np.array(ckpt.theta, dtype=float)
        server.history = History.from_arrays(ckpt.history)
        server.epoch, server.elapsed = done, float(ckpt.extra["elapsed"])
        for k, (client, walk) in enumerate(zip(clients, walks, strict=True)):
            client.theta = np.array(ckpt.arrays[f"client{k}/theta"], dtype=float)
            fresh = client.opt_state
            client.opt_state = {n: np.array(ckpt.arrays[f"client{k}/opt/{n}"]) for n in fresh}
            if any(np.shape(client.opt_state[n]) != np.shape(v) for n, v in fresh.items()):
                raise ValueError("an optimizer state does not fit the optimizer")
            client.rng.bit_generator.state = ckpt.extra["client_rng"][k]
            order = ckpt.arrays.get(f"client{k}/order")
            walk.order = None if order is None else np.asarray(order, dtype=np.int64)
            walk.start = int(ckpt.extra["walk_start"][k])
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise CheckpointError(f"the checkpoint is corrupt ({type(err).__name__}: {err})") from None
