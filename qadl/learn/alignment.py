"""Kernel-target alignment of a trainable feature map, with analytic gradients.

The alignment of a kernel matrix K with labels (Cristianini et al., NIPS 2001) is
A = ⟨K, T⟩_F / (‖K‖_F ‖T‖_F). The target T is yyᵀ for labels ±1; for C classes qadl
uses T_ij = 1 for samples of the same class and −1/(C − 1) otherwise (the Gram matrix
of the C vertices of a regular simplex), which is yyᵀ for C = 2 and keeps T's rows
summing to zero on balanced classes, so that no class structure is favoured over
another. Maximising A over the feature map's θ is "kernel alignment" (Hubregtsen et
al., Phys. Rev. A 106, 042431 (2022)).

Gradients. With feature states ψ_i(θ), G_ij = ⟨ψ_i|ψ_j⟩ and the fidelity kernel
K_ij = |G_ij|², a loss L(K) with symmetric W = ∂L/∂K changes by

    dL = Σ_ij W_ij 2 Re(G_ij* dG_ij),   dG_ij = ⟨dψ_i|ψ_j⟩ + ⟨ψ_i|dψ_j⟩.

Both halves are equal (swap i and j, W symmetric, G Hermitian), so
dL = Σ_j Re⟨c_j|dψ_j⟩ with c_j = 4 Σ_i W_ij G_ij ψ_i: all cotangent states in one
matrix product C = 4 (W ∘ G*) Ψ, then one adjoint sweep per sample
(``Simulator.state_vjp``). The projected kernel K_ab = exp(−γ/2 ‖r_a − r_b‖²) of the
one-qubit Bloch vectors r_{a,qk} = ⟨ψ_a|P_qk|ψ_a⟩ chains through
dr = Re⟨2 P ψ|dψ⟩ and ∂L/∂r_a = −2γ Σ_b W_ab K_ab (r_a − r_b).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qadl.backends.sim import Simulator
from qadl.learn.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from qadl.learn.kernels import bloch_vectors, feature_states, fidelity_gram, projected_gram
from qadl.learn.optimizers import make_optimizer

__all__ = [
    "AlignConfig",
    "AlignResult",
    "align_feature_map",
    "alignment",
    "alignment_gradient",
    "alignment_weights",
    "fidelity_cotangents",
    "projected_cotangents",
    "target_matrix",
]


def target_matrix(y: np.ndarray, num_classes: int) -> np.ndarray:
    """T_ij = 1 (same class) or −1/(C − 1) (different classes); yyᵀ for two classes."""
    y = np.asarray(y)
    same = y[:, None] == y[None, :]
    return np.where(same, 1.0, -1.0 / max(num_classes - 1, 1))


def alignment(gram: np.ndarray, target: np.ndarray) -> float:
    """⟨K, T⟩_F / (‖K‖_F ‖T‖_F)."""
    return float(np.vdot(gram, target) / (np.linalg.norm(gram) * np.linalg.norm(target)))


def alignment_weights(gram: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """(A, ∂A/∂K): the alignment and its gradient with respect to the kernel matrix."""
    nk, nt = np.linalg.norm(gram), np.linalg.norm(target)
    a = float(np.vdot(gram, target) / (nk * nt))
    return a, target / (nk * nt) - (a / nk**2) * gram


def fidelity_cotangents(states: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cotangent states C = 4 (W ∘ G*) Ψ of L(K) for the fidelity kernel (W symmetric)."""
    g = states.conj() @ states.T
    return 4.0 * ((weights * g.conj()) @ states)


def _apply_pauli(states: np.ndarray, num_qubits: int, q: int, axis: int) -> np.ndarray:
    """P_q ψ for every row (axis 0, 1, 2: X, Y, Z on qubit q; bit q of the index is qubit q)."""
    n = len(states)
    psi = states.reshape(n, 1 << (num_qubits - 1 - q), 2, 1 << q)
    out = np.empty_like(psi)
    if axis == 0:
        out[:, :, 0], out[:, :, 1] = psi[:, :, 1], psi[:, :, 0]
    elif axis == 1:
        out[:, :, 0], out[:, :, 1] = -1j * psi[:, :, 1], 1j * psi[:, :, 0]
    else:
        out[:, :, 0], out[:, :, 1] = psi[:, :, 0], -psi[:, :, 1]
    return out.reshape(states.shape)


def projected_cotangents(
    states: np.ndarray, num_qubits: int, gamma: float, weights: np.ndarray
) -> np.ndarray:
    """Cotangent states of L(K) for the projected kernel, through the Bloch vectors."""
    r = bloch_vectors(states, num_qubits)
    gram = projected_gram(r, gamma=gamma)
    wk = weights * gram
    d_r = -2.0 * gamma * (wk.sum(1)[:, None] * r - wk @ r)  # ∂L/∂r, (N, 3n)
    out = np.zeros_like(states)
    for q in range(num_qubits):
        for axis in range(3):
            out += (2.0 * d_r[:, 3 * q + axis])[:, None] * _apply_pauli(
                states, num_qubits, q, axis
            )
    return out


def _gram(
    states: np.ndarray, kind: str, num_qubits: int, gamma: float, memory: int = 256 << 20
) -> np.ndarray:
    if kind == "projected":
        return projected_gram(bloch_vectors(states, num_qubits), gamma=gamma, memory_bytes=memory)
    return fidelity_gram(states, memory_bytes=memory)


