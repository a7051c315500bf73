"""Attacks on quantum data: a local-rotation perturbation unitary, bounded in angle and fidelity.

The adversary prepends RX(δ₃q)·RY(δ₃q₊₁)·RZ(δ₃q₊₂) on every qubit q to the model circuit
(the δ symbols of the IR), so the compiled simulator's adjoint gradients with respect to
δ drive the attack, and a second circuit holding only those rotations gives the
adversarial input states whose fidelity to the clean ones is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from qadl.adversary.attacks import batch_done, stop_mask
from qadl.adversary.config import QuantumAttackConfig
from qadl.adversary.norms import perturbation_norms, signed
from qadl.adversary.result import AttackResult
from qadl.ir import expr as E
from qadl.ir.circuit import Circuit, Op
from qadl.ir.gates import Gate

__all__ = [
    "LocalRotationAdversary",
    "fidelities",
    "fubini_study_metric",
    "local_rotation_adversary",
    "local_rotations",
    "perturbed_circuit",
    "quantum_attack",
    "quantum_attack_sweep",
]

_AXES = (Gate.RX, Gate.RY, Gate.RZ)


def local_rotations(num_qubits: int, offset: int = 0) -> tuple[Op, ...]:
    """RX, RY, RZ on each qubit q with angles ``delta[offset + 3q + k]`` (k = 0, 1, 2)."""
    return tuple(
        Op(gate, (q,), (E.delta(offset + 3 * q + k),), tags=frozenset({"adversary"}))
        for q in range(num_qubits)
        for k, gate in enumerate(_AXES)
    )


def perturbed_circuit(circuit: Circuit) -> Circuit:
    """The model circuit with the local-rotation perturbation unitary prepended.

    The new δ symbols follow any the circuit already declares (those stay at 0).

    Raises:
        ValueError: if the circuit does not take an input state.
    """
    if not circuit.state_input:
        raise ValueError("local-rotation attacks need a circuit that takes an input state")
    n, off = circuit.num_qubits, circuit.num_deltas
    return replace(
        circuit,
        ops=local_rotations(n, off) + circuit.ops,
        num_deltas=off + 3 * n,
        name=f"{circuit.name}+adv",
    )


def rotation_circuit(num_qubits: int) -> Circuit:
    """Only the perturbation unitary, acting on an input state (for adversarial states)."""
    return Circuit(
        num_qubits,
        local_rotations(num_qubits),
        num_deltas=3 * num_qubits,
        state_input=True,
        name="local-rotations",
    )


def fidelities(states: np.ndarray, states_adv: np.ndarray) -> np.ndarray:
    """|⟨ψ_b|ψ'_b⟩|² row by row."""
    return np.abs(np.einsum("bi,bi->b", np.conj(states), states_adv)) ** 2


