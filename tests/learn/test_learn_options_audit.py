"""Options audit: every documented `train`/`defend`, optimizer, `target` and `noise` option
changes the result as docs/language.md says (§12, §14, §16), and the checker's schema and
the docs list the same options.

Each row of a table is ``(snippet, baseline, effect)``: the snippet's options go through
the checker and ``qadl.run.configs`` (the path ``qadl run`` takes), and ``effect`` compares
the run against the baseline's.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from qadl.api import loads
from qadl.backends.sim import Simulator
from qadl.backends.sim.noisy import NoisySimulator
from qadl.check.methods import OPTIMIZERS
from qadl.check.schema import SCHEMAS
from qadl.ir.target import NoiseModel
from qadl.learn import checkpoint as checkpoint_module
from qadl.learn import train as train_module
from qadl.learn.classifier import Classifier
from qadl.learn.data import Dataset
from qadl.learn.train import fit
from qadl.passes.pipeline import compile_for_target
from qadl.run import configs

from .circuits import tiny_classifier

REPO = Path(__file__).resolve().parents[2]
LANGUAGE = (REPO / "docs" / "language.md").read_text(encoding="utf-8")

HEADER = """
data d = builtin.digits(classes = [0, 1], size = 2x2, test = 0.2)
model m(p: float[4]) on q[2] {
    ry(p[0]) q[0]
    ry(p[1]) q[1]
    param θ[2]
    cz q[0], q[1]
    for i in 0..2 { ry(θ[i]) q[i] }
    readout probs(q[0])
}
"""


def train_options(snippet: str) -> dict:
    """The checked options of ``train m on d.train { snippet }``."""
    program = loads(HEADER + f"train m on d.train {{ {snippet} }}\n")
    return dict(program.trainings[0].options)


class _SpySimulator:
    """A simulator that records the gradient method of every ``vjp`` call."""

    def __init__(self, sim: Simulator):
        self.sim, self.methods = sim, []
        self.num_params = sim.num_params

    def outputs(self, *args, **kwargs):
        return self.sim.outputs(*args, **kwargs)

    def vjp(self, *args, method="adjoint", **kwargs):
        self.methods.append(method)
        return self.sim.vjp(*args, method=method, **kwargs)


def _blobs() -> Dataset:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    x = np.where(y[:, None] == 0, [0.6, 0.9], [2.3, 2.0]) + rng.normal(scale=0.5, size=(40, 2))
    return Dataset(x=x, y=y, num_classes=2, name="blobs")


class Run:
    """One training run of the tiny classifier with the options of a snippet."""

    def __init__(self, snippet: str, tmp: Path, monkeypatch):
        circuit = tiny_classifier()
        self.spy = _SpySimulator(Simulator(circuit))
        clf = Classifier(self.spy, circuit.readout)
        self.out = tmp / re.sub(r"\W+", "_", snippet or "baseline")
        self.config = configs.train_config(
            train_options(snippet),
            checkpoint_dir=self.out / "checkpoints" / "m",
            resume=False,
            out_dir=self.out,
        )
        self.saved: list[int] = []
        real_save = checkpoint_module.save_checkpoint

        def save(directory, ckpt):
            self.saved.append(ckpt.epoch)
            return real_save(directory, ckpt)

        monkeypatch.setattr(train_module, "save_checkpoint", save)
        theta0 = np.random.default_rng(1).uniform(0, 2 * np.pi, clf.num_params)
        self.result = fit(clf, theta0, _blobs(), self.config, progress=False)
        self.history = self.result.history


def _theta_differs(run: Run, base: Run) -> bool:
    return float(np.max(np.abs(run.result.theta - base.result.theta))) > 1e-6


def _loss_differs(run: Run, base: Run) -> bool:
    n = min(len(run.history.loss), len(base.history.loss))
    return float(np.max(np.abs(np.subtract(run.history.loss[:n], base.history.loss[:n])))) > 1e-6


COMMON = "epochs 3; batch 10"
COBYLA = "epochs 1; batch 40; optimizer cobyla(maxiter = 30"


def _with_common(snippet: str) -> str:
    """``COMMON`` with the snippet's options added (a key the snippet sets replaces COMMON's)."""
    parts = [p.strip() for p in snippet.split(";") if p.strip()]
    keys = {re.match(r"\w+", p).group() for p in parts}
    common = [p for p in COMMON.split("; ") if re.match(r"\w+", p).group() not in keys]
    return "; ".join(common + parts)


TRAIN_AUDIT = [
    # (snippet, baseline snippet, effect(run, base) -> bool)
    ("loss mse", "", lambda r, b: r.config.loss == "mse" and _loss_differs(r, b)),
    ("loss hinge", "", lambda r, b: r.config.loss == "hinge" and _loss_differs(r, b)),
    ("optimizer adam(lr = 0.3)", "optimizer adam", _theta_differs),
    ("optimizer adam(beta1 = 0.3)", "optimizer adam", _theta_differs),
    ("optimizer adam(beta2 = 0.5)", "optimizer adam", _theta_differs),
    ("optimizer adam(eps = 0.5)", "optimizer adam", _theta_differs),
    ("optimizer sgd(lr = 0.5)", "optimizer sgd", _theta_differs),
    ("optimizer sgd(momentum = 0.9)", "optimizer sgd", _theta_differs),
    ("optimizer spsa(lr = 0.5)", "optimizer spsa", _theta_differs),
    ("optimizer spsa(perturbation = 0.4)", "optimizer spsa", _theta_differs),
    ("optimizer spsa(alpha = 0.1)", "optimizer spsa", _theta_differs),
    ("optimizer spsa(gamma = 0.6)", "optimizer spsa", _theta_differs),
    (f"{COBYLA}, rhobeg = 1.5)", f"{COBYLA})", _theta_differs),
    # tol ends the run once the trust radius is that small (37 evaluations here, not 80)
    (
        "epochs 1; batch 40; optimizer cobyla(maxiter = 80, tol = 0.25)",
        "epochs 1; batch 40; optimizer cobyla(maxiter = 80)",
        _theta_differs,
    ),
    ("epochs 1; batch 40; optimizer cobyla(maxiter = 15)", f"{COBYLA})", _theta_differs),
    ("epochs 2", "", lambda r, b: r.history.epoch == (1, 2) and b.history.epoch == (1, 2, 3)),
    ("batch 40", "", _theta_differs),
    ("seed 3", "", _theta_differs),
    (
        "gradient parameter_shift",
        "",
        lambda r, b: (
            set(r.spy.methods) == {"parameter-shift"}
            and set(b.spy.methods) == {"adjoint"}
            and np.allclose(r.result.theta, b.result.theta, atol=1e-8)
        ),
    ),
    ("checkpoint 2", "", lambda r, b: r.saved == [2, 3] and b.saved == [1, 2, 3]),
    ("checkpoint(every = 2)", "", lambda r, b: r.saved == [2, 3] and b.saved == [1, 2, 3]),
    (
        'checkpoint(path = "ck/m")',
        "",
        lambda r, b: (
            (r.out / "ck" / "m" / "last.npz").is_file() and not (r.out / "checkpoints").exists()
        ),
    ),
    (
        "optimizer adam(lr = 0.01); epochs 12; early_stop(patience = 2)",
        "optimizer adam(lr = 0.01); epochs 12",
        lambda r, b: r.result.stopped_early and len(r.history.epoch) < 12,
    ),
    (
        "optimizer adam(lr = 0.01); epochs 12; early_stop 2",
        "optimizer adam(lr = 0.01); epochs 12",
        lambda r, b: r.result.stopped_early and len(r.history.epoch) < 12,
    ),
    (
        "optimizer adam(lr = 0.01); epochs 12; early_stop(patience = 2, min_delta = 0.5)",
        "optimizer adam(lr = 0.01); epochs 12; early_stop(patience = 2)",
        # no epoch beats the first by 0.5 accuracy: stop after 1 + patience epochs
        lambda r, b: len(r.history.epoch) == 3 and len(b.history.epoch) > 3,
    ),
    (
        "validation 0.25",
        "",
        lambda r, b: (
            all(math.isfinite(v) for v in r.history.val_acc + r.history.val_loss)
            and all(math.isnan(v) for v in b.history.val_acc)
            and r.spy.methods.count("adjoint") == 3 * 3  # 30 kept samples: 3 batches an epoch
            and b.spy.methods.count("adjoint") == 3 * 4
        ),
    ),
    ("shots 8", "", lambda r, b: r.config.shots == 8 and _loss_differs(r, b)),
]


@pytest.mark.parametrize(
    ("snippet", "baseline", "effect"), TRAIN_AUDIT, ids=[t[0] for t in TRAIN_AUDIT]
)
def test_train_option_changes_the_result(snippet, baseline, effect, tmp_path, monkeypatch) -> None:
    base = Run(_with_common(baseline), tmp_path / "base", monkeypatch)
    run = Run(_with_common(snippet), tmp_path / "run", monkeypatch)
    assert effect(run, base), snippet


def test_every_train_and_optimizer_option_is_audited() -> None:
    audited = " ".join(s for s, _, _ in TRAIN_AUDIT)
    for key in SCHEMAS["train"].options:
        if key == "federated":  # its own loop, audited in tests/privacy/test_privacy_federated.py
            continue
        if key == "dp":  # DP-SGD, audited in tests/privacy/test_privacy_dp_training.py
            continue
        if key == "mitigate":  # audited in tests/mitigation/test_mitigation_training.py
            continue
        assert re.search(rf"\b{key}\b", audited), f"train option `{key}` has no audit row"
    for name, params in OPTIMIZERS.items():
        calls = " ".join(s for s, _, _ in TRAIN_AUDIT if f"{name}(" in s)
        for key in params:
            assert re.search(rf"\b{key} =", calls), f"`{name}({key})` has no audit row"
    for key in ("every", "path", "patience", "min_delta"):
        assert f"{key} =" in audited


def test_defend_takes_the_train_options() -> None:
    # all but `federated` (adversarial training is centralized), `dp` (DP-SGD is
    # accounted for `train` runs only) and `mitigate` (defences run on the declared noise)
    only_train = ("federated", "dp", "mitigate")
    train = {k: v for k, v in SCHEMAS["train"].options.items() if k not in only_train}
    assert SCHEMAS["defend"].options == train
    rules = tuple(r for r in SCHEMAS["train"].rules if r[0] not in only_train)
    assert SCHEMAS["defend"].rules == rules


def test_spsa_options_map_to_spalls_gains() -> None:
    opt = configs.train_config(
        train_options("optimizer spsa(lr = 0.4, perturbation = 0.2, alpha = 0.7, gamma = 0.2)"),
        checkpoint_dir=None,
        resume=False,
    ).optimizer
    assert (opt.a, opt.c, opt.alpha, opt.gamma) == (0.4, 0.2, 0.7, 0.2)
    # a_k = lr / (k + 1 + A)^alpha, c_k = perturbation / (k + 1)^gamma, as documented
    assert math.isclose(opt.gains(2)[0], 0.4 / 13**0.7)
    assert math.isclose(opt.gains(2)[1], 0.2 / 3**0.2)


def test_spsa_directions_follow_the_block_seed() -> None:
    def opt(seed: int):
        options = train_options(f"optimizer spsa; seed {seed}")
        return configs.train_config(options, checkpoint_dir=None, resume=False).optimizer

    assert opt(3).seed == 3 and opt(4).seed == 4


# -- targets and noise ------------------------------------------------------------------------


def target_of(snippet: str, extra: str = ""):
    """The lowered target ``t`` of ``target t { qubits 2; snippet }``."""
    program = loads(f"{extra}\ntarget t {{ qubits 2; {snippet} }}\n")
    return program.targets["t"]


def _noisy_outputs(noise: NoiseModel) -> np.ndarray:
    circuit = tiny_classifier()
    theta = np.random.default_rng(1).uniform(0, 2 * np.pi, circuit.num_params)
    x = np.array([[0.3, 1.2], [2.0, 0.4]])
    return NoisySimulator(circuit, noise, shots=0).outputs(theta, x=x)


NOISELESS = _noisy_outputs(NoiseModel())


def _noise_changes_outputs(t) -> bool:
    return float(np.max(np.abs(_noisy_outputs(t.noise) - NOISELESS))) > 1e-6


NOISE_AUDIT = [
    (
        "depolarizing(1q = 0.05)",
        lambda t: t.noise.depolarizing_1q == 0.05 and _noise_changes_outputs(t),
    ),
    (
        "depolarizing(2q = 0.05)",
        lambda t: t.noise.depolarizing_2q == 0.05 and _noise_changes_outputs(t),
    ),
    (
        "fidelity(1q = 0.99)",
        lambda t: math.isclose(t.noise.depolarizing_1q, 0.02) and _noise_changes_outputs(t),
    ),
    (
        "fidelity(2q = 0.97)",
        lambda t: math.isclose(t.noise.depolarizing_2q, 0.04) and _noise_changes_outputs(t),
    ),
    (
        "readout_error(p01 = 0.1)",
        lambda t: t.noise.readout_error == (0.1, 0.0) and _noise_changes_outputs(t),
    ),
    (
        "readout_error(p10 = 0.1)",
        lambda t: t.noise.readout_error == (0.0, 0.1) and _noise_changes_outputs(t),
    ),
    ("t1 2us; gate_time(1q = 100ns)", lambda t: t.noise.t1 == 2.0 and _noise_changes_outputs(t)),
    ("t2 1us; gate_time(2q = 200ns)", lambda t: t.noise.t2 == 1.0 and _noise_changes_outputs(t)),
    (
        "shots 50",
        lambda t: (
            t.noise.shots == 50
            and configs.train_config(
                {}, checkpoint_dir=None, resume=False, device_shots=t.noise.shots
            ).shots
            == 50
        ),
    ),
]


@pytest.mark.parametrize(("snippet", "effect"), NOISE_AUDIT, ids=[n[0] for n in NOISE_AUDIT])
def test_noise_option_changes_the_result(snippet, effect) -> None:
    assert effect(target_of(snippet)), snippet
    if re.match(r"\w+", snippet).group() in SCHEMAS["noise"].options:
        # the same option in a `noise` declaration named by the target has the same effect
        assert effect(target_of("noise lab", f"noise lab {{ {snippet} }}")), snippet


def test_target_structure_options_shape_the_compiled_circuit() -> None:
    t = target_of("basis [rz, sx, x, cx]; coupling chain") if False else None
    program = loads(
        "target t { qubits 3; basis [rz, sx, x, cx]; coupling chain }\n"
        "target u { qubits 3; basis [rx, ry, rz, cz]; coupling [(0, 2), (1, 2)] }\n"
    )
    circuit = tiny_classifier(num_qubits=3)
    x = np.array([0.3, 1.2, 0.7])
    for name in ("t", "u"):
        t = program.targets[name]
        assert t.num_qubits == 3
        compiled = compile_for_target(circuit, t, x=x, report=False).circuit
        gates = {op.gate for op in compiled.ops}
        assert gates <= set(t.basis), (name, gates)
        pairs = {tuple(sorted(op.qubits)) for op in compiled.ops if len(op.qubits) == 2}
        assert pairs <= set(t.coupling), (name, pairs)
    assert program.targets["u"].coupling == ((0, 2), (1, 2))


def test_target_noise_and_its_overrides() -> None:
    lab = "noise lab { depolarizing(1q = 0.01, 2q = 0.03); readout_error(p01 = 0.1) }"
    t = target_of("noise lab; depolarizing(1q = 0.2)", lab)
    # an option of the target replaces the noise's option of that name as a whole
    assert (t.noise.depolarizing_1q, t.noise.depolarizing_2q) == (0.2, 0.0)
    assert t.noise.readout_error == (0.1, 0.0)
    u = target_of("noise lab; fidelity(2q = 0.97)", lab)
    # the target's `fidelity` replaces the noise's `depolarizing` (both of its entries)
    assert u.noise.depolarizing_1q == 0.0 and math.isclose(u.noise.depolarizing_2q, 0.04)


def test_every_target_and_noise_option_is_audited() -> None:
    audited = " ".join(s for s, _ in NOISE_AUDIT) + " qubits basis coupling noise"
    for kind in ("target", "noise"):
        for key in SCHEMAS[kind].options:
            assert re.search(rf"\b{key}\b", audited), f"{kind} option `{key}` has no audit row"


# -- the schema and the docs agree ----------------------------------------------------------


def _section(title: str) -> str:
    start = LANGUAGE.index(f"## {title}")
    return LANGUAGE[start : LANGUAGE.index("\n## ", start + 1)]


def _table_keys(section: str) -> set[str]:
    """The options of a section's tables: the backticked words of each row's first cell."""
    keys = set()
    for row in re.findall(r"^\| (.+?) \|", section, re.MULTILINE):
        keys |= set(re.findall(r"`(\w+)", row))
    return keys - {"option", "target"}


def test_train_options_in_schema_and_docs_agree() -> None:
    documented = _table_keys(_section("12 Training"))
    assert documented == set(SCHEMAS["train"].options)


def test_optimizer_options_in_schema_and_docs_agree() -> None:
    row = next(r for r in _section("12 Training").splitlines() if r.startswith("| `optimizer`"))
    documented = {
        name: set(re.findall(r"\w+", args))
        for name, args in re.findall(r"`(\w+)\(([^)]*)\)`", row.split("|")[2])
    }
    assert documented == {name: set(params) for name, params in OPTIMIZERS.items()}


def test_defence_block_is_documented_as_train_options() -> None:
    assert "takes the options of `train` (§12)" in _section("14 Defences")


def test_target_and_noise_options_in_schema_and_docs_agree() -> None:
    # the target/noise table only: the subsection on mitigation tabulates `mitigate` methods
    section = _section("16 Targets, noise and devices").split("\n### ")[0]
    documented = _table_keys(section)
    assert documented == set(SCHEMAS["target"].options)
    assert set(SCHEMAS["noise"].options) <= set(SCHEMAS["target"].options)
    rows = {
        key: row
        for row in re.findall(r"^\| (.+)$", section, re.MULTILINE)
        for key in re.findall(r"`(\w+)", row.split("|")[0])
    }
    for call, params in (
        ("fidelity", ("1q", "2q")),
        ("depolarizing", ("1q", "2q")),
        ("readout_error", ("p01", "p10")),
        ("gate_time", ("1q", "2q")),
    ):
        assert all(p in rows[call] for p in params), call