def alignment_gradient(
    sim: Simulator,
    theta: np.ndarray,
    x: np.ndarray,
    target: np.ndarray,
    *,
    kind: str = "fidelity",
    gamma: float = 1.0,
) -> tuple[float, np.ndarray]:
    """(A, dA/dθ) of the kernel of the samples ``x`` with the target matrix ``target``.

    N simulations, one Gram matrix, one complex matrix product for the cotangent states
    and one adjoint sweep per sample.
    """
    states = sim.states(theta, x=x)
    a, w = alignment_weights(_gram(states, kind, sim.num_qubits, gamma), target)
    if kind == "projected":
        cot = projected_cotangents(states, sim.num_qubits, gamma, w)
    else:
        cot = fidelity_cotangents(states, w)
    return a, np.asarray(sim.state_vjp(theta, x=x, cotangent_state=cot).theta)


@dataclass(frozen=True)
class AlignConfig:
    """Mini-batch alignment: optimizer (name, keyword arguments), epochs, batch, seed, the
    tile budget (bytes) of the whole-set kernel matrix recorded after every epoch, and
    where to checkpoint after every epoch (None: nowhere) and whether to resume there."""

    optimizer: str = "adam"
    optimizer_options: tuple[tuple[str, float], ...] = ()
    epochs: int = 10
    batch: int = 32
    seed: int = 0
    memory_bytes: int = 256 << 20
    checkpoint_dir: Path | None = None
    resume: bool = False


@dataclass(frozen=True)
class AlignResult:
    """Trained θ and the alignment on the whole training set: before training, then
    after every epoch (``history[0]`` is the initial θ's)."""

    theta: np.ndarray
    history: tuple[float, ...]


def align_feature_map(
    sim: Simulator,
    theta: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    config: AlignConfig,
    *,
    kind: str = "fidelity",
    gamma: float = 1.0,
    on_epoch: Callable[[int, float], None] | None = None,
) -> AlignResult:
    """Maximise the kernel-target alignment over θ by mini-batch gradient ascent.

    Every epoch visits the samples in an order drawn from ``seed``, in batches of
    ``config.batch`` (a last batch of one sample joins the one before it: the alignment
    of a single sample is constant). The alignment on the whole set is recorded after
    every epoch (``on_epoch(epoch, alignment)``). With ``config.checkpoint_dir`` θ, the
    optimizer and generator states and the history are saved after every epoch, and a
    resumed run continues bit for bit.

    Raises:
        CheckpointError: ``resume`` found a checkpoint that is unreadable, corrupt or of
            another alignment (other data, optimizer, batch, seed or kernel).
    """
    opt = make_optimizer(config.optimizer, **dict(config.optimizer_options))
    state = opt.init(theta)
    theta = np.array(theta, dtype=np.float64)
    rng = np.random.default_rng(config.seed)
    full_target = target_matrix(y, num_classes)
    fingerprint = repr((
        "kernel_alignment", config.optimizer, config.optimizer_options, config.batch,
        config.seed, kind, gamma, x.shape, theta.size,
    ))

    def whole() -> float:
        states = feature_states(sim.circuit, x, theta)
        gram = _gram(states, kind, sim.num_qubits, gamma, config.memory_bytes)
        return alignment(gram, full_target)

    done, history = 0, None
    if config.resume and config.checkpoint_dir is not None:
        ckpt = load_checkpoint(config.checkpoint_dir)
        if ckpt is not None:
            _check_resumable(ckpt, fingerprint, theta, state)
            done, theta, rng.bit_generator.state = ckpt.epoch, ckpt.theta, ckpt.rng_state
            state = {k: np.array(v) for k, v in ckpt.opt_state.items()}
            history = [float(a) for a in ckpt.history["alignment"]]
    if history is None:
        history = [whole()]
    size = min(config.batch, len(x))
    for epoch in range(done + 1, config.epochs + 1):
        order = rng.permutation(len(x))
        starts = list(range(0, len(x), size))
        if len(starts) > 1 and len(x) - starts[-1] < 2:
            starts.pop()
        for k, start in enumerate(starts):
            stop = starts[k + 1] if k + 1 < len(starts) else len(x)
            idx = order[start:stop]
            target = target_matrix(y[idx], num_classes)
            _, grad = alignment_gradient(sim, theta, x[idx], target, kind=kind, gamma=gamma)
            theta, state = opt.step(state, theta, -grad)
        history.append(whole())
        if config.checkpoint_dir is not None:
            save_checkpoint(config.checkpoint_dir, Checkpoint(
                epoch, theta, state, rng.bit_generator.state,
                {"alignment": np.array(history)}, {"fingerprint": fingerprint},
            ))
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    return AlignResult(theta, tuple(history))


def _check_resumable(ckpt: Checkpoint, fingerprint: str, theta: np.ndarray, state) -> None:
    """Refuse a checkpoint of another alignment, or one whose arrays do not fit."""
    if ckpt.extra.get("fingerprint") != fingerprint:
        raise CheckpointError(
            "the checkpoint was written by another alignment (other data, optimizer, batch, "
            "seed or kernel)"
        )
    history = ckpt.history.get("alignment")
    fits = (
        ckpt.theta.shape == theta.shape
        and np.all(np.isfinite(ckpt.theta))
        and set(ckpt.opt_state) == set(state)
        and all(np.shape(ckpt.opt_state[k]) == np.shape(v) for k, v in state.items())
        and history is not None
        and history.shape == (ckpt.epoch + 1,)
    )
    if not fits:
        raise CheckpointError("the checkpoint is corrupt: its arrays do not fit this alignment")
