"""`local_rotations` options in a .qadl file map onto ``QuantumAttackConfig``."""

from __future__ import annotations

import pytest

from qadl.api import loads
from qadl.errors import QadlError
from qadl.run.configs import plan_of

MODEL = """
data chain = builtin.aubry_andre(qubits = 4, samples = 20, time = 3.0, test = 0.25, seed = 2)
model phase(psi: state) on q[4] {
    param θ[4]
    for j in 0..4 { ry(θ[j]) q[j] }
    readout probs(q[1]) -> classes 2
}
"""


def _plan(attack: str):
    program = loads(MODEL + attack, "attack.qadl")
    spec = program.attacks["a"]
    return plan_of(spec.method, spec.options)


def test_natural_optimizer_step_and_stopping_rule() -> None:
    cfg = _plan(
        "attack a on phase {\n"
        "    method local_rotations(epsilon = 0.4, steps = 12, optimizer = natural, step = 0.05,"
        " fidelity = 0.9)\n"
        "    until wrong_class >= 0.55\n"
        "}\n"
    )
    assert (cfg.optimizer, cfg.step_size, cfg.steps) == ("natural", 0.05, 12)
    assert cfg.fidelity_min == 0.9
    assert cfg.until_confidence == 0.55


def test_until_success_rate_maps_to_the_batch_stop() -> None:
    cfg = _plan(
        "attack a on phase {\n"
        "    method local_rotations(epsilon = 0.4)\n"
        "    until success_rate >= 0.9\n"
        "}\n"
    )
    assert (cfg.until_success_rate, cfg.until_confidence) == (0.9, None)


def test_lr_alone_still_means_adam_and_nothing_means_sign() -> None:
    adam = _plan("attack a on phase { method local_rotations(epsilon = 0.4, lr = 0.01) }\n")
    sign = _plan("attack a on phase { method local_rotations(epsilon = 0.4) }\n")
    assert (adam.optimizer, adam.step_size) == ("adam", 0.01)
    assert (sign.optimizer, sign.step_size, sign.until_confidence) == ("sign", None, None)


@pytest.mark.parametrize(
    "bad",
    ["optimizer = newton", "step = 0", "optimizer = natural, lr = 0.01", "lr = 0.01, step = 0.1"],
)
def test_bad_optimizer_options_are_located_errors(bad: str) -> None:
    source = MODEL + f"attack a on phase {{ method local_rotations(epsilon = 0.4, {bad}) }}\n"
    with pytest.raises(QadlError) as caught:
        loads(source, "attack.qadl")
    first = caught.value.diagnostics[0]
    assert first.code.startswith("E05")
    option = bad.split(" =")[0].split(", ")[-1]
    start = first.primary.span.start
    assert source.index("attack a") <= start < len(source)
    assert option in source[start : first.primary.span.end] or option in first.message
