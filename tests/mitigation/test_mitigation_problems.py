"""What the preflight refuses about a model's device before mitigating (codes E0620-E0628)."""

from __future__ import annotations

import pytest

from qadl.api import loads
from qadl.run.mitigation import problems


def _program(qubits: int, readout: str, noise: str):
    measured = ", ".join(f"q[{i}]" for i in range(qubits))
    text = f"""
model m(x: float[1]) on q[{qubits}] {{
    param θ[1]
    ry(x[0]) q[0]
    ry(θ[0]) q[0]
    readout {readout.format(measured=measured)}
}}
target dev {{ qubits {qubits}; basis [rx, ry, rz, cx]; coupling chain; {noise} }}
target small {{ qubits 1; basis [rx, ry, rz, cx]; coupling chain; depolarizing(1q = 0.01) }}
device m on dev
"""
    return loads(text)


def _codes(program, options) -> list[str]:
    return [code for code, _, _ in problems(program, program.models["m"], options)]


PROBS = "probs({measured})"
READOUT = "readout_error(p01 = 0.1, p10 = 0.2)"


@pytest.mark.parametrize(
    ("qubits", "noise", "options", "codes"),
    [
        (2, READOUT, {"mitigate": "readout"}, []),
        (2, "depolarizing(1q = 0.01)", {"mitigate": "readout"}, ["E0622"]),
        (2, "readout_error(p01 = 0.4, p10 = 0.6)", {"mitigate": "readout"}, ["E0622"]),
        (9, READOUT, {"mitigate": "readout"}, []),  # tensored: any number of qubits
        (11, READOUT, {"mitigate": "readout"}, ["E0625"]),
        (2, READOUT, {"device": "nowhere", "mitigate": "readout"}, ["E0627"]),
        (2, READOUT, {"device": "small"}, ["E0628"]),
    ],
)
def test_device_problems(qubits, noise, options, codes):
    assert _codes(_program(qubits, PROBS, noise), options) == codes


def test_full_inversion_is_limited_to_eight_measured_qubits():
    from qadl.check.values import CallValue

    full = CallValue("readout", (), (("method", "full"),))
    assert _codes(_program(9, PROBS, READOUT), {"mitigate": full}) == ["E0624"]
    assert _codes(_program(8, PROBS, READOUT), {"mitigate": full}) == []
