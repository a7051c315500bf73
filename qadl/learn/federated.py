"""Federated training: clients train locally from the global θ; the server averages them.

``federated_fit`` splits the training set among ``clients`` (``iid`` or a per-class
``dirichlet(alpha)`` split), then runs ``rounds`` rounds. In each, every client starts
from the global θ, takes ``local_steps`` mini-batch steps on its own data with its own
optimizer state and generator (both kept between rounds), and sends back its parameters;
the server sets θ to their average weighted by the clients' sample counts (FedAvg,
McMahan et al. 2017), or to their coordinate-wise median or trimmed mean
(``aggregate``). The update each client shares, ``θ_k − θ``, is recorded per round.

Client ``k`` draws its shuffles (and shots) from ``default_rng(seed + k)`` and walks its
data in epochs: a fresh permutation whenever it runs out, consecutive mini-batches of
``batch`` (the last one of a pass may be smaller), exactly as ``fit`` does. With one
client holding the whole training set in its original order, a round is ``local_steps``
steps of ``fit`` and the weighted average of one client is that client, so federated
training equals centralized training bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qadl.learn.checkpoint import load_checkpoint, save_checkpoint
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.federated_checkpoint import fingerprint, restore, to_checkpoint
from qadl.learn.progress import TrainProgress
from qadl.learn.train import (
    TrainConfig,
    TrainResult,
    _check_finite,
    _end_epoch,
    _RunState,
    _step,
)

__all__ = [
    "AGGREGATORS",
    "FederatedConfig",
    "FederatedResult",
    "aggregate",
    "federated_fit",
    "split_clients",
]


@dataclass(frozen=True)
class FederatedConfig:
    """``federated(clients, rounds, local_steps, aggregate, split)``."""

    clients: int = 8
    rounds: int = 20
    local_steps: int = 2
    split: str = "iid"
    """``iid`` (equal random parts) or ``dirichlet`` (per-class Dirichlet proportions)."""
    alpha: float = 0.5
    """Concentration of the Dirichlet split (smaller: more skewed clients)."""
    aggregate: str = "fedavg"
    """``fedavg`` (size-weighted mean), or the robust ``median`` / ``trimmed_mean`` of the
    clients' θ, coordinate by coordinate."""
    beta: float = 0.1
    """``trimmed_mean``: the fraction of clients dropped at each end of every coordinate."""

    def __post_init__(self) -> None:
        if min(self.clients, self.rounds, self.local_steps) < 1:
            raise ValueError("clients, rounds and local_steps must be >= 1")
        if self.split not in ("iid", "dirichlet") or not self.alpha > 0:
            raise ValueError("split must be iid or dirichlet with alpha > 0")
        if self.aggregate not in AGGREGATORS or not 0.0 <= self.beta < 0.5:
            raise ValueError(f"aggregate must be one of {AGGREGATORS}, beta in [0, 0.5)")


AGGREGATORS = ("fedavg", "median", "trimmed_mean")
"""How the server combines the clients' θ."""


def aggregate(thetas: np.ndarray, weights: np.ndarray, config: FederatedConfig) -> np.ndarray:
    """The server's new θ from the clients' ``thetas`` (K, P).

    ``fedavg`` is the mean weighted by the clients' sample counts (McMahan et al. 2017);
    ``median`` and ``trimmed_mean`` (Yin et al. 2018) are coordinate-wise and unweighted:
    the median, or the mean after dropping the ``floor(beta·K)`` smallest and largest
    values, so that a few outlying (or malicious) clients move θ little.
    """
    if config.aggregate == "fedavg":
        # a weighted mean of the clients' θ (not θ + mean update): with one client the new
        # θ is that client's θ exactly
        return np.einsum("k,kp->p", weights, thetas)
    if config.aggregate == "median":
        return np.median(thetas, axis=0)
    cut = int(np.floor(config.beta * thetas.shape[0]))
    ordered = np.sort(thetas, axis=0)
    return ordered[cut : thetas.shape[0] - cut].mean(axis=0)


