"""Training checkpoints: θ, optimizer state, RNG state, history and epoch in one atomic .npz."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qadl.learn.cache import save_npz_atomic

__all__ = ["CHECKPOINT_NAME", "Checkpoint", "CheckpointError", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_NAME = "last.npz"
"""File name of the most recent checkpoint inside a checkpoint directory."""

_FORMAT = 1
_REQUIRED = ("epoch", "theta", "rng_state", "extra")


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """Everything needed to continue a training run exactly where it stopped."""

    epoch: int
    """Number of completed epochs."""
    theta: np.ndarray
    """Parameters after ``epoch`` epochs."""
    opt_state: dict[str, np.ndarray]
    """The optimizer's state (``qadl.learn.optimizers.OptState``)."""
    rng_state: dict
    """``np.random.Generator.bit_generator.state`` of the training RNG."""
    history: dict[str, np.ndarray]
    """Per-epoch metric columns (``qadl.learn.train.History`` as arrays)."""
    extra: dict = field(default_factory=dict)
    """Small JSON-serialisable bookkeeping (early-stopping counters, best θ's epoch …)."""
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    """Other named arrays to keep (e.g. the best θ so far)."""


def save_checkpoint(directory: str | Path, ckpt: Checkpoint) -> Path:
    """Write ``ckpt`` to ``directory/last.npz`` atomically (temp file + ``os.replace``).

    Returns:
        The checkpoint's path.
    """
    arrays: dict[str, np.ndarray] = {
        "format": np.array(_FORMAT),
        "epoch": np.array(ckpt.epoch),
        "theta": np.asarray(ckpt.theta),
        "rng_state": np.array(json.dumps(ckpt.rng_state)),
        "extra": np.array(json.dumps(ckpt.extra)),
    }
    arrays.update({f"opt/{k}": np.asarray(v) for k, v in ckpt.opt_state.items()})
    arrays.update({f"history/{k}": np.asarray(v) for k, v in ckpt.history.items()})
    arrays.update({f"arrays/{k}": np.asarray(v) for k, v in ckpt.arrays.items()})
    path = Path(directory) / CHECKPOINT_NAME
    save_npz_atomic(path, arrays)
    return path


def _group(stored: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k[len(prefix) :]: v for k, v in stored.items() if k.startswith(prefix)}


class CheckpointError(ValueError):
    """A checkpoint cannot be used: unreadable, of another format, or of another run."""


def load_checkpoint(directory: str | Path) -> Checkpoint | None:
    """The checkpoint in ``directory``, or None when there is none.

    Raises:
        CheckpointError: the file exists but is not a readable qadl checkpoint.
    """
    path = Path(directory) / CHECKPOINT_NAME
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            stored = {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"cannot read checkpoint {path}: {err}") from None
    try:
        if int(stored.get("format", -1)) != _FORMAT:
            raise CheckpointError(f"{path} is not a qadl checkpoint of format {_FORMAT}")
        missing = [k for k in _REQUIRED if k not in stored]
        if missing:
            raise CheckpointError(f"checkpoint {path} is corrupt: it has no `{missing[0]}`")
        ckpt = Checkpoint(
            epoch=int(stored["epoch"]),
            theta=np.asarray(stored["theta"], dtype=float),
            opt_state=_group(stored, "opt/"),
            rng_state=json.loads(str(stored["rng_state"])),
            history=_group(stored, "history/"),
            extra=json.loads(str(stored["extra"])),
            arrays=_group(stored, "arrays/"),
        )
    except (ValueError, TypeError) as err:  # JSONDecodeError is a ValueError
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"checkpoint {path} is corrupt: {err}") from None
    if ckpt.epoch < 0 or ckpt.theta.ndim != 1:
        raise CheckpointError(f"checkpoint {path} is corrupt: bad `epoch` or `theta`")
    if not isinstance(ckpt.rng_state, dict) or not isinstance(ckpt.extra, dict):
        raise CheckpointError(f"checkpoint {path} is corrupt: bad `rng_state` or `extra`")
    return ckpt
