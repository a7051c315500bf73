"""Mini-batch training of a ``Classifier``: ``fit`` with checkpoints, resume and early stopping.

Reproducibility: every random choice of a run (the shuffles, the shots, and whatever
``batch_hook`` draws) comes from one ``np.random.Generator(seed)``, whose state is
checkpointed with θ and the optimizer state, so a run resumed from a checkpoint ends
with bit-for-bit the same θ as an uninterrupted one (on the same machine).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qadl.ir.circuit import Circuit
from qadl.ir.expr import THETA
from qadl.learn.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.dp import DPConfig, clip_and_noise, per_sample_gradients
from qadl.learn.losses import LOSSES, loss_and_grad
from qadl.learn.optimizers import Adam, Optimizer, OptState
from qadl.learn.progress import TrainProgress

__all__ = [
    "BatchHook",
    "CheckpointMismatchError",
    "DivergedError",
    "History",
    "TrainConfig",
    "TrainResult",
    "ValidationSplitError",
    "evaluate",
    "fit",
    "qubit_blocks",
    "split_validation",
]

BatchHook = Callable[[np.ndarray, Dataset, np.random.Generator], Dataset]
"""``batch_hook(theta, batch, rng) -> batch``: replaces or extends each mini-batch."""

Monitor = Literal["test_acc", "test_loss", "train_loss"]


def qubit_blocks(circuit: Circuit) -> tuple[tuple[int, ...], ...]:
    """θ indices grouped by the (first) qubit of the ops they appear in, qubit by qubit.

    Ren et al.'s block-coordinate training updates one qubit's block per sub-step.
    A parameter used on several qubits lands in the block of the first it appears on.
    """
    owner: dict[int, int] = {}
    for op in circuit.ops:
        for angle in op.angles:
            for sym in angle.symbols():
                if sym.kind == THETA:
                    owner.setdefault(sym.index, op.qubits[0])
    by_qubit: dict[int, list[int]] = {}
    for index, qubit in owner.items():
        by_qubit.setdefault(qubit, []).append(index)
    return tuple(tuple(sorted(by_qubit[q])) for q in sorted(by_qubit))


# -- configuration and results -------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    """Everything a ``train`` block can set."""

    loss: Any = "cross_entropy"
    """A name in ``qadl.learn.losses.LOSSES``, or a loss function ``(probs, y) -> (loss, grad)``."""
    optimizer: Optimizer = field(default_factory=lambda: Adam(lr=0.05))
    """An optimizer of ``qadl.learn.optimizers`` (hyperparameters included)."""
    epochs: int = 20
    """Number of passes over the training set."""
    batch: int = 20
    """Mini-batch size (the last batch of an epoch may be smaller)."""
    seed: int = 7
    """Seed of the run's random generator (shuffles and ``batch_hook``)."""
    method: Literal["adjoint", "parameter-shift"] = "adjoint"
    """How the simulator computes gradients."""
    checkpoint_dir: str | None = None
    """Directory for ``last.npz``; None disables checkpoints."""
    checkpoint_every: int = 1
    """Write a checkpoint every this many epochs (and after the last)."""
    resume: bool = False
    """Continue from the checkpoint in ``checkpoint_dir`` if there is one."""
    patience: int | None = None
    """Stop after this many epochs without improvement of ``monitor``; None: never."""
    monitor: Monitor = "test_acc"
    """Early-stopping metric; the test metrics fall back to training ones without test data."""
    restore_best: bool = True
    """With early stopping, return the θ of the best epoch rather than the last."""
    blocks: tuple[tuple[int, ...], ...] | None = None
    """Block-coordinate updates: step ``s`` changes only θ[blocks[s % len(blocks)]]."""
    eval_chunk: int = 512
    """Samples per forward call when measuring accuracy."""
    shots: int | None = None
    """Measurements per sample for the loss and its gradient; None: exact probabilities."""
    validation: float = 0.0
    """Fraction of the training set held out (seeded) and measured after every epoch."""
    min_delta: float = 0.0
    """Early stopping counts an epoch as an improvement only if it beats the best by more."""
    penalty: Any = None
    """``θ -> (value, gradient)`` added to every batch's mean loss (a regulariser); None: none."""
    dp: DPConfig | None = None
    """DP-SGD: per-sample clipping and Gaussian noise on every step (``qadl.learn.dp``)."""

    def __post_init__(self) -> None:
        if not callable(self.loss) and self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; expected one of {sorted(LOSSES)}")
        if self.epochs < 0 or self.batch < 1 or self.checkpoint_every < 1:
            raise ValueError("epochs must be >= 0, batch and checkpoint_every >= 1")
        if self.method not in ("adjoint", "parameter-shift"):
            raise ValueError(f"unknown gradient method {self.method!r}")
        if self.patience is not None and self.patience < 1:
            raise ValueError("patience must be >= 1")
        if self.blocks is not None and not getattr(self.optimizer, "needs_gradient", False):
            raise ValueError("block-coordinate training needs a gradient-based optimizer")
        if self.shots is not None and self.shots < 1:
            raise ValueError("shots must be >= 1 (None: exact)")
        if self.dp is not None and not getattr(self.optimizer, "needs_gradient", False):
            raise ValueError("DP-SGD clips gradients: it needs a gradient-based optimizer")
        if not 0.0 <= self.validation < 1.0:
            raise ValueError("validation must be a fraction in [0, 1)")
        if not (math.isfinite(self.min_delta) and self.min_delta >= 0.0):
            raise ValueError("min_delta must be a finite number >= 0")


