"""Golden OpenQASM for every model of every example (``pytest --update-golden`` rewrites them).

Each file is ``qadl.to_qasm(model)``: θ and features stay ``input``s. Amplitude encoding
has no symbolic form, so models that use it are emitted for the fixed sample
``golden_sample`` (named in the file's header comment). Beyond the exact text, every
golden program must load in Qiskit and, bound to random values, reproduce the reference
simulator's state.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import openqasm3
import pytest
import qiskit.qasm3
from qiskit.quantum_info import Statevector

import qadl
from qadl.backends.qasm3 import emit
from qadl.ir.gates import Gate
from qadl.ir.stateprep import expand_amplitude
from qadl.testing import GOLDEN_ATOL, GOLDEN_RTOL, assert_text_close, reference_state

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "qasm"
EXAMPLES = sorted((REPO / "examples").glob("*.qadl"))


def golden_sample(num_features: int) -> np.ndarray:
    """Features for amplitude-encoded goldens: alternating signs, no zeros, deterministic."""
    i = np.arange(num_features)
    return np.where(i % 2 == 0, 1.0, -1.0) * (1.0 + i / num_features)


@functools.cache
def _program(example: str):
    return qadl.load(REPO / "examples" / f"{example}.qadl")


def _models() -> list[tuple[str, str]]:
    return [(path.stem, name) for path in EXAMPLES for name in _program(path.stem).models]


def _model(example: str, name: str):
    return _program(example).models[name]


def _uses_amplitude(model) -> bool:
    return any(op.gate is Gate.AMPLITUDE for op in model.circuit.ops)


def _golden_text(example: str, model) -> str:
    if _uses_amplitude(model):
        x = golden_sample(model.num_features)
        header = (
            f"{example}.{model.name}: amplitude encoding emitted for the test sample",
            "x[i] = (-1)^i * (1 + i / F) (tests/backends/test_qasm_golden.py)",
        )
        return emit(model.circuit, x=x, header_comments=header)
    return qadl.to_qasm(model)


@pytest.mark.parametrize(("example", "name"), _models())
def test_qasm_matches_golden(example, name, update_golden):
    """The same text up to float literals, which agree to ``GOLDEN_ATOL + GOLDEN_RTOL·|x|``.

    Amplitude-encoding angles come from libm calls whose last digits differ between CPUs,
    so numbers are compared with ``qadl.testing.assert_text_close``, everything else
    exactly. A missing golden file is an error unless --update-golden is given.
    """
    text = _golden_text(example, _model(example, name))
    path = GOLDEN / f"{example}.{name}.qasm"
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run pytest --update-golden and review it"
    assert_text_close(
        text,
        path.read_text(encoding="utf-8"),
        rtol=GOLDEN_RTOL,
        atol=GOLDEN_ATOL,
        label=f"{path} (review, then --update-golden)",
    )


@pytest.mark.parametrize(("example", "name"), _models())
def test_golden_program_runs_in_qiskit_like_the_reference(example, name):
    """The golden text parses, imports, and with random θ and x gives the reference state."""
    model = _model(example, name)
    text = (GOLDEN / f"{example}.{name}.qasm").read_text(encoding="utf-8")
    openqasm3.parse(text)
    qc = qiskit.qasm3.loads(text)
    qc.remove_final_measurements(inplace=True)
    rng = np.random.default_rng(0)
    theta = rng.uniform(-np.pi, np.pi, model.num_params)
    x = (
        golden_sample(model.num_features)
        if _uses_amplitude(model)
        else rng.uniform(0.0, 1.0, model.num_features)
    )
    values = {f"theta_{i}": v for i, v in enumerate(theta)} | {f"x_{i}": v for i, v in enumerate(x)}
    qc = qc.assign_parameters({p: values[p.name] for p in qc.parameters})
    state = None
    if model.circuit.state_input:
        state = rng.normal(size=1 << model.num_qubits) + 1j * rng.normal(size=1 << model.num_qubits)
        state /= np.linalg.norm(state)
    initial = (
        Statevector(state) if state is not None else Statevector.from_int(0, 1 << qc.num_qubits)
    )
    # The dense reference prepares amplitudes by a 2^k×2^k QR (seconds for k = 8); the
    # RY/CX lowering is checked against it in test_amplitude_stateprep.py.
    circuit = expand_amplitude(model.circuit, x)
    expected = reference_state(circuit, theta, x, state=state)
    np.testing.assert_allclose(initial.evolve(qc).data, expected, atol=1e-9)
