"""How a run turns a declared ``model`` into the objects that compute with it.

One place, shared by ``qadl run`` (``Session``) and the Python API (``Program.classifier``),
so a model rebuilt from Python is the model the run trained: same simulator, same device
noise, same readout scale.
"""

from __future__ import annotations

from qadl.learn.classifier import Classifier
from qadl.program import Program

__all__ = ["classifier_of", "device_shots"]


def classifier_of(program: Program, name: str) -> Classifier:
    """The ``Classifier`` of the ``model`` called ``name``, exactly as ``qadl run`` builds it.

    A model bound to a noisy ``device`` is simulated with density matrices (or
    trajectories beyond 10 qubits) and gives exact noisy probabilities; shots are
    sampled by whoever asks for them (see ``device_shots``).
    """
    from qadl.backends.sim import Simulator

    model = program.models[name]
    target = program.target_of(name)
    if target is not None and not target.noise.is_noiseless:
        from qadl.backends.sim.noisy import NoisySimulator

        sim = NoisySimulator(model.circuit, target.noise, shots=0)
    else:
        sim = Simulator(model.circuit)
    return Classifier(sim, model.circuit.readout, scale=model.readout_scale)


def device_shots(program: Program, name: str) -> int | None:
    """The ``shots`` of the device the model ``name`` is bound to (None: exact probabilities)."""
    target = program.target_of(name)
    return None if target is None else target.noise.shots
