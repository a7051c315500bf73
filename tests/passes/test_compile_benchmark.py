"""``benchmarks/compile.py --fresh N`` compiles N new samples of each bound circuit, and
``--random N`` N random circuits."""

from __future__ import annotations

import importlib

import pytest

from .test_pass_speed_fingerprint import _bench

pytest.importorskip("qiskit")


def test_fresh_prints_a_row_per_target_with_that_many_samples(capsys, monkeypatch):
    routing = importlib.import_module("qadl.passes.route_sabre")
    # --python-routing sets this for the process: restored after the test
    monkeypatch.setattr(routing, "KERNEL_MIN_TWO_QUBIT", routing.KERNEL_MIN_TWO_QUBIT)
    only = "ZZ feature map linear"  # no routing needed: quick
    assert _bench().main(["--quick", "--python-routing", "--only", only, "--fresh", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith(f"| {only}") and "| 2 |" in line]
    assert [row.split(" | ")[1] for row in rows] == ["chain10", "heavy_hex27"]
    for row in rows:
        ratio = row.split(" | ")[3]
        assert ratio.startswith("**") and float(ratio.split("**")[1]) > 0
    without = _bench().main(["--quick", "--python-routing", "--only", only])
    assert without == 0 and "| samples |" not in capsys.readouterr().out


def test_random_prints_totals_per_target_that_add_up(capsys, monkeypatch):
    routing = importlib.import_module("qadl.passes.route_sabre")
    monkeypatch.setattr(routing, "KERNEL_MIN_TWO_QUBIT", routing.KERNEL_MIN_TWO_QUBIT)
    bench = _bench()
    args = ["--quick", "--python-routing", "--only", "ZZ feature map linear", "--random", "3"]
    assert bench.main(args) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "| 3 |" in line]
    assert [row.split(" | ")[0] for row in rows] == ["| chain10", "| heavy_hex27"]
    circuits = bench.random_circuits(3, 7)
    assert bench.random_circuits(3, 7) == circuits != bench.random_circuits(3, 8)  # seeded
    assert all(4 <= c.num_qubits <= 8 and 20 <= len(c.ops) <= 80 for c in circuits)
    for row in rows:
        qadl, qiskit = (tuple(map(int, cell.split(" / "))) for cell in row.split(" | ")[2:4])
        assert all(n > 0 for n in qadl + qiskit)
        assert qadl[0] <= qadl[2] and qiskit[0] <= qiskit[2]  # two-qubit gates are ops
