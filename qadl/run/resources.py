"""Memory a simulation needs, and memory the machine has: the run-time memory guard.

``estimate_bytes`` is the one estimate of simulator memory; ``qadl run`` compares it with
``available_bytes`` before it allocates anything, and a check-time preflight may import it
too (it is pure arithmetic: no NumPy, no Numba).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from qadl.errors import QadlError
from qadl.source import Span

__all__ = [
    "MEMORY_LIMIT_ENV",
    "TRAJECTORY_CHUNK_BYTES",
    "available_bytes",
    "estimate_bytes",
    "format_bytes",
    "parse_bytes",
    "require_memory",
    "state_bytes",
    "usable_threads",
]

MEMORY_LIMIT_ENV = "QADL_MEMORY_LIMIT"
"""Environment variable that overrides the detected available memory (e.g. ``4GiB``)."""

_COMPLEX = 16
"""Bytes of one complex128 amplitude."""

_GRADIENT_COPIES = 3
"""The adjoint pass holds ψ, the backward vector λ and a work copy of each sample it runs."""
_PER_THREAD_BELOW = 14
"""Registers below this many qubits run one sample per thread in the fused kernels
(``qadl.backends.sim.adjoint.SINGLE_STATE_QUBITS``), never the whole batch at once."""

TRAJECTORY_CHUNK_BYTES = 1 << 28
"""Trajectory states one chunk holds (``TrajectorySimulator``'s ``max_chunk_bytes``)."""

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def state_bytes(num_qubits: int, noisy: bool = False) -> int:
    """Bytes of one state: a statevector (16·2^n) or a density matrix (16·4^n)."""
    return _COMPLEX << (2 * num_qubits if noisy else num_qubits)


def usable_threads() -> int:
    """Threads the simulator kernels run on: ``NUMBA_NUM_THREADS``, else usable CPUs."""
    setting = os.environ.get("NUMBA_NUM_THREADS", "")
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def estimate_bytes(
    num_qubits: int,
    batch: int,
    noisy: bool = False,
    gradient: bool = False,
    *,
    threads: int | None = None,
    trajectories: int = 0,
) -> int:
    """Peak bytes of the states a simulation of ``batch`` samples holds at once.

    How many states are alive follows the simulators:

    - density matrices (``noisy``): the whole batch, ``(B, 4^n)``, and with a gradient
      two more copies per sample (adjoint and work);
    - statevectors below 14 qubits: the fused kernels run one sample per thread in its
      own buffers, so ``min(B, threads)`` states (three with a gradient);
    - statevectors from 14 qubits: the forward pass returns the batch's states together,
      ``(B, 2^n)``, and the adjoint pass walks samples one by one (two more states);
    - noisy trajectories: ``trajectories`` statevectors per sample, simulated in chunks of
      at most ``TRAJECTORY_CHUNK_BYTES`` (three chunks' worth with a gradient).

    Parameter, feature and gradient arrays are ignored: they matter only when the states
    are small too.

    Args:
        num_qubits: Register size n.
        batch: Samples simulated together (at least 1 counts).
        noisy: Density matrices (16·4^n bytes each) instead of statevectors (16·2^n).
        gradient: Also differentiate (training, white-box attacks).
        threads: Kernel threads (default ``usable_threads()``).
        trajectories: Trajectories per sample of a noisy trajectory simulation (0: none).
    """
    batch = max(1, int(batch))
    one = state_bytes(num_qubits, noisy)
    copies = _GRADIENT_COPIES if gradient else 1
    if noisy:
        return one * batch * copies
    if trajectories:
        return max(one, min(one * batch * trajectories, TRAJECTORY_CHUNK_BYTES)) * copies
    if num_qubits < _PER_THREAD_BELOW:
        return one * min(batch, max(1, threads or usable_threads())) * copies
    return one * (batch + (copies - 1))


def parse_bytes(text: str) -> int:
    """``"512M"``, ``"4GiB"``, ``"1.5 GB"`` or a plain byte count -> bytes (binary units).

    Raises:
        ValueError: Not a non-negative size.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ValueError(f"{text!r} is not a memory size (e.g. 4GiB, 512M, 1000000)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s*(\d+)\s*kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _sysconf_available() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not on this platform
        return None


def available_bytes() -> int | None:
    """Memory a run may use: ``$QADL_MEMORY_LIMIT`` if set, else the OS's available memory.

    Returns None when neither is known (then no guard applies).

    Raises:
        ValueError: ``QADL_MEMORY_LIMIT`` is set but is not a size.
    """
    override = os.environ.get(MEMORY_LIMIT_ENV)
    if override:
        return parse_bytes(override)
    return _meminfo_available() or _sysconf_available()


def format_bytes(size: int) -> str:
    """Bytes for people: ``8.00 GiB``, ``512.0 MiB``, ``96 B``."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.2f} {unit}" if unit in ("TiB", "GiB") else (
                f"{size / scale:.1f} {unit}"
            )
    return f"{size} B"


def require_memory(
    num_qubits: int,
    batch: int,
    density: bool,
    gradient: bool,
    span: Span,
    what: str,
    smaller: str = "a smaller batch",
    *,
    trajectories: int = 0,
) -> None:
    """Raise a located error when ``estimate_bytes`` exceeds ``available_bytes``.

    Args:
        num_qubits, batch, density, gradient: As for ``estimate_bytes`` (``density`` is
            its ``noisy``: density matrices).
        span: Where the statement that needs the memory is.
        what: The work, for the message (``"training `clf`"``).
        smaller: The first remedy: how to simulate fewer samples at once.
        trajectories: As for ``estimate_bytes``.

    Raises:
        QadlError: E0803 (too little memory) or E0804 (``QADL_MEMORY_LIMIT`` is no size).
    """
    try:
        have = available_bytes()
    except ValueError as err:
        raise QadlError.at(
            "E0804", f"{MEMORY_LIMIT_ENV}: {err}", span,
            help="set it to a size such as 4GiB or 512M, or unset it",
        ) from None
    need = estimate_bytes(
        num_qubits, batch, noisy=density, gradient=gradient, trajectories=trajectories
    )
    if have is None or need <= have:
        return
    kind = (
        "density matrices" if density else "trajectories" if trajectories else "statevectors"
    )
    per_sample = format_bytes(state_bytes(num_qubits, density))
    remedies = [f"{smaller} (one state takes {per_sample})"]
    if density:
        remedies.append("no `device` line (noiseless statevectors need the square root)")
    remedies.append("fewer qubits")
    raise QadlError.at(
        "E0803",
        f"{what} needs about {format_bytes(need)} for its {kind} ({num_qubits} qubits, "
        f"{batch} samples at once), more than the {format_bytes(have)} available",
        span,
        help="use " + ", or ".join(remedies)
        + f"; {MEMORY_LIMIT_ENV}=SIZE overrides the detected memory",
    )
