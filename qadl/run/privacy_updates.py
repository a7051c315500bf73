"""Gradient inversion of the updates recorded in federated training (``source = updates``).

With one plain SGD step per round, client k's recorded update is ``θ_k − θ = −lr_t·g̃_k``:
``g̃_k`` is exactly what the client shared (its mini-batch's mean gradient, or its DP-SGD
release with the training's clipping and noise). The attack reads ``MODEL.updates.npz``,
rebuilds θ at the start of round ``round`` from the initial θ and the aggregated updates,
and inverts ``g̃_k = −update/lr_t`` of the first ``samples`` clients whose mini-batch of
that round is full, knowing their labels; the recorded batches score the result.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from qadl.adversary.privacy.accountant import gaussian_epsilon
from qadl.adversary.privacy.inversion import invert_gradients
from qadl.program import AttackSpec, TrainSpec
from qadl.run import configs
from qadl.run.privacy import _config, _oracles, updates_refused

__all__ = ["invert_recorded"]


def invert_recorded(session: Any, spec: AttackSpec, training: TrainSpec) -> dict[str, Any]:
    """The record of one ``source = updates`` inversion (see the module docstring)."""
    kw = spec.method.as_dict()
    rnd = int(kw.get("round", 1))
    recorded = np.load(session.options.out_dir / f"{spec.model}.updates.npz")
    updates, aggregated, batches = recorded["updates"], recorded["aggregated"], recorded["batches"]
    if rnd > updates.shape[0]:  # --max-epochs cut the rounds
        _refuse(spec, f"the run recorded {updates.shape[0]} rounds, not {rnd}")
    train_config = configs.train_config(training.options, checkpoint_dir=None, resume=False)
    opt = train_config.optimizer
    lr = opt.lr / (1.0 + opt.decay * (rnd - 1))  # the client's step t = rnd
    theta = session.model(spec.model).initial_params(train_config.seed)
    theta = theta + aggregated[: rnd - 1].sum(axis=0)
    full = [k for k in range(updates.shape[1]) if np.all(batches[rnd - 1, k, 0] >= 0)]
    attacked = full[: int(kw.get("samples", 5))]
    if not attacked:
        _refuse(spec, f"no client's mini-batch of round {rnd} is full or known")
    data = session.split(training.data, spec.span)
    rows = np.concatenate([batches[rnd - 1, k, 0] for k in attacked])
    config = replace(
        _config(spec, data.x, {**kw, "batch": train_config.batch}),
        samples=len(attacked),
        batch=train_config.batch,
    )
    loss = str(training.options.get("loss", "cross_entropy"))
    oracle, _, device = _oracles(session, spec.model, theta, loss)
    shared = np.stack([-updates[rnd - 1, k] / lr for k in attacked])
    print(
        f"attack {spec.name} on {spec.model}: gradient inversion of the updates clients "
        f"{', '.join(map(str, attacked))} shared in round {rnd} (batch {config.batch}), "
        f"{config.restarts} restarts, {config.optimizer}",
        flush=True,
    )
    result = invert_gradients(oracle, data.x[rows], data.y[rows], config, shared=shared)
    dp = session.results["models"][spec.model].get("dp")
    return {
        "model": spec.model,
        "method": spec.method.name,
        "source": "updates",
        "round": rnd,
        "clients_attacked": attacked,
        "at": "round",
        "loss": config.loss,
        "optimizer": config.optimizer,
        "batch": config.batch,
        "clients": 1,
        "restarts": config.restarts,
        "steps": config.steps,
        "input": "features",
        "box": list(config.box),
        "shots": train_config.shots,
        "labels": "inferred" if config.infer_labels else "known",
        "device": device,
        **({} if dp is None else {"dp": _training_dp(dp)}),
        **result.to_json(),
    }


def _training_dp(run: dict[str, Any]) -> dict[str, Any]:
    """The DP-SGD training whose noised update is attacked."""
    return {
        "clip_norm": run["clip"],
        "noise": run["noise"],
        "delta": run["delta"],
        "epsilon": (
            gaussian_epsilon(1.0, run["noise"], 1, run["delta"]) if run["noise"] > 0 else None
        ),
        "source": "training",
        "training_epsilon": run["epsilon"],
        "training_steps": run["steps"],
    }


def _refuse(spec: AttackSpec, problem: str) -> None:
    raise updates_refused(
        spec, problem,
        "pick a `round` the run recorded, with clients holding at least `batch` samples",
    )