@dataclass(frozen=True)
class History:
    """Per-epoch metrics of a run (NaN where a metric was not measured)."""

    epoch: tuple[int, ...] = ()
    loss: tuple[float, ...] = ()
    """Mean training loss over the epoch's mini-batches (before each step)."""
    train_acc: tuple[float, ...] = ()
    """Accuracy on the whole training set at the end of the epoch."""
    test_acc: tuple[float, ...] = ()
    test_loss: tuple[float, ...] = ()
    val_acc: tuple[float, ...] = ()
    """Accuracy on the held-out validation part of the training set (NaN without one)."""
    val_loss: tuple[float, ...] = ()
    seconds: tuple[float, ...] = ()
    """Wall time since the start of the run (resumed runs included) at the end of the epoch."""

    def append(self, **row: float) -> History:
        """A history with one more epoch."""
        return History(**{k: (*getattr(self, k), row[k]) for k in _COLUMNS})

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Columns as arrays (for checkpoints)."""
        return {k: np.asarray(getattr(self, k), dtype=float) for k in _COLUMNS}

    @staticmethod
    def from_arrays(arrays: dict[str, np.ndarray]) -> History:
        """Inverse of ``to_arrays``."""
        epochs = len(arrays.get("epoch", ()))
        # A column missing from an older checkpoint was not measured: NaN, epoch by epoch.
        cols = {
            k: tuple(float(v) for v in arrays.get(k, np.full(epochs, math.nan)))
            for k in _COLUMNS
        }
        return History(**{**cols, "epoch": tuple(int(e) for e in cols["epoch"])})


# the column names, read once: ``asdict`` would deep-copy every column on every epoch
_COLUMNS = tuple(f.name for f in fields(History))


@dataclass(frozen=True, eq=False)
class TrainResult:
    """The outcome of ``fit``."""

    theta: np.ndarray
    """Final parameters (the best epoch's when early stopping restored them)."""
    history: History
    best_epoch: int
    """Epoch of the best monitored value (the last epoch without early stopping)."""
    stopped_early: bool = False

    @property
    def seconds(self) -> float:
        """Total wall time of the run."""
        return self.history.seconds[-1] if self.history.seconds else 0.0


# -- evaluation ----------------------------------------------------------------------------------


def _inputs(data: Dataset) -> dict[str, np.ndarray | None]:
    return {"x": data.x, "state": data.states}


def evaluate(
    clf: Classifier,
    theta: np.ndarray,
    data: Dataset,
    *,
    loss: str = "cross_entropy",
    chunk: int = 512,
) -> tuple[float, float]:
    """``(mean loss, accuracy)`` of ``clf`` at ``theta`` on ``data`` (forward passes only)."""
    if len(data) == 0:
        return math.nan, math.nan
    losses, hits = [], 0
    for start in range(0, len(data), chunk):
        part = data.take(np.arange(start, min(start + chunk, len(data))))
        probs = clf.predict_proba(theta, **_inputs(part))
        losses.append(loss_and_grad(loss, probs, part.y)[0])
        hits += int(np.sum(np.argmax(probs, axis=1) == part.y))
    return float(np.concatenate(losses).mean()), hits / len(data)


# -- the training loop -----------------------------------------------------------------------


@dataclass
class _RunState:
    """Mutable bookkeeping of one run (kept private; checkpointed field by field)."""

    train: Dataset
    theta: np.ndarray
    opt_state: OptState
    rng: np.random.Generator
    history: History = field(default_factory=History)
    epoch: int = 0
    step: int = 0
    best_value: float = -math.inf
    best_epoch: int = 0
    best_theta: np.ndarray | None = None
    bad_epochs: int = 0
    elapsed: float = 0.0


def _step(clf, config, run, batch, masks) -> float:
    """One optimizer step on ``batch``; returns the batch's mean loss before the step."""
    opt = config.optimizer
    if opt.needs_gradient:
        if config.shots is None:
            per_sample, grads = clf.loss_and_grads(
                run.theta, batch.y, **_inputs(batch), loss=config.loss, method=config.method
            )
        else:
            per_sample, grads = clf.shot_loss_and_grads(
                run.theta,
                batch.y,
                config.shots,
                run.rng,
                **_inputs(batch),
                loss=config.loss,
                method=config.method,
            )
        gradient, value = grads.theta, float(per_sample.mean())
        if config.dp is not None:  # DP-SGD: the clipped, noised release replaces the mean
            gradient = _dp_gradient(clf, config, run, batch, grads)
        if config.penalty is not None:
            extra, extra_grad = config.penalty(run.theta)
            gradient, value = gradient + extra_grad, value + extra
        mask = None if masks is None else masks[run.step % len(masks)]
        if mask is None:
            run.theta, run.opt_state = opt.step(run.opt_state, run.theta, gradient)
        else:
            run.theta, run.opt_state = opt.step(run.opt_state, run.theta, gradient, mask=mask)
    else:

        def objective(th: np.ndarray) -> float:
            if config.shots is None:
                probs = clf.predict_proba(th, **_inputs(batch))
            else:  # fresh shots at every evaluation, as a device would give
                probs = clf.sampled_proba(th, config.shots, run.rng, **_inputs(batch))
            value = float(loss_and_grad(config.loss, probs, batch.y)[0].mean())
            return value if config.penalty is None else value + config.penalty(th)[0]

        value = objective(run.theta)
        run.theta, run.opt_state = opt.step(run.opt_state, run.theta, objective)
    run.step += 1
    return value


def _dp_gradient(clf, config, run, batch, grads) -> np.ndarray:
    """The DP-SGD release of ``batch`` (``qadl.learn.dp``): per-sample gradients from the
    batch's pass where the simulator kept them, else one sample at a time."""

    def one(b: int) -> np.ndarray:
        part = batch.take(np.array([b]))
        if config.shots is None:
            _, g = clf.loss_and_grads(
                run.theta, part.y, **_inputs(part), loss=config.loss, method=config.method
            )
        else:
            _, g = clf.shot_loss_and_grads(
                run.theta, part.y, config.shots, run.rng, **_inputs(part),
                loss=config.loss, method=config.method,
            )
        return g.theta

    per_sample = per_sample_gradients(grads, len(batch), one)
    return clip_and_noise(per_sample, config.dp, run.rng)


def _monitored(config: TrainConfig, row: dict[str, float]) -> float:
    """The early-stopping metric, as a "larger is better" number.

    A ``test_*`` monitor watches the validation set when there is one, else the test
    set, else the training set.
    """
    monitor = config.monitor
    if monitor.startswith("test") and not math.isnan(row["val_acc"]):
        monitor = monitor.replace("test", "val")
    elif monitor.startswith("test") and math.isnan(row["test_acc"]):
        monitor = "train_acc" if monitor == "test_acc" else "loss"
    if monitor == "train_loss":
        monitor = "loss"
    value = row[monitor]
    return value if monitor.endswith("acc") else -value


class DivergedError(ArithmeticError):
    """The training loss became NaN or infinite (a learning rate far too large, usually)."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint to resume from was written by a run with other settings or data."""


def _fingerprint(config: TrainConfig, train: Dataset, num_params: int) -> str:
    """What must not change between a run and its resumption (epochs and patience may)."""
    return repr(
        (
            config.loss if config.penalty is None else (config.loss, config.penalty),
            config.optimizer,
            config.batch,
            config.seed,
            config.method,
            config.blocks,
            config.shots if config.dp is None else (config.shots, config.dp),
            config.validation,
            len(train),
            train.num_features,
            train.num_qubits,
            num_params,
        )
    )


def _to_checkpoint(run: _RunState, fingerprint: str) -> Checkpoint:
    arrays = {} if run.best_theta is None else {"best_theta": run.best_theta}
    extra = dict(
        fingerprint=fingerprint,
        step=run.step,
        best_value=run.best_value,
        best_epoch=run.best_epoch,
        bad_epochs=run.bad_epochs,
        elapsed=run.elapsed,
    )
    return Checkpoint(
        epoch=run.epoch,
        theta=run.theta,
        opt_state=run.opt_state,
        rng_state=run.rng.bit_generator.state,
        history=run.history.to_arrays(),
        extra=extra,
        arrays=arrays,
    )


def _damage(ckpt: Checkpoint, run: _RunState) -> str | None:
    """What makes ``ckpt`` unusable for ``run`` (a fresh run state), or None."""
    if ckpt.theta.shape != run.theta.shape or not np.all(np.isfinite(ckpt.theta)):
        return f"`theta` is not {run.theta.size} finite numbers"
    best = ckpt.arrays.get("best_theta")
    if best is not None and best.shape != run.theta.shape:
        return f"`best_theta` is not {run.theta.size} numbers"
    fresh = run.opt_state
    if set(ckpt.opt_state) != set(fresh) or any(
        np.shape(ckpt.opt_state[k]) != np.shape(v) for k, v in fresh.items()
    ):
        return "the optimizer state does not fit the optimizer"
    if any(len(np.atleast_1d(v)) != ckpt.epoch for v in ckpt.history.values()):
        return f"the history does not have one row per epoch ({ckpt.epoch})"
    return None


def _from_checkpoint(ckpt: Checkpoint, run: _RunState, fingerprint: str) -> None:
    if ckpt.extra.get("fingerprint") != fingerprint:
        raise CheckpointMismatchError(
            "the checkpoint was written by a run with another loss, optimizer, batch size, seed, "
            "gradient method, block schedule, training set or parameter count; "
            "use a fresh checkpoint directory or resume=False"
        )
    problem = _damage(ckpt, run)
    if problem is not None:
        raise CheckpointError(f"the checkpoint is corrupt: {problem}")
    try:  # a fingerprint that matches does not prove the rest of the file is intact
        run.theta = np.array(ckpt.theta, dtype=float)
        run.opt_state = {k: np.array(v) for k, v in ckpt.opt_state.items()}
        run.rng.bit_generator.state = ckpt.rng_state
        run.history = History.from_arrays(ckpt.history)
        run.epoch = ckpt.epoch
        for key in ("step", "best_epoch", "bad_epochs"):
            setattr(run, key, int(ckpt.extra[key]))
        run.best_value = float(ckpt.extra["best_value"])
        run.elapsed = float(ckpt.extra["elapsed"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"the checkpoint is corrupt ({type(err).__name__}: {err})") from None
    run.best_theta = ckpt.arrays.get("best_theta")


def _block_masks(config: TrainConfig, num_params: int) -> list[np.ndarray] | None:
    if config.blocks is None:
        return None
    masks = []
    for block in config.blocks:
        mask = np.zeros(num_params, dtype=bool)
        mask[list(block)] = True
        masks.append(mask)
    return masks


def _end_epoch(clf, config, run, test, val, batch_losses, started) -> dict[str, float]:
    def measure(data: Dataset | None) -> tuple[float, float]:
        if data is None:
            return math.nan, math.nan
        return evaluate(clf, run.theta, data, loss=config.loss, chunk=config.eval_chunk)

    _, train_acc = measure(run.train)
    test_loss, test_acc = measure(test)
    val_loss, val_acc = measure(val)
    seconds = run.elapsed + (time.perf_counter() - started)
    row = dict(
        epoch=run.epoch,
        loss=float(np.mean(batch_losses)),
        train_acc=train_acc,
        test_acc=test_acc,
        test_loss=test_loss,
        val_acc=val_acc,
        val_loss=val_loss,
        seconds=seconds,
    )
    run.history = run.history.append(**row)
    value = _monitored(config, row)
    if value > run.best_value + config.min_delta:
        run.best_value, run.best_epoch, run.bad_epochs = value, run.epoch, 0
        run.best_theta = run.theta.copy()
    else:
        run.bad_epochs += 1
    return row


class ValidationSplitError(ValueError):
    """A validation fraction that leaves the training or the validation part empty."""


VALIDATION_STREAM = 0x7661
"""Second seed word of the validation split's generator (independent of the run's)."""


def split_validation(train: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset | None]:
    """``(kept, held out)``: ``round(fraction · n)`` samples held out, chosen by ``seed``.

    The split has its own generator, so it is the same whether a run starts or resumes.

    Raises:
        ValidationSplitError: the fraction leaves no sample on one side.
    """
    if fraction == 0.0:
        return train, None
    held = round(fraction * len(train))
    if not 1 <= held < len(train):
        raise ValidationSplitError(
            f"validation {fraction:g} of {len(train)} samples holds out {held}; "
            "both parts need at least one sample"
        )
    order = np.random.default_rng([seed, VALIDATION_STREAM]).permutation(len(train))
    return train.take(np.sort(order[held:])), train.take(np.sort(order[:held]))


MAX_PARAM = 1e8
"""Largest |θ_i| (radians) training accepts: beyond it float64 keeps under 8 digits of the angle."""


def _check_finite(run: _RunState, loss: float) -> None:
    if not (math.isfinite(loss) and np.all(np.abs(run.theta) <= MAX_PARAM)):
        what = (
            f"the training loss is {loss}"
            if not math.isfinite(loss)
            else f"a parameter left [-{MAX_PARAM:g}, {MAX_PARAM:g}] (or is NaN)"
        )
        raise DivergedError(
            f"training diverged at epoch {run.epoch}, step {run.step}: {what}; "
            "lower the learning rate"
        )


def fit(
    clf: Classifier,
    theta0: np.ndarray,
    train: Dataset,
    config: TrainConfig,
    *,
    batch_hook: BatchHook | None = None,
    test: Dataset | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``clf`` from ``theta0`` on ``train`` with mini-batches.

    Each epoch shuffles the training set with the run's generator, takes consecutive
    mini-batches of ``config.batch`` samples, passes each through ``batch_hook``
    (adversarial training swaps or extends it there) and takes one optimizer step
    (gradient-free optimizers minimise the batch's mean loss). With ``config.shots`` the
    loss and gradient come from finite-shot estimates (``qadl.learn.shots``). A
    ``config.validation`` fraction of ``train`` is held out before training. At the end
    of an epoch the training, validation and test sets are evaluated (exactly), early
    stopping is checked, and a checkpoint is written when due.

    Args:
        clf: the classifier (simulator + readout).
        theta0: initial parameters ``(P,)`` (``Model.initial_params`` for a model of a program).
        train: the training set.
        config: loss, optimizer, epochs, batch, seed, gradient method, checkpoints …
        batch_hook: ``(theta, batch, rng) -> batch``, called before every step.
        test: optional data measured after every epoch (and used for early stopping).
        progress: show a progress bar (only ever on a terminal).

    Returns:
        A ``TrainResult`` with the final θ and the per-epoch history.

    Raises:
        CheckpointMismatchError: ``resume`` found a checkpoint of a different run.
        CheckpointError: an unreadable checkpoint file.
        DivergedError: the loss or θ became NaN or infinite.
        ValidationSplitError: a validation fraction that leaves one side empty.
    """
    train, val = split_validation(train, config.validation, config.seed)
    run = _RunState(
        train=train,
        theta=np.array(theta0, dtype=float),
        opt_state=config.optimizer.init(theta0),
        rng=np.random.default_rng(config.seed),
    )
    fingerprint = _fingerprint(config, train, run.theta.size)
    if config.resume and config.checkpoint_dir is not None:
        ckpt = load_checkpoint(config.checkpoint_dir)
        if ckpt is not None:
            _from_checkpoint(ckpt, run, fingerprint)
    masks = _block_masks(config, run.theta.size)
    per_epoch = math.ceil(len(train) / config.batch)
    stopped = False
    with TrainProgress(
        per_epoch * config.epochs,
        enabled=progress,
        done=per_epoch * min(run.epoch, config.epochs),
        epochs=config.epochs,
    ) as bar:
        while run.epoch < config.epochs and not stopped:
            started = time.perf_counter()
            run.epoch += 1
            order = run.rng.permutation(len(train))
            losses = []
            for start in range(0, len(train), config.batch):
                batch = train.take(order[start : start + config.batch])
                if batch_hook is not None:
                    batch = batch_hook(run.theta, batch, run.rng)
                losses.append(_step(clf, config, run, batch, masks))
                _check_finite(run, losses[-1])
                bar.batch(run.epoch, losses[-1])
            row = _end_epoch(clf, config, run, test, val, losses, started)
            run.elapsed = row["seconds"]
            bar.epoch(run.epoch, {k: v for k, v in row.items() if k not in ("epoch", "seconds")})
            stopped = config.patience is not None and run.bad_epochs >= config.patience
            due = run.epoch % config.checkpoint_every == 0 or run.epoch == config.epochs or stopped
            if config.checkpoint_dir is not None and due:
                save_checkpoint(Path(config.checkpoint_dir), _to_checkpoint(run, fingerprint))
    use_best = config.patience is not None and config.restore_best and run.best_theta is not None
    return TrainResult(
        theta=run.best_theta.copy() if use_best else run.theta,
        history=run.history,
        best_epoch=run.best_epoch if config.patience is not None else run.epoch,
        stopped_early=stopped,
    )