@dataclass(frozen=True, eq=False)
class FederatedResult:
    """The trained θ, the per-round history, and every update the clients shared."""

    training: TrainResult
    """θ after the last round; ``history`` has one row per round (``epoch`` = round)."""
    updates: np.ndarray
    """(rounds, clients, P) the update ``θ_k − θ`` each client shared in each round."""
    aggregated: np.ndarray
    """(rounds, P) the server's update ``θ_new − θ`` in each round."""
    sizes: np.ndarray
    """(clients,) samples each client holds."""
    batches: np.ndarray | None = None
    """(rounds, clients, local_steps, batch) training-set indices of every local
    mini-batch (-1 pads a short one, and marks steps of rounds resumed from a checkpoint
    that did not keep them)."""


class EmptyClientError(ValueError):
    """A split left a client without samples."""


def split_clients(y: np.ndarray, config: FederatedConfig, seed: int) -> list[np.ndarray]:
    """Sample indices of each client, each in increasing order (seeded, independent of
    the clients' own generators).

    A Dirichlet split that leaves a client empty is drawn again (up to ``DIRICHLET_DRAWS``).

    Raises:
        EmptyClientError: a client got no sample (more clients than samples, or a
            ``dirichlet`` split too skewed for the data).
    """
    rng = np.random.default_rng([seed, 0xFED])
    n, k = len(y), config.clients
    if config.split == "iid":
        parts = np.array_split(rng.permutation(n), k)
    else:
        # a Dirichlet draw can leave a client empty: draw again (common practice), a few times
        for _ in range(DIRICHLET_DRAWS):
            parts = _dirichlet_parts(y, k, config.alpha, rng)
            if all(len(p) for p in parts):
                break
    empty = [i for i, p in enumerate(parts) if len(p) == 0]
    if empty:
        raise EmptyClientError(
            f"client {empty[0]} of {k} gets no training sample from {n} samples"
            + (f" in {DIRICHLET_DRAWS} Dirichlet draws" if config.split == "dirichlet" else "")
        )
    return [np.sort(p) for p in parts]


DIRICHLET_DRAWS = 100
"""Dirichlet splits drawn before giving up on one that leaves no client empty."""


def _dirichlet_parts(y: np.ndarray, k: int, alpha: float, rng) -> list[np.ndarray]:
    """Each class's samples shared among ``k`` clients in Dirichlet(alpha) proportions."""
    buckets: list[list[np.ndarray]] = [[] for _ in range(k)]
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        share = rng.dirichlet(np.full(k, alpha))
        cuts = np.round(np.cumsum(share)[:-1] * len(members)).astype(int)
        for client, part in enumerate(np.split(members, cuts)):
            buckets[client].append(part)
    return [np.concatenate(b) for b in buckets]


