"""Batched density-matrix simulation of a noisy circuit, with adjoint and parameter-shift gradients.

The circuit and its noise are flattened once (``noise_program``); every call evaluates
the angles for the batch, builds one superoperator per block of ops and sample, turns it
into a real Pauli transfer matrix (``pauli_transfer``), and runs the whole circuit on real
Pauli vectors in one Numba call (``noise_kernels``). Register size is limited by memory:
one sample holds ``4^n`` reals (8 MiB at n = 10, 128 MiB at n = 12).
"""

from __future__ import annotations

import math

import numpy as np

from qadl.backends.sim import channels as ch
from qadl.backends.sim import noise_program as npg
from qadl.backends.sim import noisy_readout as nro
from qadl.backends.sim import pauli_transfer as pt
from qadl.backends.sim.gradients import Gradients, outputs_then_vjp
from qadl.backends.sim.sizes import CircuitSizes
from qadl.ir.circuit import Circuit
from qadl.ir.target import NoiseModel

NOISELESS = NoiseModel()
"""The default: no channel, no readout error, exact outputs."""

KEEP_MAX_BYTES = 1 << 28
"""The adjoint sweep keeps checkpoints of at most this many bytes (256 MiB), or one row's
per thread when a row's are larger (at 10 qubits, about 150 MiB); ``vjp_after`` keeps
the whole batch's within this bound, or runs ``outputs`` and then ``vjp``."""

__all__ = ["KEEP_MAX_BYTES", "NOISELESS", "DensityMatrixSimulator", "batch_inputs"]


def batch_inputs(theta, x, delta, state, circuit: Circuit):
    """Normalise arguments: ``(B, θ, x (B,F)|None, δ (B,D)|None, state (B,2^n)|None)``.

    Raises:
        ValueError: When the batch sizes of x, δ and state disagree.
    """
    theta = np.asarray(
        theta if theta is not None else np.zeros(circuit.num_params), dtype=float
    ).reshape(-1)
    sizes = set()
    arrays = []
    for arr, width in ((x, circuit.num_features), (delta, circuit.num_deltas), (state, None)):
        if arr is None:
            arrays.append(None)
            continue
        a = np.asarray(arr, dtype=complex if width is None else float)
        a = a.reshape(1, -1) if a.ndim == 1 else a
        sizes.add(a.shape[0])
        arrays.append(a)
    if len(sizes) > 1:
        raise ValueError(f"batch sizes of x, delta and state disagree: {sorted(sizes)}")
    batch = sizes.pop() if sizes else 1
    return batch, theta, arrays[0], arrays[1], arrays[2]


