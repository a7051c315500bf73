"""Monte-Carlo wave-function trajectories: noisy simulation on statevectors, beyond density sizes.

Each trajectory applies the gates and, after each gate, one Kraus branch of every
channel chosen with its Born probability ``‖K_r ψ‖²`` (then renormalises). The mean of
any linear readout over trajectories is an unbiased estimate of its density-matrix
value; its standard error is reported by ``estimate``.

Gradients: with the branches of a trajectory held fixed, ``ψ_t = M_t ψ_0`` where
``M_t`` is the product of gates and scaled Kraus operators ``K_r/√p_r``. Because the
sampling density of a branch sequence is ``p_seq = ‖M̃_t ψ_0‖²`` (unscaled ``M̃``),
``∇ E[f] = ∇ Σ_seq ⟨ψ̃|O|ψ̃⟩ = E_seq[∇⟨ψ̃|O|ψ̃⟩ / p_seq]``, which is the adjoint gradient of
the normalised trajectory with the scales ``1/√p_r`` treated as constants. So the
trajectory mean of those gradients is unbiased for every channel kind, not only for
unitary mixtures. ``vjp_after`` (a cotangent computed from the outputs, as a training
step's loss needs) samples each trajectory once: the cotangent comes from the same
trajectories' means, so the result is the gradient of the loss of that sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qadl.backends.sim import channels as ch
from qadl.backends.sim import noise_program as npg
from qadl.backends.sim import noisy_readout as nro
from qadl.backends.sim.density import NOISELESS, batch_inputs
from qadl.backends.sim.gradients import Gradients, outputs_then_vjp
from qadl.ir.circuit import Circuit
from qadl.ir.target import NoiseModel

__all__ = ["TrajectorySimulator"]

_I64 = np.int64


@dataclass(frozen=True)
class _AdjointRun:
    """One ``vjp`` call's inputs, per-sample gate data, and the sums its sweeps add into."""

    batch: int
    theta: np.ndarray
    x: np.ndarray
    delta: np.ndarray
    angles: np.ndarray
    user_state: bool
    state: np.ndarray | None
    umats: np.ndarray
    derivatives: tuple
    outputs: np.ndarray
    slot_grads: np.ndarray
    g_state: np.ndarray | None


