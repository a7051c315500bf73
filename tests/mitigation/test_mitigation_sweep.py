"""`evaluate { device T; noise_scale [...] }` end to end: one row per scale, attack and ε,
transfers from the noiseless model, the sweep's CSV, JSON and plot."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qadl.api import load
from qadl.backends.sim import NoisySimulator, Simulator
from qadl.cli import main
from qadl.ir.noise_scaling import scaled_noise
from qadl.learn.classifier import Classifier
from qadl.run.configs import load_data
from qadl.run.noise_sweep import SweepRow, plot_sweep, sweep_figure
from tests.mitigation.helpers import model, write_data

PROGRAM = (
    'data d = file("d.csv", test = 0.5, seed = 1)\n'
    + model("m")
    + """noise lab { depolarizing(1q = 0.05, 2q = 0.2); readout_error(p01 = 0.05, p10 = 0.2) }
target lab2 { qubits 2; basis [ry, cx]; coupling chain; noise lab }
train m on d.train { loss mse; optimizer adam(lr = 0.1); epochs 3; batch 10; seed 3 }
evaluate m on d.test under [clean, fgsm(epsilon = [0.2, 0.5])] {
    device lab2
    noise_scale [0, 1, 2.5]
    SWEEP_EXTRA
}
"""
)


def _write(root: Path, name: str, extra: str = "") -> Path:
    write_data(root)
    path = root / name
    path.write_text(PROGRAM.replace("SWEEP_EXTRA", extra))
    return path


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("sweep")
    path = _write(root, "s.qadl")
    out = root / "out"
    assert main(["run", str(path), "--out", str(out), "--no-plots"]) == 0
    return path, out


def _accuracy(clf: Classifier, theta, data) -> float:
    return float(np.mean(clf.predict(theta, x=data.x) == data.y))


def test_each_scale_is_the_device_with_its_noise_scaled(swept) -> None:
    path, out = swept
    results = json.loads((out / "results.json").read_text())
    by_model = {e["model"]: e for e in results["evaluations"]}
    assert list(by_model) == ["m @ lab2 ×0", "m @ lab2 ×1", "m @ lab2 ×2.5"]
    program = load(path)
    model, theta = program.models["m"], np.load(out / "m.params.npz")["theta"]
    test = load_data(program.datasets["d"])[1]
    noise = program.targets["lab2"].noise
    noiseless = Classifier(Simulator(model.circuit), model.circuit.readout)
    assert by_model["m @ lab2 ×0"]["clean_accuracy"] == pytest.approx(
        _accuracy(noiseless, theta, test), abs=1e-12
    )
    accuracies = []
    for scale in (1.0, 2.5):
        sim = NoisySimulator(model.circuit, scaled_noise(noise, scale), shots=0)
        want = _accuracy(Classifier(sim, model.circuit.readout), theta, test)
        accuracies.append(want)
        assert by_model[f"m @ lab2 ×{scale:g}"]["clean_accuracy"] == pytest.approx(want, abs=1e-12)
    # at ×2.5 the 2q depolarising is 0.5 and the readout flips half the 1s: it must show
    assert accuracies[1] != pytest.approx(by_model["m @ lab2 ×0"]["clean_accuracy"])


def test_transfers_from_the_noiseless_model_are_replayed_at_every_scale(swept) -> None:
    _, out = swept
    results = json.loads((out / "results.json").read_text())
    rows = results["noise_sweeps"][0]["rows"]
    attacks = {(r["scale"], r["attack"], r["epsilon"]): r["accuracy"] for r in rows}
    for scale in (0.0, 1.0, 2.5):
        assert (scale, "clean", None) in attacks
        for eps in (0.2, 0.5):
            assert (scale, "fgsm", eps) in attacks
            assert (scale, "fgsm (from noiseless)", eps) in attacks
    # on the noiseless device the transfer is the white-box attack itself
    for eps in (0.2, 0.5):
        assert attacks[(0.0, "fgsm (from noiseless)", eps)] == attacks[(0.0, "fgsm", eps)]
    with open(out / "noise_sweep.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows) == 3 * (1 + 2 + 2)
    assert {r["noise_scale"] for r in table} == {"0", "1", "2.5"}


def test_the_sweep_plot_has_one_line_per_model_attack_and_epsilon(tmp_path: Path) -> None:
    rows = [
        SweepRow("m", s, a, e, acc)
        for s, acc in ((0.0, 0.9), (1.0, 0.8), (2.0, 0.6))
        for a, e in (("clean", None), ("bim", 0.1), ("bim (from noiseless)", 0.1))
    ]
    rows += [SweepRow("m (readout)", s, "clean", None, 0.9) for s in (1.0, 2.0)]
    rows += [SweepRow("h", s, "bim", 0.1, 0.5) for s in (0.0, 1.0)]
    path = plot_sweep(rows, tmp_path / "p.png")
    assert path.stat().st_size > 5000
    fig = sweep_figure(rows)
    m, h = (ax for ax in fig.axes if ax.get_title())
    assert (m.get_title(), h.get_title()) == ("m", "h")
    assert [line.get_label() for line in m.get_lines()] == [
        "noisy: clean", "noisy: bim ε=0.1", "noisy: bim (from noiseless) ε=0.1",
        "(readout): clean",
    ]
    by_label = {line.get_label(): line for line in m.get_lines()}
    assert by_label["noisy: bim ε=0.1"].get_linestyle() == "-"
    assert by_label["noisy: bim (from noiseless) ε=0.1"].get_linestyle() == "--"
    assert by_label["(readout): clean"].get_marker() == "s"
    # one colour per attack and ε, the same in both panels
    assert by_label["noisy: bim ε=0.1"].get_color() == h.get_lines()[0].get_color()
    assert by_label["noisy: bim ε=0.1"].get_color() == by_label[
        "noisy: bim (from noiseless) ε=0.1"].get_color()
    assert list(h.get_lines()[0].get_xdata()) == [0.0, 1.0]


@pytest.mark.slow
def test_a_mitigated_sweep_restores_the_noiseless_decisions(tmp_path: Path) -> None:
    """Readout inversion + channel ZNE over a depolarising chain: close to noiseless at every
    scale (the expectations are polynomials of degree ≤ 4 in λ, Richardson uses 3 points)."""
    path = _write(
        tmp_path, "m.qadl", "mitigate [readout, zne(scales = [1, 1.5, 2], scaling = channel)]"
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    by_model = {e["model"]: e for e in results["evaluations"]}
    label = "m @ lab2 ×2.5 (readout+zne(richardson, channel))"
    assert label in by_model and "m @ lab2 ×0 (readout+zne(richardson, channel))" not in by_model
    noiseless = by_model["m @ lab2 ×0"]["clean_accuracy"]
    assert abs(by_model[label]["clean_accuracy"] - noiseless) <= 0.1
    attacks = {p["attack"] for p in by_model[label]["points"]}
    assert attacks == {"fgsm", "fgsm (from noiseless)"}  # both replayed through the mitigation
    assert (out / "plots" / "accuracy_vs_noise_scale.png").exists()
    program = load(path)
    target = program.targets["lab2"]
    assert replace(target, noise=scaled_noise(target.noise, 2.5)).noise.depolarizing_2q == 0.5