class DensityMatrixSimulator(CircuitSizes):
    """Exact noisy simulation on ``(B, 2^n, 2^n)`` density matrices.

    Args:
        circuit: The IR circuit (its ``readout`` is used by ``outputs``/``vjp``).
        noise: Channels after every gate, readout error and shots.
        seed: Seed of the generator used for finite-shot sampling.
        shots: Overrides ``noise.shots`` (None keeps it; 0 means exact outputs).
    """

    def __init__(
        self,
        circuit: Circuit,
        noise: NoiseModel = NOISELESS,
        *,
        seed: int = 0,
        shots: int | None = None,
    ):
        self.circuit = circuit
        self.noise = noise
        self.program = npg.compile_noise_program(circuit, noise)
        self.shots = noise.shots if shots is None else (shots or None)
        self._rng = np.random.default_rng(seed)
        self._layout()

    # -- public interface -------------------------------------------------------------------
    def states(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Final density matrices ``(B, 2^n, 2^n)``."""
        dim = 1 << self.num_qubits
        rho = pt.from_pauli(self._final(theta, x, delta, state), self.num_qubits)
        return rho.reshape(-1, dim, dim)

    def outputs(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Readout values ``(B, K)``, with readout error, sampled from ``shots`` when set."""
        return self._finite_shots(self._final(theta, x, delta, state))

    def exact_outputs(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Readout values ``(B, K)`` with readout error but without shot noise."""
        return self._exact(self._final(theta, x, delta, state))

    def outputs_from_density(self, theta, rho, x=None, delta=None) -> np.ndarray:
        """Exact readout values ``(B, K)`` of the circuit run on initial density matrices.

        ``rho`` ``(B, 2^n, 2^n)`` replaces the initial state: the circuit's ``amplitude``
        preparations are skipped and its other ops (with their noise) act on ``rho``.
        """
        rho = np.asarray(rho, dtype=complex)
        dim, batch = 1 << self.num_qubits, rho.shape[0]
        _, theta, x, delta, _ = batch_inputs(theta, x, delta, None, self.circuit)
        angles = self.program.angle_values(theta, x, delta, batch)
        from qadl.backends.sim.noise_kernels import apply_transfer

        c = pt.to_pauli(rho.reshape(batch, dim * dim), self.num_qubits)
        mats, _, _ = self._superops(angles, batch)
        apply_transfer(c, mats, self._moffs, self._pos, self._poffs, self._nbits)
        return self._exact(c)

    def vjp(
        self, theta, x=None, delta=None, state=None, *, cotangent, method: str = "adjoint"
    ) -> Gradients:
        """``cotangentᵀ · ∂outputs`` with respect to θ, x, δ and the input state.

        Args:
            theta, x, delta, state: As in ``outputs``.
            cotangent: ``(B, K)`` ``dL/d(outputs)``.
            method: ``"adjoint"`` (one backward sweep with the adjoint channels) or
                ``"parameter-shift"`` (exact shift rule per angle; the channels after a
                gate do not depend on its angle, so the rule holds under this noise).

        Returns:
            Gradients of the exact (infinite-shot) outputs.
        """
        batch, theta, x, delta, state = batch_inputs(theta, x, delta, state, self.circuit)
        cot = np.asarray(cotangent, dtype=float).reshape(batch, -1)
        angles = self.program.angle_values(theta, x, delta, batch)
        if method == "adjoint":
            outputs, slot_grads, lam0 = self._adjoint(angles, state, cot, batch)
        elif method == "parameter-shift":
            outputs, slot_grads, lam0 = self._parameter_shift(angles, state, cot, batch)
        else:
            raise ValueError(f"unknown gradient method {method!r} (adjoint, parameter-shift)")
        return self._gradients(angles, theta, x, delta, state, outputs, slot_grads, lam0)

    def vjp_after(
        self, theta, x=None, delta=None, state=None, *, seed, method: str = "adjoint"
    ) -> tuple[Gradients, object]:
        """``vjp`` with a cotangent computed from the outputs, in one forward pass.

        ``seed(outputs) = (cotangent, aux)`` gets what ``outputs`` would return (with
        shot noise when ``shots`` is set) and the result is ``(Gradients, aux)``, as
        ``vjp(..., cotangent=cotangent)`` gives. The adjoint method keeps the batch's
        checkpoints from the forward pass when they fit ``KEEP_MAX_BYTES`` (and builds the
        transfer matrices once); otherwise ``outputs`` and then ``vjp`` run.
        """
        batch, theta, x, delta, state = batch_inputs(theta, x, delta, state, self.circuit)
        if method != "adjoint" or batch > self._rows_per_chunk():
            return outputs_then_vjp(self, theta, x, delta, state, seed, method)
        angles = self.program.angle_values(theta, x, delta, batch)
        outputs, slot_grads, lam0, aux = self._adjoint_after(angles, state, batch, seed)
        grads = self._gradients(angles, theta, x, delta, state, outputs, slot_grads, lam0)
        return grads, aux

    def _gradients(self, angles, theta, x, delta, state, outputs, slot_grads, lam0):
        """``Gradients`` from slot gradients: amplitude preparations, chain rule, input state."""
        if self.program.amplitude_ops:
            if lam0 is None:
                raise ValueError(
                    "amplitude encodings are differentiated with method='adjoint' only"
                )
            lam0 = self._operator(lam0)
            psi0 = npg.initial_state(self.program, angles)
            g0 = 2.0 * np.einsum("bij,bj->bi", lam0, psi0)
            slot_grads = slot_grads + npg.amplitude_slot_grads(self.program, angles, g0)
        g_theta, g_x, g_delta = self.program.chain(slot_grads, theta, x, delta)
        g_state = None
        if state is not None:
            if lam0 is None:
                raise ValueError("input-state gradients need method='adjoint'")
            # L = ψ†Λ₀ψ  =>  dL/dRe ψ + i·dL/dIm ψ = 2Λ₀ψ
            g_state = 2.0 * np.einsum("bij,bj->bi", self._operator(lam0), state)
        return Gradients(outputs, g_theta, g_x, g_delta, g_state)

    # -- internals --------------------------------------------------------------------------
    def _readout(self):
        if self.circuit.readout is None:
            raise ValueError("circuit has no readout")
        return self.circuit.readout

    def _final(self, theta, x, delta, state) -> np.ndarray:
        """Final Pauli vectors ``(B, 4^n)`` of the public inputs."""
        batch, theta, x, delta, state = batch_inputs(theta, x, delta, state, self.circuit)
        return self._forward(self.program.angle_values(theta, x, delta, batch), state, batch)

    def _exact(self, c: np.ndarray) -> np.ndarray:
        """Exact readout values of Pauli vectors ``(B, 4^n)``."""
        return nro.pauli_outputs(c, self._readout(), self.num_qubits, self.noise.readout_error)

    def _operator(self, lam: np.ndarray) -> np.ndarray:
        """The ``(B, 2^n, 2^n)`` operators of Pauli vectors ``(B, 4^n)``."""
        dim = 1 << self.num_qubits
        return pt.from_pauli(lam, self.num_qubits).reshape(-1, dim, dim)

    def _finite_shots(self, c: np.ndarray) -> np.ndarray:
        readout, err, n = self._readout(), self.noise.readout_error, self.num_qubits
        if not self.shots:
            return self._exact(c)
        if readout.kind == "probs":
            marg = nro.pauli_marginal(c, readout, n, err)
            return ch.sample_counts(marg, self.shots, self._rng)[:, : readout.num_classes]
        return ch.sample_expvals(self._exact(c), self.shots, self._rng)

    def _layout(self) -> None:
        """Fuse ops into blocks and fix every block's superoperator offset and virtual positions.

        Single-qubit ops wait on their wire and are folded into the next multi-qubit op
        touching it (or form a one-qubit block at the end). Noise channels act on the
        gate's own qubits only, so ``S_block = S_op · Π S_pending`` is exact, and the
        kernels make one pass per block instead of one per gate.
        """
        prog = self.program
        blocks: list[tuple[tuple[int, ...], list[int]]] = []
        pending: dict[int, list[int]] = {}
        for j in range(prog.num_ops):
            qs = prog.qubits[j]
            if len(qs) == 1:
                pending.setdefault(qs[0], []).append(j)
                continue
            factors = [i for q in qs for i in pending.pop(q, [])]
            blocks.append((qs, [*factors, j]))
        blocks.extend(((q,), pending[q]) for q in sorted(pending))
        self._blocks = blocks
        n = self.num_qubits
        dims, moffs, poffs, nbits, pos = [], [], [], [], []
        total = 0
        for qs, _ in blocks:
            vpos = qs + tuple(q + n for q in qs)
            dims.append(1 << len(vpos))
            moffs.append(total)
            total += dims[-1] ** 2
            poffs.append(len(pos))
            nbits.append(len(vpos))
            pos.extend(vpos)
        self._dims = dims
        self._moffs = np.asarray(moffs, dtype=np.int64)
        self._poffs = np.asarray(poffs, dtype=np.int64)
        self._nbits = np.asarray(nbits, dtype=np.int64)
        self._pos = np.asarray(pos, dtype=np.int64)
        self._total = total
        self._every = max(1, math.isqrt(max(len(blocks), 1)))

    def _op_angles(self, angles: np.ndarray, j: int) -> np.ndarray:
        return angles[:, self.program.slots(j)]

    def _op_superop(
        self, j: int, angles: np.ndarray, block_qubits: tuple[int, ...], derivatives: bool
    ):
        """Op ``j``'s superoperator embedded in its block, and its ``(slot, derivative)`` pairs."""
        prog = self.program
        rows = self._op_angles(angles, j)
        u = np.asarray(npg.gate_matrices(prog.gates[j], rows))
        noise = prog.noise_superops[j]
        qs = prog.qubits[j]
        full = npg.embed_superop(npg.batched_superops(u, noise), qs, block_qubits)
        derivs = []
        for a in range(rows.shape[1] if derivatives else 0):
            slot = prog.slot_start[j] + a
            if prog.angle_grads[slot]:
                du = npg.gate_derivatives(prog.gates[j], rows, a)
                derivs.append(
                    (slot, npg.embed_superop(npg.batched_dsuperops(u, du, noise), qs, block_qubits))
                )
        return full, derivs

    def _block(self, k: int, angles: np.ndarray, derivatives: bool):
        """Block ``k``'s superoperator ``(B, D, D)``.

        If asked, also its ``(slot, ∂S/∂angle)`` list.
        """
        qs, ops = self._blocks[k]
        factors = [self._op_superop(j, angles, qs, derivatives) for j in ops]
        prefix = [None] * (len(factors) + 1)  # prefix[i] = F_{i-1} ⋯ F_0
        for i, (f, _) in enumerate(factors):
            prefix[i + 1] = f if prefix[i] is None else f @ prefix[i]
        if not derivatives:
            return prefix[-1], []
        out = []
        suffix = None  # F_{L-1} ⋯ F_{i+1}
        for i in range(len(factors) - 1, -1, -1):
            for slot, df in factors[i][1]:
                d = df if prefix[i] is None else df @ prefix[i]
                out.append((slot, d if suffix is None else suffix @ d))
            suffix = factors[i][0] if suffix is None else suffix @ factors[i][0]
        return prefix[-1], out

    def _superops(self, angles: np.ndarray, batch: int, derivatives: bool = False):
        """Flat block transfer matrices ``(B, T)`` (real, Pauli basis).

        Also their transposes (the adjoint channels) and the derivative layout.
        """
        mats = np.empty((batch, self._total))
        tmats = np.empty((batch, self._total)) if derivatives else None
        blocks, dslot, dmoffs, dstart = [], [], [], [0]
        dtotal = 0
        for k, (qs, _) in enumerate(self._blocks):
            s, derivs = self._block(k, angles, derivatives)
            r = pt.transfer_matrices(s, len(qs))
            lo, hi = self._moffs[k], self._moffs[k] + self._dims[k] ** 2
            mats[:, lo:hi] = r.reshape(batch, -1)
            if tmats is not None:
                tmats[:, lo:hi] = r.transpose(0, 2, 1).reshape(batch, -1)
            for slot, d in derivs:
                blocks.append(pt.transfer_matrices(d, len(qs)).reshape(batch, -1))
                dslot.append(slot)
                dmoffs.append(dtotal)
                dtotal += blocks[-1].shape[1]
            dstart.append(len(dslot))
        dmats = np.concatenate(blocks, axis=1) if blocks else np.zeros((batch, 1))
        as_int = lambda v: np.asarray(v, dtype=np.int64)  # noqa: E731
        return mats, tmats, (dmats, as_int(dslot), as_int(dmoffs), as_int(dstart))

    def _initial(self, state: np.ndarray | None, angles: np.ndarray) -> np.ndarray:
        """Initial Pauli vectors ``(B, 4^n)``."""
        n, batch = self.num_qubits, angles.shape[0]
        if state is None and self.program.amplitude_ops:
            state = npg.initial_state(self.program, angles)
        if state is None:
            return pt.zero_state(batch, n)
        return pt.to_pauli(np.einsum("bi,bj->bij", state, state.conj()).reshape(batch, -1), n)

    def _forward(self, angles: np.ndarray, state: np.ndarray | None, batch: int) -> np.ndarray:
        """Final Pauli vectors ``(B, 4^n)``."""
        from qadl.backends.sim.noise_kernels import apply_transfer

        c = self._initial(state, angles)
        mats, _, _ = self._superops(angles, batch)
        apply_transfer(c, mats, self._moffs, self._pos, self._poffs, self._nbits)
        return c

    def _adjoint(self, angles, state, cot, batch):
        """Outputs, slot gradients and the Pauli vectors ``λ₀`` of ``∂L/∂ρ₀``.

        The checkpointed forward pass and the backward sweep run in chunks of rows whose
        checkpoints fit ``KEEP_MAX_BYTES``.
        """
        mats, tmats, derivs = self._superops(angles, batch, derivatives=True)
        rho0 = self._initial(state, angles)
        lam = nro.pauli_cotangent(cot, self._readout(), self.num_qubits, self.noise.readout_error)
        grads = np.zeros((batch, max(self.program.num_slots, 1)))
        final = np.empty_like(rho0)
        chunk = self._rows_per_chunk()
        for lo in range(0, batch, chunk):
            rows = slice(lo, min(batch, lo + chunk))
            ck, final[rows] = self._checkpoints(rho0[rows], mats[rows])
            self._backward(ck, lam[rows], mats[rows], tmats[rows], derivs, rows, grads[rows])
        return self._exact(final), grads[:, : self.program.num_slots], lam

    def _adjoint_after(self, angles, state, batch, seed):
        """``_adjoint`` with ``seed(outputs) = (cotangent, aux)`` between the passes.

        Returns outputs, slot gradients, λ₀ and ``aux``. The whole batch's checkpoints are
        kept (the caller checks ``_rows_per_chunk``), so the forward pass runs once.
        """
        mats, tmats, derivs = self._superops(angles, batch, derivatives=True)
        ck, final = self._checkpoints(self._initial(state, angles), mats)
        cot, aux = seed(self._finite_shots(final))
        cot = np.asarray(cot, dtype=float).reshape(batch, -1)
        lam = nro.pauli_cotangent(cot, self._readout(), self.num_qubits, self.noise.readout_error)
        grads = np.zeros((batch, max(self.program.num_slots, 1)))
        self._backward(ck, lam, mats, tmats, derivs, slice(0, batch), grads)
        return self._exact(final), grads[:, : self.program.num_slots], lam, aux

    def _backward(self, ck, lam, mats, tmats, derivs, rows: slice, grads) -> None:
        """``transfer_backward`` of the rows ``rows`` (``ck``, ``lam``, ``mats``, ``tmats``,
        ``grads`` are those rows already; ``derivs`` is the whole batch's layout)."""
        from qadl.backends.sim.noise_kernels import transfer_backward

        dmats, dslot, dmoffs, dstart = derivs
        transfer_backward(ck, lam, mats, tmats, dmats[rows], self._moffs, self._pos, self._poffs,
                          self._nbits, dslot, dmoffs, dstart, grads, self._every)

    def _rows_per_chunk(self) -> int:
        """Rows whose checkpoints fit ``KEEP_MAX_BYTES`` (at least one per thread)."""
        from numba import get_num_threads  # lazy: numba is off the import path

        return max(get_num_threads(), KEEP_MAX_BYTES // self._checkpoint_bytes())

    def _checkpoint_bytes(self) -> int:
        """Bytes of one row's checkpoints: ``⌈blocks/every⌉`` Pauli vectors of ``4^n`` reals."""
        return 8 * (4**self.num_qubits) * max(1, -(-len(self._blocks) // self._every))

    def _checkpoints(self, rho0: np.ndarray, mats: np.ndarray):
        """``transfer_checkpoints`` of rows ``rho0``: (checkpoints, final Pauli vectors)."""
        from qadl.backends.sim.noise_kernels import transfer_checkpoints

        ck = np.empty((rho0.shape[0], self._checkpoint_bytes() // (8 * rho0.shape[1]),
                       rho0.shape[1]))
        final = np.empty_like(rho0)
        transfer_checkpoints(rho0, mats, self._moffs, self._pos, self._poffs, self._nbits,
                             self._every, ck, final)
        return ck, final

    def _exact_from_angles(self, angles, state, batch):
        return self._exact(self._forward(angles, state, batch))

    def _parameter_shift(self, angles, state, cot, batch):
        outputs = self._exact_from_angles(angles, state, batch)
        grads = np.zeros((batch, self.program.num_slots))
        for s, pairs in enumerate(self.program.angle_grads):
            if not pairs:
                continue
            for shift, coeff in npg.SHIFT_RULE:
                shifted = angles.copy()
                shifted[:, s] += shift
                grads[:, s] += coeff * np.einsum(
                    "bk,bk->b", cot, self._exact_from_angles(shifted, state, batch)
                )
        return outputs, grads, None
