"""The run-time memory guard: the estimate, the available-memory probe and its override."""

from __future__ import annotations

from pathlib import Path

import pytest

from qadl.run import resources


def test_estimate_follows_what_the_simulators_hold() -> None:
    """Density matrices: the batch; small statevectors: one per thread; large: the batch."""
    assert resources.estimate_bytes(26, 4) == 16 * 2**26 * 4
    assert resources.estimate_bytes(26, 4, gradient=True) == 16 * 2**26 * 6
    assert resources.estimate_bytes(12, 2, noisy=True) == 16 * 4**12 * 2
    assert resources.estimate_bytes(12, 2, noisy=True, gradient=True) == 16 * 4**12 * 6
    assert resources.estimate_bytes(10, 10_000, threads=4) == 16 * 2**10 * 4
    assert resources.estimate_bytes(10, 2, gradient=True, threads=4) == 16 * 2**10 * 2 * 3
    assert resources.estimate_bytes(3, 0, threads=1) == resources.estimate_bytes(3, 1, threads=1)


def test_threads_follow_numba_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
    assert resources.usable_threads() == 3
    monkeypatch.setenv("NUMBA_NUM_THREADS", "many")
    assert resources.usable_threads() >= 1


def test_the_issue_26_qubit_batch_is_refused_on_a_small_machine(monkeypatch) -> None:
    """The reported `MemoryError: Unable to allocate 8.00 GiB`: 8 states of 26 qubits."""
    from qadl.errors import QadlError
    from qadl.source import Span

    monkeypatch.setenv(resources.MEMORY_LIMIT_ENV, "4GiB")
    with pytest.raises(QadlError) as err:
        resources.require_memory(26, 8, False, False, Span("p.qadl", 0, 1), "evaluating `m`")
    diag = err.value.diagnostics[0]
    assert diag.code == "E0803" and "8.00 GiB" in diag.message and "4.00 GiB" in diag.message
    assert "smaller batch" in diag.help and "1.00 GiB" in diag.help
    monkeypatch.setenv(resources.MEMORY_LIMIT_ENV, "9GiB")
    resources.require_memory(26, 8, False, False, Span("p.qadl", 0, 1), "evaluating `m`")


@pytest.mark.parametrize(
    ("text", "size"),
    [("1000", 1000), ("4GiB", 4 << 30), ("512M", 512 << 20), ("1.5 gb", 3 << 29), ("2k", 2048)],
)
def test_parse_bytes(text: str, size: int) -> None:
    assert resources.parse_bytes(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1G", "4 XB"])
def test_parse_bytes_refuses_non_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="not a memory size"):
        resources.parse_bytes(text)


def test_override_wins_over_the_os(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(resources.MEMORY_LIMIT_ENV, "3MiB")
    assert resources.available_bytes() == 3 << 20
    monkeypatch.delenv(resources.MEMORY_LIMIT_ENV)
    found = resources.available_bytes()
    assert found is None or found > 1 << 20


def test_meminfo_is_read(tmp_path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemAvailable:    2048 kB\n")
    assert resources._meminfo_available(meminfo) == 2048 * 1024
    assert resources._meminfo_available(tmp_path / "missing") is None


def test_format_bytes() -> None:
    assert resources.format_bytes(8 << 30) == "8.00 GiB"
    assert resources.format_bytes(512 << 20) == "512.0 MiB"
    assert resources.format_bytes(96) == "96 B"


@pytest.mark.slow  # ~5 s, mostly loading the 15-qubit kernels
def test_estimate_matches_a_measured_forward_pass() -> None:
    """15 qubits: the estimate bounds the states NumPy allocates, and is not far above them.

    The batch-wide path holds all ``B`` states (the estimate, to 10%); when the simulator
    instead runs one sample per thread (3·B ≥ threads, up to 16 qubits, split-array
    circuits) it holds ``min(B, threads)`` of them, so the estimate — which cannot see
    which path a circuit takes — is then conservative by ``B / min(B, threads)``.
    """
    import tracemalloc

    import numpy as np

    from qadl.api import loads
    from qadl.backends.sim import Simulator

    n, batch = 15, 8
    source = (
        f"model m(x: float[{n}]) on q[{n}] {{\n"
        f"    for j in 0..{n} {{ ry(x[j]) q[j] }}\n"
        f"    for j in 0..{n - 1} {{ cx q[j], q[j + 1] }}\n"
        "    readout probs(q[0]) -> classes 2\n}\n"
    )
    sim = Simulator(loads(source, "m.qadl").models["m"].circuit)
    x = np.random.default_rng(0).uniform(size=(batch, n))
    sim.outputs(np.zeros(0), x=x)  # compile (or load) the kernels first
    tracemalloc.start()
    try:
        sim.outputs(np.zeros(0), x=x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    from numba import get_num_threads

    estimate = resources.estimate_bytes(n, batch)
    held = min(batch, get_num_threads())  # states alive on the one-sample-per-thread path
    assert estimate * held / batch / 1.5 <= peak <= 1.5 * estimate, (peak, estimate, held)


def test_the_first_remedy_is_the_callers(monkeypatch) -> None:
    """An evaluation has no batch to shrink: its remedy is fewer samples."""
    from qadl.errors import QadlError
    from qadl.source import Span

    monkeypatch.setenv(resources.MEMORY_LIMIT_ENV, "1M")
    with pytest.raises(QadlError) as err:
        resources.require_memory(
            20, 100, False, True, Span("p.qadl", 0, 1), "evaluating `m`", "fewer samples"
        )
    assert err.value.diagnostics[0].help.startswith("use fewer samples (one state takes 16.0 MiB)")


def test_trajectories_are_bounded_by_their_chunk() -> None:
    chunk = resources.TRAJECTORY_CHUNK_BYTES
    assert resources.estimate_bytes(12, 10, trajectories=500) == chunk
    assert resources.estimate_bytes(12, 10, gradient=True, trajectories=500) == 3 * chunk
    assert resources.estimate_bytes(3, 1, trajectories=2) == 16 * 8 * 2


def test_a_noisy_device_run_is_guarded_as_density_matrices(tmp_path, monkeypatch, capsys):
    from qadl.cli import main

    here = Path(__file__).parent
    source = (here / "cli_tiny.qadl").read_text()
    source = source.replace(
        "import encodings.angle", "import encodings.angle\nimport targets.chain10"
    )
    (tmp_path / "noisy.qadl").write_text(source + "\ndevice m on chain10\n")
    (tmp_path / "cli_tiny.csv").write_text((here / "cli_tiny.csv").read_text())
    monkeypatch.setenv(resources.MEMORY_LIMIT_ENV, "1K")
    args = ["run", str(tmp_path / "noisy.qadl"), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "error[E0803]" in err and "density matrices" in err and "no `device` line" in err
