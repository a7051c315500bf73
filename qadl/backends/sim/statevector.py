"""``Simulator``: batched statevector simulation of a circuit, its readout and its gradients.

The public face of the simulator (docs/api.md). Construction lowers the circuit
to a ``SimProgram`` with NumPy only; Numba kernels are imported, compiled or loaded from
the on-disk cache on the first call that needs them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from qadl.backends.sim.adjoint import SINGLE_STATE_QUBITS, adjoint_tape_grads, chain
from qadl.backends.sim.build import build_program
from qadl.backends.sim.gradients import Gradients, outputs_then_vjp
from qadl.backends.sim.program import SimProgram
from qadl.backends.sim.shift import shift_tape_grads
from qadl.backends.sim.sizes import CircuitSizes
from qadl.backends.sim.soa_plan import (
    single_state_runs,
    soa_large_supported,
)
from qadl.ir.circuit import Circuit

__all__ = ["METHODS", "Simulator"]

METHODS = ("adjoint", "parameter-shift")
"""Gradient methods ``Simulator.vjp`` accepts."""

BATCH_MAX_QUBITS = 18
"""Up to this many qubits, circuits the split-array kernels support run a batch of at
least as many samples as threads one sample per thread, each sample sequential (at 18
qubits a thread works on 16 MiB; two such threads fill a 32 MiB L3 cache). Smaller
batches and larger registers split each state's amplitudes over the threads instead:
with the split-array single-state kernels (``soa_single``) where the program allows,
else with the complex ones. At 20 qubits, one sample per thread ran W1 at 380-560 ms
per sample on two threads, ``soa_single`` at 277 ms (docs/benchmarks.md)."""

SAMPLE_SPEEDUP = 3
"""For programs without split-array single-state kernels (two-qubit blocks), the
sequential per-sample kernels ran an adjoint step 2.9-4.5× faster on one thread than the
complex amplitude-parallel ones at 14 and 16 qubits (docs/benchmarks.md), so they are
used while ``SAMPLE_SPEEDUP × batch ≥ threads``."""

SINGLE_BLOCK_QUBITS = 15
"""Chunk size (2**m amplitudes, 4 arrays of 256 KiB at m = 15) of ``soa_single``: W1 at
batch 1 took 34.6-37.1 ms at 18 qubits against 37.2-49.2 ms at m = 14, and 176-192 ms
against 193-212 ms at 20 qubits (two threads, idle machine, 7 Dec 2026)."""

SINGLE_HIGH_QUBITS = 5
"""At most this many qubits ≥ m per high run of ``soa_single`` (segments ≥ 2**(m-5))."""

WORK_MAX_AMPLITUDES = 1 << 20
"""Up to this many amplitudes (8 MiB per array), a sample's pass on the single-state
kernels works in four arrays (split ψ and λ) kept per thread and register size across
calls: fresh arrays of that size are mapped anew by every call and page-faulted in on
first touch, the faults of a thread team's members serialised by the kernel (at 18
qubits a tenth or more of a W1 sample; docs/benchmarks.md). Larger states get fresh
arrays rather than be held."""

_WORK = threading.local()
"""This thread's kept work arrays, by register size (``_work``)."""

KEEP_MAX_AMPLITUDES = 1 << 23
"""``vjp_after`` keeps the batch's final states (16 bytes per amplitude) up to this many
amplitudes (128 MiB) so that the backward sweep needs no second forward pass; above, it
runs the forward pass twice rather than hold more memory."""


@dataclass(frozen=True)
class _Batch:
    """Validated inputs of one call."""

    theta: np.ndarray
    x: np.ndarray
    delta: np.ndarray
    state: np.ndarray | None
    size: int