def federated_fit(
    clf: Classifier,
    theta0: np.ndarray,
    train: Dataset,
    config: TrainConfig,
    federated: FederatedConfig,
    *,
    test: Dataset | None = None,
    progress: bool = True,
) -> FederatedResult:
    """Federated averaging of ``federated.clients`` clients (see the module docstring).

    ``config`` gives the loss, optimizer, mini-batch size, seed, gradient method and
    shots of every client, and its checkpoint directory and ``resume`` (a checkpoint
    after every round, ``qadl.learn.federated_checkpoint``); its epochs, early stopping
    and validation are not used (the checker refuses them with ``federated``).
    ``progress`` shows the rounds like ``fit`` shows epochs.

    Raises:
        EmptyClientError: a client of the split holds no sample.
        CheckpointError: ``resume`` found a checkpoint of another run, or a damaged one.
        DivergedError: a client's loss or θ became NaN or infinite.
    """
    parts = split_clients(train.y, federated, config.seed)
    theta = np.array(theta0, dtype=float)
    clients = [
        _RunState(
            train=train.take(idx),
            theta=theta.copy(),
            opt_state=config.optimizer.init(theta),
            rng=np.random.default_rng(config.seed + k),
        )
        for k, idx in enumerate(parts)
    ]
    walks = [_Walk() for _ in clients]
    sizes = np.array([len(idx) for idx in parts], dtype=float)
    weights = sizes / sizes.sum()
    server = _RunState(train=train, theta=theta, opt_state={}, rng=np.random.default_rng(0))
    updates = np.zeros((federated.rounds, len(clients), theta.size))
    aggregated = np.zeros((federated.rounds, theta.size))
    batches = np.full((federated.rounds, len(clients), federated.local_steps, config.batch), -1)
    eval_config = replace(config, patience=None)
    stamp = fingerprint(config, federated, train, theta.size)
    if config.resume and config.checkpoint_dir is not None:
        ckpt = load_checkpoint(config.checkpoint_dir)
        if ckpt is not None:
            restore(ckpt, server, clients, walks, updates, aggregated, stamp, batches)
    per_round = federated.local_steps * len(clients)
    with TrainProgress(
        per_round * federated.rounds,
        enabled=progress,
        done=per_round * server.epoch,
        epochs=federated.rounds,
    ) as bar:
        for r in range(server.epoch, federated.rounds):
            start, started = server.theta, time.perf_counter()
            server.epoch = r + 1
            updates[r], losses = _round(
                clf, config, federated, server, clients, walks, weights, bar
            )
            for k, walk in enumerate(walks):  # which samples each local step used
                for step, picked in enumerate(walk.picked):
                    batches[r, k, step, : len(picked)] = parts[k][picked]
            aggregated[r] = server.theta - start
            row = _end_epoch(clf, eval_config, server, test, None, losses, started)
            server.elapsed = row["seconds"]
            bar.epoch(server.epoch, {k: v for k, v in row.items() if k not in ("epoch", "seconds")})
            due = server.epoch % config.checkpoint_every == 0 or server.epoch == federated.rounds
            if config.checkpoint_dir is not None and due:
                ckpt = to_checkpoint(server, clients, walks, updates, aggregated, stamp, batches)
                save_checkpoint(Path(config.checkpoint_dir), ckpt)
    result = TrainResult(server.theta, server.history, best_epoch=federated.rounds)
    return FederatedResult(result, updates, aggregated, sizes.astype(int), batches)


def _round(clf, config, federated, server, clients, walks, weights, bar):
    """One round: local steps of every client from the global θ, then FedAvg.

    Sets ``server.theta``; returns the clients' updates (K, P) and their batch losses.
    """
    losses: list[float] = []
    updates = np.zeros((len(clients), server.theta.size))
    for k, (client, walk) in enumerate(zip(clients, walks, strict=True)):
        client.theta = server.theta.copy()
        walk.picked = []
        for _ in range(federated.local_steps):
            losses.append(_step(clf, config, client, walk.next(client, config.batch), None))
            _check_finite(client, losses[-1])
            bar.batch(server.epoch, losses[-1])
        updates[k] = client.theta - server.theta
    server.theta = aggregate(np.stack([c.theta for c in clients]), weights, federated)
    return updates, losses


@dataclass
class _Walk:
    """A client's position in its current pass over its data (mutable, like ``_RunState``)."""

    order: np.ndarray | None = None
    start: int = 0
    picked: list = field(default_factory=list)
    """The client's indices of each mini-batch of the current round (not checkpointed:
    the round's batches are kept in ``FederatedResult.batches``)."""

    def next(self, client: _RunState, batch: int) -> Dataset:
        """The next mini-batch; a new permutation from the client's generator when a pass ends."""
        n = len(client.train)
        if self.order is None or self.start >= n:
            self.order, self.start = client.rng.permutation(n), 0
        picked = self.order[self.start : self.start + batch]
        self.start += batch
        self.picked.append(picked)
        return client.train.take(picked)
