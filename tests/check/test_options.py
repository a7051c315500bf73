"""Experiment statements resolve to plain values; schemas reject bad names and values."""

from __future__ import annotations

import math

import pytest

from qadl.api import loads
from qadl.check.values import CallValue, Condition, DataRef
from qadl.errors import QadlError

MODEL = "model clf(p: float[4]) on q[2] {\n rx(p[0]) q[0]\n readout probs(q[0]) -> classes 2\n}\n"
DATA = (
    "data d = builtin.digits(classes = [1, 9], size = 2x2, normalize = l2, test = 0.2, seed = 7)\n"
)


def program(text: str):
    return loads(MODEL + DATA + text, "t.qadl")


def codes(text: str) -> list[str]:
    with pytest.raises(QadlError) as info:
        program(text)
    return [d.code for d in info.value.diagnostics]


def test_data_spec():
    spec = program("").datasets["d"]
    assert spec.source == "builtin.digits"
    assert spec.options == {
        "classes": (1, 9),
        "size": (2, 2),
        "normalize": "l2",
        "test": 0.2,
        "seed": 7,
    }


def test_train_spec_values():
    (t,) = program(
        "train clf on d.train { loss cross_entropy; optimizer adam(lr = 0.05)\n epochs 20\n"
        " batch 20; seed 7; gradient adjoint; checkpoint(every = 1); early_stop(patience = 5) }"
    ).trainings
    assert t.model == "clf" and t.data == DataRef("d", "train")
    assert t.options["optimizer"] == CallValue("adam", (), (("lr", 0.05),))
    assert t.options["optimizer"].get("lr") == 0.05
    assert t.options["epochs"] == 20 and t.options["early_stop"].get("patience") == 5


def test_attack_defend_evaluate_specs():
    p = program(
        "attack ren on clf { method gradient_steps(optimizer = adam(lr = 0.01), max_steps = 50)\n"
        " mask nonzero; until wrong_class >= 0.6; clip [0, 1]; targeted 1 }\n"
        "attack b on clf { method bim(norm = linf, epsilon = [0.01, 0.05], steps = 10,"
        " step = 0.01) }\n"
        "defend clf with adversarial_training(attack = ren, examples = on_the_fly, ratio = 0.5,"
        " epochs = 3, schedule = linear) as robust { batch 10 }\n"
        "evaluate clf, robust on d.test under"
        " [clean, ren, pgd(epsilon = 0.1, random_start = true)]\n"
    )
    ren = p.attacks["ren"]
    assert ren.method.name == "gradient_steps" and ren.method.get("max_steps") == 50
    assert ren.options == {
        "mask": "nonzero",
        "until": Condition("wrong_class", ">=", 0.6),
        "clip": (0, 1),
        "targeted": 1,
    }
    assert p.attacks["b"].method.get("epsilon") == (0.01, 0.05)
    (d,) = p.defences
    assert (
        d.result == "robust" and d.method.get("schedule") == "linear" and d.options == {"batch": 10}
    )
    (e,) = p.evaluations
    assert e.models == ("clf", "robust")
    assert e.under[:2] == ("clean", "ren") and e.under[2].name == "pgd"


def test_targets_and_noise():
    p = program(
        "noise n1 { depolarizing(1q = 0.001, 2q = 0.01); t1 150us }\n"
        "target t { qubits 3; basis [rx, rz, cz]; coupling chain; noise n1\n"
        " fidelity(1q = 0.9994, 2q = 0.994); t2 20us; gate_time(1q = 30ns, 2q = 60ns) }\n"
        "device clf on t\n"
    )
    t = p.targets["t"]
    assert t.num_qubits == 3 and t.coupling == ((0, 1), (1, 2))
    assert [g.value for g in t.basis] == ["rx", "rz", "cz"]
    # the target's `fidelity` overrides the named noise's `depolarizing` (docs §16)
    assert math.isclose(t.noise.depolarizing_1q, 0.0006 * 2)
    assert t.noise.t1 == 150.0 and t.noise.t2 == 20.0
    assert math.isclose(t.noise.time_2q, 0.06)
    assert p.devices == {"clf": "t"} and p.target_of("clf") is t
    p2 = program("target u { qubits 2; fidelity(1q = 0.9994, 2q = 0.994) }")
    assert math.isclose(p2.targets["u"].noise.depolarizing_2q, 0.006 * 4 / 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("train clf on d.train { epoch 3 }", ["E0501"]),
        ("train clf on d.train { optimizer adam(learning_rate = 0.1) }", ["E0502"]),
        ("train clf on d.train { loss l1 }", ["E0502"]),
        ("train clf on d.train { epochs 3; epochs 4 }", ["E0507"]),
        ("train clf on d.tran { epochs 3 }", ["E0511"]),
        ("attack a on clf { method fgsm(epsilon = -1) }", ["E0502"]),
        ("attack a on clf { method pgd(norm = l3) }", ["E0502"]),
        ("attack a on clf { seed 1 }", ["E0508"]),
        (
            "attack a on clf { method transfer(from = clff, attack = fgsm(epsilon = 0.1)) }",
            ["E0202"],
        ),
        ("defend clf with adversarial_training(attack = nope) as r", ["E0202"]),
        ("defend clf with adversarial_trainin(ratio = 0.5) as r", ["E0520"]),
        ("evaluate clf on d.test under [clean, nope]", ["E0202"]),
        ("evaluate clf on d.test under [bim(steps = 0)]", ["E0521"]),
        ("data e = builtin.mnist(classes = [1, 2])", ["E0510"]),
        ('data e = file("x.txt")', ["E0512"]),
        ("target t { qubits 4; coupling heavy_hex }", ["E0604"]),
        (
            "target t { qubits 4; colour blue }",
            [
                "E0601",
            ],
        ),
        ("target t { qubits 4; readout_error(p01 = 2) }", ["E0602"]),
        ("target t { basis [rx] }", ["E0608"]),
        ("target t { qubits 1 }\ndevice clf on t", ["E0605"]),
        ("device clf on nowhere", ["E0202"]),
    ],
)
def test_bad_options(text, expected):
    assert codes(text) == expected