class TrajectorySimulator:
    """Noisy simulation by averaging ``trajectories`` sampled pure states per batch sample.

    Args:
        circuit: The IR circuit.
        noise: Channels after every gate, readout error, shots.
        trajectories: Trajectories per batch sample.
        seed: Seed of the generator for branch choices (and shot sampling).
        shots: Overrides ``noise.shots`` (0 means exact readout of each trajectory).
        max_chunk_bytes: Memory for the trajectory states of one chunk.
    """

    def __init__(
        self,
        circuit: Circuit,
        noise: NoiseModel = NOISELESS,
        *,
        trajectories: int = 500,
        seed: int = 0,
        shots: int | None = None,
        max_chunk_bytes: int = 1 << 28,
    ):
        self.circuit = circuit
        self.noise = noise
        self.trajectories = int(trajectories)
        self.shots = noise.shots if shots is None else (shots or None)
        self.program = npg.compile_noise_program(circuit, noise)
        self._rng = np.random.default_rng(seed)
        self._max_chunk_bytes = max_chunk_bytes
        self._layout()

    num_qubits = property(lambda self: self.circuit.num_qubits, doc="Number of qubits.")
    num_params = property(lambda self: self.circuit.num_params, doc="Length of θ.")
    num_features = property(lambda self: self.circuit.num_features, doc="Features per sample.")
    num_deltas = property(
        lambda self: self.circuit.num_deltas, doc="Perturbation symbols per sample."
    )
    num_outputs = property(
        lambda self: self.circuit.readout.num_outputs if self.circuit.readout else 0,
        doc="Outputs per sample.",
    )

    # -- public interface -------------------------------------------------------------------
    def states(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Final trajectory states ``(B, T, 2^n)`` (each normalised)."""
        batch, theta, x, delta, state = batch_inputs(theta, x, delta, state, self.circuit)
        angles = self.program.angle_values(theta, x, delta, batch)
        umats = self._gate_mats(angles, batch)
        state = self._prepared(state, angles)
        out = np.empty((batch, self.trajectories, 1 << self.num_qubits), dtype=complex)
        for rows in self._chunks(batch):
            psi, _, _ = self._sample(umats, rows, state)
            out.reshape(batch * self.trajectories, -1)[rows] = psi
        return out

    def density(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Trajectory estimate of the density matrices ``(B, 2^n, 2^n)`` (small registers only)."""
        psi = self.states(theta, x, delta, state)
        return np.einsum("bti,btj->bij", psi, psi.conj()) / self.trajectories

    def estimate(self, theta, x=None, delta=None, state=None) -> tuple[np.ndarray, np.ndarray]:
        """Exact-readout trajectory means ``(B, K)`` and their standard errors ``(B, K)``."""
        batch, theta, x, delta, state = batch_inputs(theta, x, delta, state, self.circuit)
        angles = self.program.angle_values(theta, x, delta, batch)
        umats = self._gate_mats(angles, batch)
        state = self._prepared(state, angles)
        per_traj = np.empty((batch * self.trajectories, self.num_outputs))
        for rows in self._chunks(batch):
            psi, _, _ = self._sample(umats, rows, state)
            per_traj[rows] = nro.pure_outputs(
                psi, self._readout(), self.num_qubits, self.noise.readout_error
            )
        per_traj = per_traj.reshape(batch, self.trajectories, -1)
        stderr = (
            per_traj.std(axis=1, ddof=1) / np.sqrt(self.trajectories)
            if self.trajectories > 1
            else np.full(per_traj.shape[::2], np.inf)
        )
        return per_traj.mean(axis=1), stderr

    def outputs(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Readout values ``(B, K)``: trajectory means, then shot sampling when ``shots`` is set."""
        mean, _ = self.estimate(theta, x, delta, state)
        return self._with_shots(mean)

    def vjp(
        self, theta, x=None, delta=None, state=None, *, cotangent, method: str = "adjoint"
    ) -> Gradients:
        """Unbiased trajectory estimate of ``cotangentᵀ · ∂outputs`` (see the module docstring).

        Args:
            theta, x, delta, state: As in ``outputs``.
            cotangent: ``(B, K)`` ``dL/d(outputs)``.
            method: Only ``"adjoint"``.

        Returns:
            Gradients whose ``outputs`` are the trajectory means of this call's sample.
        """
        run = self._adjoint_run(theta, x, delta, state, method)
        cot = np.asarray(cotangent, dtype=float).reshape(run.batch, -1)
        for rows in self._chunks(run.batch):
            self._sweep(run, rows, self._sample(run.umats, rows, run.state), cot)
        return self._gradients(run)

    def vjp_after(
        self, theta, x=None, delta=None, state=None, *, seed, method: str = "adjoint"
    ) -> tuple[Gradients, object]:
        """``vjp`` with ``seed(outputs) = (cotangent, aux)``, each trajectory sampled once.

        The outputs ``seed`` gets (with shot noise when ``shots`` is set, drawn as
        ``outputs`` draws it) are the means of the very trajectories whose adjoint
        sweeps give the gradient: it is the exact gradient of the loss of this sample
        of trajectories, as a training step on the sampled loss uses it. Where the
        batch's trajectory states do not fit ``max_chunk_bytes`` at once, ``outputs``
        and ``vjp`` sample separately (two independent samples). Returns
        ``(Gradients, aux)``.
        """
        chunks = list(self._chunks(batch_inputs(theta, x, delta, state, self.circuit)[0]))
        if len(chunks) > 1:
            return outputs_then_vjp(self, theta, x, delta, state, seed, method)
        run = self._adjoint_run(theta, x, delta, state, method)
        (rows,) = chunks
        sampled = self._sample(run.umats, rows, run.state)
        means = np.zeros((run.batch, self.num_outputs))
        np.add.at(means, rows // self.trajectories, self._per_trajectory(sampled[0]))
        cot, aux = seed(self._with_shots(means / self.trajectories))
        cot = np.asarray(cot, dtype=float).reshape(run.batch, -1)
        self._sweep(run, rows, sampled, cot)
        return self._gradients(run), aux

    # -- adjoint sweeps -----------------------------------------------------------------
    def _adjoint_run(self, theta, x, delta, state, method: str) -> _AdjointRun:
        """The batch's angles, gate matrices and derivatives, and zeroed sums."""
        if method != "adjoint":
            raise ValueError("trajectory gradients support method='adjoint' only")
        batch, theta, x, delta, state = batch_inputs(theta, x, delta, state, self.circuit)
        angles = self.program.angle_values(theta, x, delta, batch)
        user_state = state is not None
        state = self._prepared(state, angles)
        return _AdjointRun(
            batch, theta, x, delta, angles, user_state, state,
            umats=self._gate_mats(angles, batch),
            derivatives=self._ext_derivatives(angles, batch),
            outputs=np.zeros((batch, self.num_outputs)),
            slot_grads=np.zeros((batch, max(self.program.num_slots, 1))),
            g_state=(np.zeros((batch, 1 << self.num_qubits), dtype=complex)
                     if state is not None else None),
        )

    def _per_trajectory(self, psi: np.ndarray) -> np.ndarray:
        return nro.pure_outputs(psi, self._readout(), self.num_qubits, self.noise.readout_error)

    def _sweep(self, run: _AdjointRun, rows: np.ndarray, sampled, cot: np.ndarray) -> None:
        """Adjoint sweeps of the sampled trajectories ``rows``: their outputs, slot
        gradients and input-state gradients added into ``run``'s sums."""
        from qadl.backends.sim.noise_kernels import density_adjoint

        psi, chosen, scales = sampled
        n_traj = self.trajectories
        samples = rows // n_traj
        np.add.at(run.outputs, samples, self._per_trajectory(psi) / n_traj)
        lam = nro.pure_cotangent(psi, cot[samples] / n_traj, self._readout(), self.num_qubits,
                                 self.noise.readout_error)
        mats, hmats = self._ext_mats(run.umats, samples, chosen, scales)
        dmats, dslot, dmoffs, dstart = run.derivatives
        grads = np.zeros((rows.size, run.slot_grads.shape[1]))
        psi0 = self._initial(run.state, samples)
        density_adjoint(
            psi0, lam, mats, hmats, np.ascontiguousarray(dmats[samples]), self._e_moffs,
            self._e_pos, self._e_poffs, self._e_nbits, dslot, dmoffs, dstart, grads,
            np.empty_like(psi0), self._every,
        )
        np.add.at(run.slot_grads, samples, grads)
        if run.g_state is not None:
            np.add.at(run.g_state, samples, lam)

    def _gradients(self, run: _AdjointRun) -> Gradients:
        slot_grads = run.slot_grads
        if self.program.amplitude_ops:
            slot_grads = slot_grads + npg.amplitude_slot_grads(self.program, run.angles,
                                                               run.g_state)
        g_theta, g_x, g_delta = self.program.chain(
            slot_grads[:, : self.program.num_slots], run.theta, run.x, run.delta
        )
        return Gradients(run.outputs, g_theta, g_x, g_delta,
                         run.g_state if run.user_state else None)

    def _with_shots(self, mean: np.ndarray) -> np.ndarray:
        """``mean`` readout values, with shot noise when ``shots`` is set."""
        if not self.shots:
            return mean
        if self._readout().kind == "probs" and self._readout().num_classes < (
            1 << len(self._readout().qubits)
        ):
            rest = np.clip(1.0 - mean.sum(axis=1, keepdims=True), 0.0, None)
            return ch.sample_counts(np.hstack([mean, rest]), self.shots, self._rng)[
                :, : mean.shape[1]
            ]
        if self._readout().kind == "probs":
            return ch.sample_counts(mean, self.shots, self._rng)
        return ch.sample_expvals(mean, self.shots, self._rng)

    # -- layout -----------------------------------------------------------------------------
    def _readout(self):
        if self.circuit.readout is None:
            raise ValueError("circuit has no readout")
        return self.circuit.readout

    def _layout(self) -> None:
        """Flat layouts of the gates, of the channel applications, and of the extended op list."""
        prog = self.program
        moffs, poffs, nbits, pos = [], [], [], []
        cstart, kstart, koffs, cpos, cpoffs, cbits, kraus = [0], [0], [], [], [], [], []
        kprob: list[float] = []
        e_moffs, e_poffs, e_nbits, e_pos, self._e_gate_index, self._e_chan_index = (
            [],
            [],
            [],
            [],
            [],
            [],
        )
        total = ktotal = etotal = 0
        for j in range(prog.num_ops):
            qs = prog.qubits[j]
            moffs.append(total)
            total += 4 ** len(qs)
            poffs.append(len(pos))
            nbits.append(len(qs))
            pos.extend(qs)
            self._e_gate_index.append(len(e_moffs))
            e_moffs.append(etotal)
            etotal += 4 ** len(qs)
            e_poffs.append(len(e_pos))
            e_nbits.append(len(qs))
            e_pos.extend(qs)
            for channel, cq in prog.noise_channels[j]:
                cpoffs.append(len(cpos))
                cbits.append(len(cq))
                cpos.extend(cq)
                probs = channel.probs if channel.unitary_mixture else -np.ones(len(channel.kraus))
                for k, q in zip(channel.kraus, probs, strict=True):
                    koffs.append(ktotal)
                    ktotal += k.size
                    kraus.append(k.reshape(-1))
                    kprob.append(float(q))
                kstart.append(len(koffs))
                self._e_chan_index.append(len(e_moffs))
                e_moffs.append(etotal)
                etotal += 4 ** len(cq)
                e_poffs.append(len(e_pos))
                e_nbits.append(len(cq))
                e_pos.extend(cq)
            cstart.append(len(cpoffs))
        as_int = lambda v: np.asarray(v, dtype=_I64)  # noqa: E731
        self._moffs, self._poffs, self._nbits, self._pos = map(as_int, (moffs, poffs, nbits, pos))
        self._total = total
        self._cstart, self._kstart, self._koffs = map(as_int, (cstart, kstart, koffs))
        self._cpos, self._cpoffs, self._cbits = map(as_int, (cpos, cpoffs, cbits))
        self._kraus = np.concatenate(kraus) if kraus else np.zeros(1, dtype=complex)
        self._kprob = np.asarray(kprob if kprob else [-1.0])
        self._e_moffs, self._e_poffs, self._e_nbits, self._e_pos = map(
            as_int, (e_moffs, e_poffs, e_nbits, e_pos)
        )
        self._e_total = etotal
        self._every = max(1, int(np.sqrt(max(len(e_moffs), 1))))

    def _chunks(self, batch: int):
        """Row index ranges (row = sample·T + trajectory) that fit ``max_chunk_bytes``."""
        per_row = 16 * (1 << self.num_qubits) * 3
        size = max(1, self._max_chunk_bytes // per_row)
        total = batch * self.trajectories
        for lo in range(0, total, size):
            yield np.arange(lo, min(total, lo + size))

    def _prepared(self, state, angles: np.ndarray):
        """The input states, or the amplitude-encoded ones when the circuit prepares them."""
        if state is None and self.program.amplitude_ops:
            return npg.initial_state(self.program, angles)
        return state

    def _initial(self, state, samples: np.ndarray) -> np.ndarray:
        if state is None:
            psi = np.zeros((samples.size, 1 << self.num_qubits), dtype=complex)
            psi[:, 0] = 1.0
            return psi
        return np.ascontiguousarray(state[samples])

    def _gate_mats(self, angles: np.ndarray, batch: int) -> np.ndarray:
        """``(B, T)`` flat gate matrices."""
        mats = np.empty((batch, self._total), dtype=complex)
        prog = self.program
        for j in range(prog.num_ops):
            u = npg.gate_matrices(prog.gates[j], angles[:, prog.slots(j)])
            mats[:, self._moffs[j] : self._moffs[j] + u.shape[1] ** 2] = np.asarray(u).reshape(
                batch, -1
            )
        return mats

    def _sample(self, umats: np.ndarray, rows: np.ndarray, state):
        """Run trajectories ``rows``; returns final states, chosen branches and their scales."""
        from qadl.backends.sim.noise_kernels import trajectory_forward

        samples = rows // self.trajectories
        psi = self._initial(state, samples)
        num_c = max(len(self._cpoffs), 1)
        rand = self._rng.random((rows.size, num_c))
        chosen = np.zeros((rows.size, num_c), dtype=_I64)
        scales = np.ones((rows.size, num_c))
        trajectory_forward(
            psi,
            umats,
            samples.astype(_I64),
            self._moffs,
            self._pos,
            self._poffs,
            self._nbits,
            self._cstart,
            self._kstart,
            self._kraus,
            self._koffs,
            self._cpos,
            self._cpoffs,
            self._cbits,
            self._kprob,
            rand,
            chosen,
            scales,
        )
        return psi, chosen, scales

    def _ext_mats(self, umats, samples, chosen, scales):
        """Per-row matrices of the extended op list (gates and chosen, scaled Kraus operators)."""
        rows = samples.size
        mats = np.empty((rows, self._e_total), dtype=complex)
        for j, e in enumerate(self._e_gate_index):
            dim2 = 4 ** int(self._nbits[j])
            mats[:, self._e_moffs[e] : self._e_moffs[e] + dim2] = umats[
                samples, self._moffs[j] : self._moffs[j] + dim2
            ]
        for c, e in enumerate(self._e_chan_index):
            dim2 = 4 ** int(self._cbits[c])
            offs = self._koffs[self._kstart[c] + chosen[:, c]]
            block = self._kraus[offs[:, None] + np.arange(dim2)[None, :]] * scales[:, c : c + 1]
            mats[:, self._e_moffs[e] : self._e_moffs[e] + dim2] = block
        hmats = np.empty_like(mats)
        for e in range(self._e_moffs.size):
            d = 1 << int(self._e_nbits[e])
            lo = self._e_moffs[e]
            hmats[:, lo : lo + d * d] = (
                mats[:, lo : lo + d * d]
                .reshape(rows, d, d)
                .conj()
                .transpose(0, 2, 1)
                .reshape(rows, -1)
            )
        return mats, hmats

    def _ext_derivatives(self, angles: np.ndarray, batch: int):
        """Gate-angle derivative matrices per sample, laid out over the extended op list."""
        prog = self.program
        blocks, dslot, dmoffs, dstart = [], [], [], [0]
        total = 0
        gate_of_ext = {e: j for j, e in enumerate(self._e_gate_index)}
        for e in range(self._e_moffs.size):
            j = gate_of_ext.get(e)
            if j is not None:
                lo, hi = prog.slots(j).start, prog.slots(j).stop
                for a in range(hi - lo):
                    if not prog.angle_grads[lo + a]:
                        continue
                    du = npg.gate_derivatives(prog.gates[j], angles[:, lo:hi], a)
                    blocks.append(du.reshape(batch, -1))
                    dslot.append(lo + a)
                    dmoffs.append(total)
                    total += blocks[-1].shape[1]
            dstart.append(len(dslot))
        dmats = np.concatenate(blocks, axis=1) if blocks else np.zeros((batch, 1), dtype=complex)
        as_int = lambda v: np.asarray(v, dtype=_I64)  # noqa: E731
        return dmats, as_int(dslot), as_int(dmoffs), as_int(dstart)