def _as_rows(value, width: int, name: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must have shape (B, {width}), got {np.shape(value)}")
    return np.ascontiguousarray(arr)


def _init(batch: _Batch) -> tuple[bool, np.ndarray]:
    """(has_init, init) as the kernels take them (a dummy array for |0…0⟩)."""
    if batch.state is None:
        return False, np.zeros((1, 1), dtype=np.complex128)
    return True, batch.state


class Simulator(CircuitSizes):
    """Statevector simulator of one circuit for batches of θ, x, δ and input states.

    Example:
        >>> sim = Simulator(circuit)
        >>> probs = sim.outputs(theta, x=features)          # (B, K)
        >>> grads = sim.vjp(theta, x=features, cotangent=dl_dout)
    """

    def __init__(self, circuit: Circuit) -> None:
        """Lower ``circuit``; compiles nothing."""
        self.circuit = circuit
        self.program: SimProgram = build_program(circuit)
        small = self.program.num_qubits <= BATCH_MAX_QUBITS
        self._soa_large = (
            self.program.num_qubits >= SINGLE_STATE_QUBITS and soa_large_supported(self.program)
        )
        """Large registers whose blocks all have split-array single-state kernels."""
        self._tables = self.program.soa_tables if small or self._soa_large else None
        """The diagonal tables split into real and imaginary parts, for the split kernels
        (None where a block has none; never built for large complex-only registers)."""
        self._soa = self._tables if small else None
        """Split diagonal tables when the per-sample split-array kernels (``soa_kernels``)
        apply."""
        self._single_m = min(SINGLE_BLOCK_QUBITS, self.program.num_qubits - 2)
        self._single_runs = (
            single_state_runs(self.program, self._single_m, SINGLE_HIGH_QUBITS)
            if self._soa_large
            else None
        )
        """The blocks of ``soa_single``'s sweeps, grouped into cache-sized runs."""

    # -- inputs -----------------------------------------------------------------------
    def _batch(self, theta, x, delta, state) -> _Batch:
        th = np.ascontiguousarray(np.asarray(theta if theta is not None else [], dtype=np.float64))
        if th.shape != (self.num_params,):
            raise ValueError(f"theta must have shape ({self.num_params},), got {th.shape}")
        xs = _as_rows(x, self.num_features, "x")
        ds = _as_rows(delta, self.num_deltas, "delta")
        st = None
        if state is not None:
            st = np.ascontiguousarray(np.asarray(state, dtype=np.complex128))
            if st.ndim == 1:
                st = st[None, :]
            if st.ndim != 2 or st.shape[1] != 1 << self.num_qubits:
                raise ValueError(f"state must have shape (B, {1 << self.num_qubits})")
        sizes = {a.shape[0] for a in (xs, ds, st) if a is not None}
        if len(sizes) > 1:
            raise ValueError(f"x, delta and state disagree on the batch size: {sorted(sizes)}")
        size = sizes.pop() if sizes else 1
        if xs is None:
            xs = np.zeros((size, self.num_features))
        if ds is None:
            ds = np.zeros((size, self.num_deltas))
        return _Batch(th, xs, ds, st, size)

    def angles(self, theta, x=None, delta=None) -> np.ndarray:
        """Values (B, A) of the program's angle tape."""
        from qadl.backends.sim import kernels  # lazy: compiles on first use

        batch = self._batch(theta, x, delta, None)
        return self._angles(kernels, batch)

    def _per_sample(self, size: int) -> bool:
        """Whether a batch of ``size`` runs one sample per thread (else amplitude-parallel)."""
        nq = self.num_qubits
        if nq < SINGLE_STATE_QUBITS:
            return True
        from numba import get_num_threads  # lazy: numba is off the import path

        if self._soa is None:
            return False
        speedup = 1 if self._soa_large else SAMPLE_SPEEDUP
        return speedup * size >= get_num_threads()

    def _angles(self, kernels, batch: _Batch) -> np.ndarray:
        return kernels.eval_angles(self.program.tape.arrays(), batch.theta, batch.x, batch.delta)

    # -- simulation ---------------------------------------------------------------------
    def states(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Final states (B, 2**n) complex128."""
        batch = self._batch(theta, x, delta, state)
        if self._soa is None and not self._soa_large:
            return self._states_complex(batch)
        re, im = self._states_split(batch)
        out = np.empty(re.shape, dtype=np.complex128)
        out.real = re
        out.imag = im
        return out

    def states_split(self, theta, x=None, delta=None, state=None) -> tuple[np.ndarray, np.ndarray]:
        """Final states as their real and imaginary parts, (B, 2**n) float64 each.

        Where the split-array kernels run the program (every block a single-qubit gate,
        a diagonal or a cx) they keep states in this layout and write these arrays
        directly, and no complex128 copy is made (``states`` makes one: twice the memory,
        and about a tenth of the time at 22 qubits). Other programs run in complex128 and
        are split here.
        """
        batch = self._batch(theta, x, delta, state)
        if self._soa is None and not self._soa_large:
            psi = self._states_complex(batch)
            return np.ascontiguousarray(psi.real), np.ascontiguousarray(psi.imag)
        return self._states_split(batch)

    def _states_split(self, batch: _Batch) -> tuple[np.ndarray, np.ndarray]:
        """States on the split-array kernels: one large state at a time over the threads
        (``soa_single``), or a batch of small ones, one range of samples per thread."""
        if self._soa_large:
            return self._states_soa(batch)
        from qadl.backends.sim import soa_step  # lazy: compiles on first use

        has_init, init = _init(batch)
        return soa_step.states_rows(self.num_qubits, self.program.arrays(),
                                    self.program.tape.arrays(), batch.theta, batch.x,
                                    batch.delta, init, has_init, *self._soa)

    def _states_complex(self, batch: _Batch) -> np.ndarray:
        from qadl.backends.sim import complex_batch, kernels  # lazy: compiles on first use

        ang = self._angles(kernels, batch)
        nq = self.num_qubits
        prog = self.program.arrays()
        if nq < SINGLE_STATE_QUBITS:
            has_init, init = _init(batch)
            return complex_batch.forward_batch(nq, prog, ang, init, has_init)
        out = np.zeros((batch.size, 1 << nq), dtype=np.complex128)
        chunks = complex_batch.default_chunks()
        for b in range(batch.size):
            if batch.state is None:
                out[b, 0] = 1.0
            else:
                out[b] = batch.state[b]
            complex_batch.forward_single(nq, prog, ang[b], out[b], chunks,
                                         complex_batch.BLOCK_QUBITS)
        return out

    def _states_soa(self, batch: _Batch) -> tuple[np.ndarray, np.ndarray]:
        """Large registers on the split-array single-state kernels, one sample at a time,
        each written in place into its row of the (B, 2**n) output arrays."""
        from qadl.backends.sim import kernels  # lazy: compiles on first use

        ang = self._angles(kernels, batch)
        if batch.state is None:
            re = np.zeros((batch.size, 1 << self.num_qubits))
            im = np.zeros_like(re)
            re[:, 0] = 1.0
        else:
            re = np.ascontiguousarray(batch.state.real)
            im = np.ascontiguousarray(batch.state.imag)
        for b in range(batch.size):
            self._single_forward(ang[b], re[b], im[b])
        return re, im

    def outputs(self, theta, x=None, delta=None, state=None) -> np.ndarray:
        """Readout values (B, K) float64."""
        from qadl.backends.sim import complex_batch, kernels  # lazy: compiles on first use

        ro = self._readout()
        batch = self._batch(theta, x, delta, state)
        if self._per_sample(batch.size):
            has_init, init = _init(batch)
            args = (self.num_qubits, self.program.arrays(), ro.arrays(),
                    self.program.tape.arrays(), batch.theta, batch.x, batch.delta, init,
                    has_init, ro.num_outputs)
            if self._soa is not None:
                from qadl.backends.sim import soa_step  # lazy: compiles on first use

                return soa_step.outputs_rows(*args, *self._soa)
            return complex_batch.outputs_fused(*args)
        if self._soa_large:
            from qadl.backends.sim import soa_single  # lazy: compiles on first use

            ang = self._angles(kernels, batch)
            out = np.empty((batch.size, ro.num_outputs))
            work = _work(self.num_qubits)
            for b in range(batch.size):
                re, im = self._single_final(batch, ang, b, *work[:2])
                soa_single.readout_split(re, im, ro.arrays(), out[b])
            return out
        psi = self.states(theta, x, delta, state)
        return complex_batch.readout_batch(psi, ro.arrays(), ro.num_outputs)

    def _readout(self):
        if self.program.readout is None:
            raise ValueError(f"circuit {self.circuit.name!r} has no readout")
        return self.program.readout

    def vjp(
        self, theta, x=None, delta=None, state=None, *, cotangent, method: str = "adjoint"
    ) -> Gradients:
        """Outputs and the gradient of ``L = Σ cotangent · outputs`` w.r.t. θ, x, δ and state.

        Args:
            theta: (P,) trainable parameters.
            x: (B, F) features, or None.
            delta: (B, D) perturbations, or None.
            state: (B, 2**n) input states, or None for |0…0⟩.
            cotangent: (B, K) dL/d(outputs).
            method: ``"adjoint"`` (default) or ``"parameter-shift"``.

        Returns:
            ``Gradients`` (θ summed over the batch; x, δ, state per sample).
        """
        from qadl.backends.sim import kernels  # lazy: compiles on first use

        if method not in METHODS:
            raise ValueError(f"unknown gradient method {method!r}; expected one of {METHODS}")
        self._readout()
        batch = self._batch(theta, x, delta, state)
        cot = self._cotangent(cotangent, batch.size)
        if method == "adjoint" and self._per_sample(batch.size):
            return self._vjp_fused(kernels, batch, cot)
        ang = self._angles(kernels, batch)
        if method == "adjoint" and self._soa_large:
            return self._vjp_single(batch, ang, cot)
        run = adjoint_tape_grads if method == "adjoint" else shift_tape_grads
        out, g_ang, g_state = run(self.program, ang, batch.state, cot)
        return self._tape_gradients(batch, out, g_ang, g_state)

    def state_vjp(self, theta, x=None, delta=None, state=None, *, cotangent_state) -> Gradients:
        """Gradient of ``L = Σ_b Re⟨c_b|ψ_b⟩`` for cotangent states ``c`` (one adjoint sweep).

        The sweep starts from ``c`` instead of a readout cotangent, so the circuit needs
        no readout (kernel feature maps have none). For a function ``f`` of the final
        states, ``c = 2·∂f/∂ψ*`` (e.g. ``c = 2·M ψ`` for ``f = ⟨ψ|M|ψ⟩``).

        Args:
            theta: (P,) trainable parameters.
            x: (B, F) features, or None.
            delta: (B, D) perturbations, or None.
            state: (B, 2**n) input states, or None for |0…0⟩.
            cotangent_state: (B, 2**n) complex cotangent states ``c``.

        Returns:
            ``Gradients`` whose ``outputs`` (B, 1) are ``Re⟨c_b|ψ_b⟩``; θ summed over the
            batch; x, δ and the input state per sample.
        """
        from qadl.backends.sim import (  # lazy: compiles on first use
            complex_batch,
            kernels,
            state_adjoint,
        )

        batch = self._batch(theta, x, delta, state)
        cot = np.ascontiguousarray(np.asarray(cotangent_state, dtype=np.complex128))
        if cot.ndim == 1:
            cot = cot[None, :]
        if cot.shape != (batch.size, 1 << self.num_qubits):
            raise ValueError(
                f"cotangent_state must have shape ({batch.size}, {1 << self.num_qubits}), "
                f"got {np.shape(cotangent_state)}"
            )
        has_init, init = _init(batch)
        if self.num_qubits < SINGLE_STATE_QUBITS:
            args = (self.num_qubits, self.program.arrays(), self.program.tape.arrays(),
                    batch.theta, batch.x, batch.delta, init, has_init, cot)
            if self._soa is not None:
                from qadl.backends.sim import soa_step  # lazy: compiles on first use

                value, g_th, g_x, g_d, g_state = soa_step.state_vjp_rows(*args, *self._soa)
            else:
                value, g_th, g_x, g_d, g_state = state_adjoint.state_vjp_batch(*args)
            return self._fused_gradients(value[:, None], g_th, g_x, g_d, g_state, has_init)
        ang = self._angles(kernels, batch)
        value = np.empty(batch.size)
        g_ang = np.empty_like(ang)
        g_state = np.empty((batch.size, 1 << self.num_qubits), dtype=np.complex128)
        for b in range(batch.size):
            if self._soa_large:  # λ = c/2: then dL/dt = 2 Re⟨λ|∂ψ⟩
                re, im = self._single_final(batch, ang, b)
                value[b] = re @ cot[b].real + im @ cot[b].imag
                lre = 0.5 * cot[b].real
                lim = 0.5 * cot[b].imag
                g_ang[b] = 0.0
                self._single_backward(ang[b], re, im, lre, lim, g_ang[b])
                g_state[b].real = 2.0 * lre
                g_state[b].imag = 2.0 * lim
                continue
            psi = np.zeros(1 << self.num_qubits, dtype=np.complex128)
            if batch.state is None:
                psi[0] = 1.0
            else:
                psi[:] = batch.state[b]
            value[b], g_ang[b], lam = state_adjoint.state_vjp_single(
                self.num_qubits, self.program.arrays(), ang[b], psi, cot[b],
                complex_batch.default_chunks(),
            )
            g_state[b] = 2.0 * lam
        return self._tape_gradients(batch, value[:, None], g_ang,
                                    g_state if has_init else None)

    def vjp_after(
        self, theta, x=None, delta=None, state=None, *, seed, method: str = "adjoint"
    ) -> tuple[Gradients, object]:
        """``vjp`` with a cotangent computed from the outputs, in one forward pass.

        ``seed(outputs)`` gets the (B, K) outputs and returns ``(cotangent, aux)``; the
        result is ``(Gradients, aux)``, as ``vjp(..., cotangent=cotangent)`` would give.
        The adjoint method on a batch run one sample per thread keeps each sample's
        final state from the forward pass (up to ``KEEP_MAX_AMPLITUDES``) and starts
        the backward sweep from it; other cases run ``outputs`` and then ``vjp``.
        """
        from qadl.backends.sim import complex_batch, kernels  # lazy: compiles on first use

        if method not in METHODS:
            raise ValueError(f"unknown gradient method {method!r}; expected one of {METHODS}")
        ro = self._readout()
        batch = self._batch(theta, x, delta, state)
        keep = batch.size << self.num_qubits <= KEEP_MAX_AMPLITUDES
        per_sample = self._per_sample(batch.size)
        if method == "adjoint" and keep and not per_sample and self._soa_large:
            return self._vjp_after_single(kernels, batch, seed)
        if method != "adjoint" or not keep or not per_sample:
            return outputs_then_vjp(self, theta, x, delta, state, seed, method)
        has_init, init = _init(batch)
        head = (self.num_qubits, self.program.arrays(), ro.arrays(), self.program.tape.arrays(),
                batch.theta, batch.x, batch.delta)
        if self._soa is not None:
            from qadl.backends.sim import soa_step  # lazy: compiles on first use

            out, angs, fre, fim = soa_step.forward_keep_soa(
                *head, init, has_init, ro.num_outputs, *self._soa
            )
            cot, aux = seed(out)
            cot = self._cotangent(cot, batch.size)
            g_th, g_x, g_d, g_state = soa_step.backward_soa(
                *head, has_init, cot, angs, fre, fim, *self._soa
            )
        else:
            out, angs, states = complex_batch.forward_keep(*head, init, has_init,
                                                           ro.num_outputs)
            cot, aux = seed(out)
            cot = self._cotangent(cot, batch.size)
            g_th, g_x, g_d, g_state = complex_batch.backward_fused(
                *head, has_init, cot, angs, states
            )
        return self._fused_gradients(out, g_th, g_x, g_d, g_state, has_init), aux

    def _cotangent(self, cotangent, size: int) -> np.ndarray:
        cot = np.ascontiguousarray(np.asarray(cotangent, dtype=np.float64))
        k = self._readout().num_outputs
        if cot.shape != (size, k):
            raise ValueError(f"cotangent must have shape ({size}, {k})")
        return cot

    def _tape_gradients(self, batch: _Batch, out, g_ang, g_state) -> Gradients:
        """``Gradients`` from per-sample tape derivatives, chained to θ, x and δ."""
        g_th, g_x, g_d = chain(self.program, batch.theta, batch.x, batch.delta, g_ang)
        return Gradients(
            outputs=out,
            theta=g_th,
            x=g_x if self.num_features else None,
            delta=g_d if self.num_deltas else None,
            state=g_state,
        )

    def _fused_gradients(self, out, g_th, g_x, g_d, g_state, has_init: bool) -> Gradients:
        return Gradients(
            outputs=out,
            theta=g_th.sum(axis=0),
            x=g_x if self.num_features else None,
            delta=g_d if self.num_deltas else None,
            state=g_state if has_init else None,
            theta_per_sample=g_th,
        )

    def _vjp_fused(self, kernels, batch: _Batch, cot: np.ndarray) -> Gradients:
        """Small registers: the whole adjoint pipeline in one compiled parallel call."""
        has_init, init = _init(batch)
        args = (
            self.num_qubits,
            self.program.arrays(),
            self.program.readout.arrays(),
            self.program.tape.arrays(),
            batch.theta,
            batch.x,
            batch.delta,
            init,
            has_init,
            cot,
        )
        if self._soa is not None:
            from qadl.backends.sim import soa_step  # lazy: compiles on first use

            out, g_th, g_x, g_d, g_state = soa_step.vjp_rows(*args, *self._soa)
        else:
            from qadl.backends.sim import complex_batch  # lazy: compiles on first use

            out, g_th, g_x, g_d, g_state = complex_batch.vjp_fused(*args)
        return self._fused_gradients(out, g_th, g_x, g_d, g_state, has_init)

    def _vjp_single(self, batch: _Batch, ang: np.ndarray, cot: np.ndarray,
                    finals: list | None = None, out: np.ndarray | None = None) -> Gradients:
        """Large registers: each sample's adjoint sweep on the split-array single-state
        kernels (``soa_single``), its amplitudes split over the threads.

        ``finals`` holds the final states (re, im) and ``out`` their outputs when a forward
        pass kept them (``_vjp_after_single``); otherwise each sample's forward pass runs
        here, just before its sweep.
        """
        from qadl.backends.sim import soa_single  # lazy: compiles on first use

        ro = self.program.readout.arrays()
        if out is None:
            out = np.empty(cot.shape)
        g_ang = np.zeros_like(ang)
        g_state = None
        if batch.state is not None:
            g_state = np.empty((batch.size, 1 << self.num_qubits), complex)
        work = _work(self.num_qubits)
        for b in range(batch.size):
            if finals is None:
                re, im = self._single_final(batch, ang, b, *work[:2])
                soa_single.readout_split(re, im, ro, out[b])
            else:
                re, im = finals[b]
            lre, lim = work[2:]
            soa_single.seed_split(re, im, ro, cot[b], lre, lim)
            self._single_backward(ang[b], re, im, lre, lim, g_ang[b])
            if g_state is not None:
                g_state[b].real = 2.0 * lre
                g_state[b].imag = 2.0 * lim
        return self._tape_gradients(batch, out, g_ang, g_state)

    def _vjp_after_single(self, kernels, batch: _Batch, seed) -> tuple[Gradients, object]:
        """``vjp_after`` on the single-state kernels: every forward pass once, kept."""
        from qadl.backends.sim import soa_single  # lazy: compiles on first use

        ang = self._angles(kernels, batch)
        ro = self._readout()
        finals = [self._single_final(batch, ang, b) for b in range(batch.size)]
        out = np.empty((batch.size, ro.num_outputs))
        for b, (re, im) in enumerate(finals):
            soa_single.readout_split(re, im, ro.arrays(), out[b])
        cot, aux = seed(out)
        cot = self._cotangent(cot, batch.size)
        return self._vjp_single(batch, ang, cot, finals, out), aux

    def _single_final(self, batch: _Batch, ang: np.ndarray, b: int, re: np.ndarray | None = None,
                      im: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """Sample ``b``'s final state (re, im) from the single-state forward pass, in ``re``
        and ``im`` when given, else in fresh arrays."""
        re, im = self._initial_split(batch, b, re, im)
        self._single_forward(ang[b], re, im)
        return re, im

    def _single_forward(self, ang: np.ndarray, re: np.ndarray, im: np.ndarray) -> None:
        """One state (``re``, ``im``) through the program, in place (``soa_single``)."""
        from qadl.backends.sim import soa_single  # lazy: compiles on first use

        soa_single.forward_blocked(self.num_qubits, self.program.arrays(), ang, re, im,
                                   self._single_m, self._single_runs, *self._tables)

    def _single_backward(self, ang, re, im, lre, lim, g) -> None:
        """One sample's adjoint sweep on the single-state kernels; adds dL/d(tape) into g."""
        from qadl.backends.sim import soa_single  # lazy: compiles on first use

        soa_single.backward_blocked(self.num_qubits, self.program.arrays(), ang, re, im, lre,
                                    lim, self._single_m, self._single_runs, *self._tables, g)

    def _initial_split(self, batch: _Batch, b: int, re: np.ndarray | None = None,
                       im: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``b``'s input state as real and imaginary arrays: written into ``re`` and
        ``im`` when given, else fresh."""
        if re is None:
            re, im = np.empty(1 << self.num_qubits), np.empty(1 << self.num_qubits)
        if batch.state is None:
            re[:] = 0.0
            im[:] = 0.0
            re[0] = 1.0
        else:
            re[:] = batch.state[b].real
            im[:] = batch.state[b].imag
        return re, im


def _work(num_qubits: int) -> list[np.ndarray]:
    """Four arrays of ``2**num_qubits`` float64 for one sample's single-state pass (split ψ
    and λ): this thread's, kept across calls (``WORK_MAX_AMPLITUDES``), else fresh. Only
    code that calls nothing outside the simulator while it holds them may use them."""
    size = 1 << num_qubits
    if size > WORK_MAX_AMPLITUDES:
        return [np.empty(size) for _ in range(4)]
    kept = _WORK.__dict__.setdefault("arrays", {})
    if size not in kept:
        kept[size] = [np.empty(size) for _ in range(4)]
    return kept[size]
