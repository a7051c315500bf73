"""A 2 x 2 sweep end to end (tests/run/sweep_tiny.qadl): one run directory per point, an
aggregate equal to the statistics computed here from the points' own results.json, each
point equal to a plain run of the file with its constants edited by hand, and --resume."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from qadl.cli import main

SWEEP = Path(__file__).parent / "sweep_tiny.qadl"
KEYS = ["SEED=1,LR=0.05", "SEED=1,LR=0.2", "SEED=2,LR=0.05", "SEED=2,LR=0.2"]


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep")
    assert main(["run", str(SWEEP), "--out", str(out), "--no-progress"]) == 0
    return out


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_one_directory_per_point_and_no_time_in_results(sweep_run: Path) -> None:
    results = _json(sweep_run / "results.json")
    assert [p["key"] for p in results["points"]] == KEYS
    assert results["sweep"] == {
        "axes": [{"name": "SEED", "values": [1, 2]}, {"name": "LR", "values": [0.05, 0.2]}],
        "replicate": ["SEED"], "size": 4,
    }
    for point in results["points"]:
        directory = sweep_run / point["dir"]
        assert (directory / "results.json").is_file() and (directory / "m.params.npz").is_file()
    # wall-clock time lives in timings.json only
    assert not _keys(results) & {"seconds", "timing", "out_dir"}
    assert set(_json(sweep_run / "timings.json")["points"]) == set(KEYS)
    for name in ("sweep_accuracy_vs_epsilon", "sweep_LR"):
        assert (sweep_run / "plots" / f"{name}.png").stat().st_size > 1000


def test_aggregate_is_mean_std_and_t_interval_of_the_points(sweep_run: Path) -> None:
    results = _json(sweep_run / "results.json")
    groups = {g["key"]: g for g in results["aggregate"]}
    assert list(groups) == ["LR=0.05", "LR=0.2"]
    for lr in ("0.05", "0.2"):
        runs = [_json(sweep_run / "points" / f"SEED={s},LR={lr}" / "results.json")
                for s in (1, 2)]
        direct = {
            ("clean_accuracy", None, None): [r["evaluations"][0]["clean_accuracy"] for r in runs],
            ("final_loss", None, None): [r["models"]["m"]["history"]["loss"][-1] for r in runs],
        }
        for i, eps in enumerate((0.1, 0.3)):
            direct[("robust_accuracy", "fgsm_sweep", eps)] = [
                r["evaluations"][0]["points"][i]["robust_accuracy"] for r in runs]
            assert runs[0]["evaluations"][0]["points"][i]["epsilon"] == eps
        found = {(m["metric"], m.get("attack"), m.get("epsilon")): m
                 for m in groups[f"LR={lr}"]["metrics"]}
        for ident, values in direct.items():
            m = found[ident]
            mean, std = np.mean(values), np.std(values, ddof=1)
            half = stats.t.ppf(0.975, len(values) - 1) * std / math.sqrt(len(values))
            assert m["n"] == 2
            assert m["mean"] == pytest.approx(mean, rel=1e-12, abs=1e-15)
            assert m["std"] == pytest.approx(std, rel=1e-12, abs=1e-15)
            assert m["ci95"] == pytest.approx([mean - half, mean + half], rel=1e-9, abs=1e-12)


def _numbers(results: dict) -> dict:
    """results.json without what names the run (paths) or times it."""
    out = {k: v for k, v in results.items() if k not in ("program", "out_dir", "timing",
                                                          "seconds")}
    models = json.loads(json.dumps(out["models"]))
    for model in models.values():
        model.pop("seconds", None)
        model["history"].pop("seconds", None)
    out["models"] = models
    return out


def test_a_point_is_the_file_with_its_constants_edited(sweep_run: Path, tmp_path) -> None:
    text = SWEEP.read_text(encoding="utf-8")
    edited = re.sub(r"^sweep .*$", "", text, flags=re.MULTILINE)
    edited = edited.replace("const SEED = 5", "const SEED = 2").replace(
        "const LR = 0.1", "const LR = 0.2")
    assert edited != text
    path = tmp_path / "edited.qadl"
    path.write_text(edited, encoding="utf-8")
    out = tmp_path / "plain"
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--no-plots"]) == 0
    point = sweep_run / "points" / "SEED=2,LR=0.2"
    assert _numbers(_json(out / "results.json")) == _numbers(_json(point / "results.json"))
    np.testing.assert_array_equal(np.load(out / "m.params.npz")["theta"],
                                  np.load(point / "m.params.npz")["theta"])


def test_check_reports_the_grid(capsys) -> None:
    assert main(["check", str(SWEEP)]) == 0
    assert "sweep of 4 points: SEED (2) × LR (2), aggregated over SEED" in capsys.readouterr().out


def test_resume_reruns_no_point(sweep_run: Path, capsys) -> None:
    before = (sweep_run / "results.json").read_bytes()
    stamps = {k: (sweep_run / "points" / k / "results.json").stat().st_mtime_ns for k in KEYS}
    assert main(["run", str(SWEEP), "--out", str(sweep_run), "--resume"]) == 0
    assert "4/4 already done" in capsys.readouterr().out
    assert (sweep_run / "results.json").read_bytes() == before
    assert stamps == {k: (sweep_run / "points" / k / "results.json").stat().st_mtime_ns
                      for k in KEYS}


def test_seed_7_of_ren2022_seeds_is_the_flagship() -> None:
    """examples/ren2022_seeds.qadl at SEED = 7 declares exactly examples/ren2022_images.qadl."""
    import qadl

    examples = Path(__file__).resolve().parents[2] / "examples"
    seeds = examples / "ren2022_seeds.qadl"
    program = qadl.load(seeds)
    assert program.sweep is not None and program.sweep.replicate == ("SEED",)
    assert program.sweep.axes[0].values == tuple(range(1, 11))
    point = qadl.loads(seeds.read_text(encoding="utf-8"), str(seeds), bindings={"SEED": 7})
    flagship = qadl.load(examples / "ren2022_images.qadl")
    for part in ("models", "datasets", "trainings", "attacks", "defences"):
        assert getattr(point, part) == getattr(flagship, part), part
    # the same evaluations (certificates, where the flagship asks for them, are not swept)
    assert [(e.models, e.data, e.under, e.options.get("plots")) for e in point.evaluations] == [
        (e.models, e.data, e.under, e.options.get("plots")) for e in flagship.evaluations]
    other = qadl.loads(seeds.read_text(encoding="utf-8"), str(seeds), bindings={"SEED": 3})
    assert other.trainings[0].options["seed"] == 3 and other.defences[0].options["seed"] == 3
    assert other.attacks["pgd_sweep"].options["seed"] == 3