@dataclass(frozen=True)
class LocalRotationAdversary:
    """A model under a local-rotation adversary: the classifier on the perturbed circuit.

    Build with ``local_rotation_adversary``.
    """

    classifier: Any
    """``Classifier`` over the perturbed circuit (δ = 0 gives the clean model)."""
    rotations: Any
    """Simulator of the rotations alone, mapping (state, δ) to the adversarial state."""
    num_qubits: int
    offset: int
    """Index of the first perturbation symbol in the model's δ vector."""

    @property
    def num_deltas(self) -> int:
        """Length of the δ vector of the perturbed model."""
        return self.offset + 3 * self.num_qubits

    def full_delta(self, angles: np.ndarray) -> np.ndarray:
        """The model's δ vectors with the rotation angles in place (other δ at 0)."""
        out = np.zeros((angles.shape[0], self.num_deltas))
        out[:, self.offset :] = angles
        return out

    def predict_proba(
        self, theta: np.ndarray, states: np.ndarray, angles: np.ndarray
    ) -> np.ndarray:
        """Class probabilities of the perturbed states."""
        return self.classifier.predict_proba(theta, state=states, delta=self.full_delta(angles))

    def loss_and_angle_grad(
        self,
        theta: np.ndarray,
        states: np.ndarray,
        angles: np.ndarray,
        labels: np.ndarray,
        loss: str,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample losses and per-sample gradients with respect to the rotation angles."""
        losses, grads = self.classifier.loss_and_grads(
            theta, labels, state=states, delta=self.full_delta(angles), loss=loss
        )
        return np.asarray(losses), np.asarray(grads.delta)[:, self.offset :] * len(labels)

    def adversarial_states(self, states: np.ndarray, angles: np.ndarray) -> np.ndarray:
        """R(δ)|ψ⟩ for each sample."""
        return np.asarray(self.rotations.states(np.zeros(0), delta=angles, state=states))


def local_rotation_adversary(
    circuit: Circuit, *, scale: float = 1.0, simulator: Any = None
) -> LocalRotationAdversary:
    """Compile the perturbed model and the rotation-only circuit.

    Args:
        circuit: the model circuit (state input, with a readout).
        scale: softmax scale of the ``Classifier`` (multi-observable readouts).
        simulator: the simulator class (default ``qadl.backends.sim.Simulator``).
    """
    from qadl.learn.classifier import Classifier

    if simulator is None:
        from qadl.backends.sim import Simulator as simulator
    perturbed = perturbed_circuit(circuit)
    return LocalRotationAdversary(
        classifier=Classifier(simulator(perturbed), circuit.readout, scale=scale),
        rotations=simulator(rotation_circuit(circuit.num_qubits)),
        num_qubits=circuit.num_qubits,
        offset=circuit.num_deltas,
    )


@dataclass
class _Ascent:
    """Mutable optimiser memory of one attack run (Adam moments per sample)."""

    m: np.ndarray
    v: np.ndarray
    t: int = 0


def _step(
    grad: np.ndarray, idx: np.ndarray, opt: _Ascent, config: QuantumAttackConfig, alpha: float
) -> np.ndarray:
    if config.optimizer == "sign":
        return alpha * signed(grad)
    opt.m[idx] = 0.9 * opt.m[idx] + 0.1 * grad
    opt.v[idx] = 0.999 * opt.v[idx] + 0.001 * grad**2
    m_hat, v_hat = opt.m[idx] / (1 - 0.9**opt.t), opt.v[idx] / (1 - 0.999**opt.t)
    return alpha * m_hat / (np.sqrt(v_hat) + 1e-8)


def _within_fidelity(
    adv: LocalRotationAdversary,
    states: np.ndarray,
    old: np.ndarray,
    new: np.ndarray,
    f_min: float | None,
    halvings: int = 6,
) -> tuple[np.ndarray, np.ndarray]:
    """Backtrack steps that push fidelity below ``f_min``: halve them, then undo them.

    Returns:
        The accepted angles and a mask of samples whose step had to be undone (they stop).
    """
    if f_min is None:
        return new, np.zeros(len(new), dtype=bool)
    accepted = new.copy()
    bad = fidelities(states, adv.adversarial_states(states, accepted)) < f_min
    for _ in range(halvings):
        if not bad.any():
            break
        accepted[bad] = 0.5 * (accepted[bad] + old[bad])
        bad[bad] = (
            fidelities(states[bad], adv.adversarial_states(states[bad], accepted[bad])) < f_min
        )
    accepted[bad] = old[bad]
    return accepted, bad


def _retract_to_fidelity(
    adv: LocalRotationAdversary,
    states: np.ndarray,
    angles: np.ndarray,
    f_min: float | None,
    iterations: int = 5,
) -> np.ndarray:
    """Scale each angle vector towards 0 until |⟨ψ|R(δ)ψ⟩|² ≥ ``f_min``.

    δ = 0 is always feasible and scaling towards it never leaves the angle box, so this
    maps any point of the box into the feasible set; a step that leaves the set is pulled
    back onto the fidelity surface and keeps its component along it. The scale is found
    in a bracket [feasible, infeasible] by interpolating the infidelity as quadratic in
    the scale (exact for small angles), so a few evaluations land on the surface.
    """
    if f_min is None:
        return angles
    infidelity = 1.0 - fidelities(states, adv.adversarial_states(states, angles))
    bad = np.flatnonzero(infidelity > 1.0 - f_min)
    if bad.size == 0:
        return angles
    budget = 1.0 - f_min
    lo, hi, u_hi = np.zeros(bad.size), np.ones(bad.size), infidelity[bad]
    for _ in range(iterations):
        guess = hi * np.sqrt(budget / u_hi)
        width = hi - lo
        trial = np.clip(guess, lo + 0.05 * width, hi - 0.05 * width)
        u = 1.0 - fidelities(
            states[bad], adv.adversarial_states(states[bad], angles[bad] * trial[:, None])
        )
        ok = u <= budget
        lo = np.where(ok, trial, lo)
        hi, u_hi = np.where(ok, hi, trial), np.where(ok, u_hi, u)
    out = angles.copy()
    out[bad] = angles[bad] * lo[:, None]
    return out


def _pauli_states(phi: np.ndarray, num_qubits: int) -> np.ndarray:
    """``σ_a^q |φ⟩`` for every qubit q and a = x, y, z: (B, 3n, 2ⁿ) (little-endian bits)."""
    index = np.arange(phi.shape[1])
    out = np.empty((phi.shape[0], 3 * num_qubits, phi.shape[1]), dtype=complex)
    for q in range(num_qubits):
        flip = index ^ (1 << q)
        sign = 1.0 - 2.0 * ((index >> q) & 1)
        out[:, 3 * q] = phi[:, flip]
        out[:, 3 * q + 1] = 1j * sign[flip] * phi[:, flip]  # Y = i·X·Z
        out[:, 3 * q + 2] = sign * phi
    return out


def _generator_axes(angles: np.ndarray, num_qubits: int) -> np.ndarray:
    """Unit Bloch vectors n with ``∂R/∂δₖ · R⁻¹ = −(i/2)·n·σ`` on its qubit: (B, 3n, 3).

    On qubit q, ``R_q = RZ(c)·RY(b)·RX(a)`` (RX acts first), so the generators pulled
    back through the later rotations are ``RZ·RY·X``, ``RZ·Y`` and ``Z``, i.e. the x axis
    rotated by b about y and then by c about z, the y axis rotated by c, and z.
    """
    b, c = angles[:, 1::3], angles[:, 2::3]
    out = np.zeros((angles.shape[0], num_qubits, 3, 3))
    out[..., 0, :] = np.stack([np.cos(c) * np.cos(b), np.sin(c) * np.cos(b), -np.sin(b)], axis=-1)
    out[..., 1, :] = np.stack([-np.sin(c), np.cos(c), np.zeros_like(c)], axis=-1)
    out[..., 2, 2] = 1.0
    return out.reshape(angles.shape[0], 3 * num_qubits, 3)


def fubini_study_metric(
    adv: LocalRotationAdversary, states: np.ndarray, angles: np.ndarray
) -> np.ndarray:
    """Per-sample metric ``Re(⟨∂ₖφ|∂ₗφ⟩ − ⟨∂ₖφ|φ⟩⟨φ|∂ₗφ⟩)`` of ``φ = R(δ)ψ``, shape (B, D, D).

    Each ``∂ₖφ = −(i/2)(nₖ·σ)φ`` on its qubit, so the metric is
    ``¼ nₖᵀ C nₗ`` with C the covariance ``Re⟨σ_a σ_b⟩ − ⟨σ_a⟩⟨σ_b⟩`` of single-qubit
    Paulis in φ: one simulation of φ gives it. ``dδᵀ·metric·dδ`` is the infidelity
    ``1 − |⟨φ|φ(δ + dδ)⟩|²`` to second order.
    """
    b, n = angles.shape[0], adv.num_qubits
    phi = adv.adversarial_states(states, angles)
    paulis = _pauli_states(phi, n)
    stacked = np.concatenate([paulis.real, paulis.imag], axis=2)  # Re⟨u|v⟩ as a real product
    second = stacked @ stacked.transpose(0, 2, 1)
    first = np.einsum("bi,bki->bk", phi.conj(), paulis).real
    covariance = second - first[:, :, None] * first[:, None, :]
    axes = _generator_axes(angles, n)
    blocks = np.zeros((b, 3 * n, 3 * n))
    for q in range(n):
        blocks[:, 3 * q : 3 * q + 3, 3 * q : 3 * q + 3] = axes[:, 3 * q : 3 * q + 3]
    return 0.25 * blocks @ covariance @ blocks.transpose(0, 2, 1)


def _natural_step(
    adv: LocalRotationAdversary,
    states: np.ndarray,
    angles: np.ndarray,
    grad: np.ndarray,
    length: float,
) -> np.ndarray:
    """The ascent direction ``metric⁻¹·grad``, scaled to Fubini–Study length ``length``.

    It raises the loss the most per unit of infidelity spent (to first order). A small
    ridge keeps directions that do not move the state (zero variance) out of the step.
    """
    metric = fubini_study_metric(adv, states, angles)
    ridge = 1e-3 * np.trace(metric, axis1=1, axis2=2)[:, None, None] / metric.shape[1] + 1e-12
    direction = np.linalg.solve(metric + ridge * np.eye(metric.shape[1]), grad[:, :, None])[..., 0]
    norm = np.sqrt(np.maximum(np.einsum("bk,bkl,bl->b", direction, metric, direction), 0.0))
    return length * direction / (norm[:, None] + 1e-12)


def _initial_angles(
    adversary: LocalRotationAdversary,
    states: np.ndarray,
    config: QuantumAttackConfig,
    eps: float,
    axes: np.ndarray,
) -> np.ndarray:
    """Zero angles, or a uniform random start in the box pulled back above the fidelity floor."""
    shape = (states.shape[0], 3 * adversary.num_qubits)
    if not config.random_start:
        return np.zeros(shape)
    start = np.random.default_rng(config.seed).uniform(-eps, eps, shape) * axes
    return _retract_to_fidelity(adversary, states, start, config.fidelity_min)


def _stopped(
    adversary: LocalRotationAdversary,
    theta: np.ndarray,
    states: np.ndarray,
    angles: np.ndarray,
    labels: np.ndarray,
    active: np.ndarray,
    config: QuantumAttackConfig,
) -> np.ndarray:
    """Mask (over the whole batch) of active samples that met the attack's stopping rule."""
    out = np.zeros(len(labels), dtype=bool)
    idx = np.flatnonzero(active)
    if idx.size == 0:
        return out
    probs = adversary.predict_proba(theta, states[idx], angles[idx])
    out[idx] = stop_mask(probs, labels[idx], config)
    return out


def _ascend(
    adversary: LocalRotationAdversary,
    theta: np.ndarray,
    states: np.ndarray,
    labels: np.ndarray,
    angles: np.ndarray,
    config: QuantumAttackConfig,
    eps: float,
    axes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the attack's steps, updating ``angles`` in place; per-sample steps and losses."""
    sign = -1.0 if config.targeted else 1.0
    b, d = angles.shape
    active, steps = np.ones(b, dtype=bool), np.zeros(b, dtype=int)
    rows: list[np.ndarray] = []  # one per step taken: `steps` is only a cap
    opt = _Ascent(np.zeros((b, d)), np.zeros((b, d)))
    for _ in range(config.steps):
        if config.until_success_rate is not None and batch_done(
            adversary.predict_proba(theta, states, angles), labels, config
        ):
            break
        if config.early_stop or config.until_confidence is not None:
            active &= ~_stopped(adversary, theta, states, angles, labels, active, config)
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        loss, grad = adversary.loss_and_angle_grad(
            theta, states[idx], angles[idx], labels[idx], config.loss
        )
        rows.append(np.full(b, np.nan))
        rows[-1][idx] = sign * loss
        ascent = sign * grad * axes
        if config.optimizer == "natural":
            step = _natural_step(adversary, states[idx], angles[idx], ascent, config.alpha(eps))
            angles[idx] = _retract_to_fidelity(
                adversary,
                states[idx],
                np.clip(angles[idx] + step * axes, -eps, eps),
                config.fidelity_min,
            )
        else:
            opt.t += 1
            step = _step(ascent, idx, opt, config, config.alpha(eps))
            angles[idx], undone = _within_fidelity(
                adversary,
                states[idx],
                angles[idx],
                np.clip(angles[idx] + step, -eps, eps),
                config.fidelity_min,
            )
            active[idx[undone]] = False
        steps[idx] += 1
    return steps, np.array(rows).reshape(len(rows), b)


def quantum_attack(
    adversary: LocalRotationAdversary,
    theta: np.ndarray,
    batch: Any,
    config: QuantumAttackConfig,
    *,
    epsilon: float | None = None,
) -> AttackResult:
    """Local-rotation attack on a batch of input states at one angle bound.

    Args:
        adversary: from ``local_rotation_adversary(model_circuit)``.
        theta: the model parameters.
        batch: a ``Dataset`` with ``states``.
        config: the attack; ``epsilon`` bounds every |δ_i|.
        epsilon: this run's bound (default: the first of ``config.epsilons``).

    Returns:
        Adversarial states, angles, per-sample fidelity |⟨ψ|ψ_adv⟩|², and the outcome.
        ``linf``/``l2`` are norms of the angle vector δ.
    """
    eps = config.epsilons[0] if epsilon is None else float(epsilon)
    states = np.asarray(batch.states, dtype=complex)
    y = np.asarray(batch.y, dtype=int)
    labels = np.full_like(y, config.target) if config.targeted else y
    axes = config.axis_mask(adversary.num_qubits)
    angles = _initial_angles(adversary, states, config, eps, axes)
    # The small BLAS products of the natural step, interleaved with Numba's parallel
    # kernels, oversubscribe the cores when BLAS is threaded (2x slower on 2 cores).
    with threadpool_limits(1, user_api="blas"):
        steps, trace = _ascend(adversary, theta, states, labels, angles, config, eps, axes)
    return _score(adversary, theta, states, y, labels, config, eps, angles, steps, trace)


def _score(
    adversary: LocalRotationAdversary,
    theta: np.ndarray,
    states: np.ndarray,
    y: np.ndarray,
    labels: np.ndarray,
    config: QuantumAttackConfig,
    eps: float,
    angles: np.ndarray,
    steps: np.ndarray,
    trace: np.ndarray,
) -> AttackResult:
    probs_adv = adversary.predict_proba(theta, states, angles)
    pred_clean = adversary.predict_proba(theta, states, np.zeros_like(angles)).argmax(axis=1)
    pred_adv = probs_adv.argmax(axis=1)
    states_adv = adversary.adversarial_states(states, angles)
    linf, l2 = perturbation_norms(angles)
    return AttackResult(
        method=config.describe(),
        epsilon=eps,
        y=y,
        pred_clean=pred_clean,
        pred_adv=pred_adv,
        probs_adv=probs_adv,
        success=pred_adv == labels if config.targeted else pred_adv != labels,
        linf=linf,
        l2=l2,
        steps=steps,
        states_adv=states_adv,
        delta=angles,
        fidelity=fidelities(states, states_adv),
        objective_trace=trace,
    )


def quantum_attack_sweep(
    adversary: LocalRotationAdversary, theta: np.ndarray, batch: Any, config: QuantumAttackConfig
) -> tuple[AttackResult, ...]:
    """``quantum_attack`` at every angle bound of ``config.epsilons``."""
    return tuple(
        quantum_attack(adversary, theta, batch, config, epsilon=e) for e in config.epsilons
    )
