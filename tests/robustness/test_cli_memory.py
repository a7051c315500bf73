"""The run-time memory guard: the estimate, the available-memory probe and its override."""

from __future__ import annotations

import pytest

from qadl.run import resources


def test_estimate_scales_with_state_batch_and_gradient() -> None:
    """16·2^n per statevector, 16·4^n per density matrix, ×batch, ×3 for a gradient."""
    assert resources.estimate_bytes(26, 4) == 16 * 2**26 * 4
    assert resources.estimate_bytes(12, 2, noisy=True) == 16 * 4**12 * 2
    assert resources.estimate_bytes(3, 5, gradient=True) == 3 * resources.estimate_bytes(3, 5)
    assert resources.estimate_bytes(3, 0) == resources.estimate_bytes(3, 1)


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
