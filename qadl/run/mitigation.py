"""``evaluate { device T; mitigate ... }``: evaluating a model on a device, mitigated or not.

The checker validates the options' values (``qadl.check.mitigate``); whether the target
exists and has the noise to mitigate is known after lowering, so ``problems`` is called
by the preflight (``qadl check`` and ``qadl run``). ``mitigated_classifier`` folds the
circuit once per scale (``qadl.passes.fold``) and wraps the noisy simulations in a
``MitigatedSimulator``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qadl.ir.target import Target
from qadl.program import CallValue, Model, Program

__all__ = [
    "MitigationSpec",
    "device_classifier",
    "device_problems",
    "evaluation_target",
    "mitigated_classifier",
    "parse_mitigation",
    "problems",
]

MAX_MITIGATED_QUBITS = 10
"""Mitigation runs on exact density matrices (``noisy.MAX_DENSITY_QUBITS``)."""


@dataclass(frozen=True)
class MitigationSpec:
    """A checked ``mitigate`` option: readout inversion and/or zero-noise extrapolation."""

    readout: str | None = None
    """``tensored`` or ``full``; None: no readout mitigation."""
    calibration_shots: int | None = None
    scales: tuple[float, ...] | None = None
    """Noise scales of ZNE; None: no extrapolation."""
    extrapolation: str = "richardson"
    order: int | None = None
    folding: str = "global"
    scaling: str = "fold"
    """``fold`` (unitary folding, odd integer scales) or ``channel`` (the simulator's gate
    noise scaled, ``qadl.ir.noise_scaling``)."""

    @property
    def label(self) -> str:
        """``readout+zne(richardson)`` for tables and results.json."""
        parts = []
        if self.readout is not None:
            parts.append("readout" if self.readout == "tensored" else "readout(full)")
        if self.scales is not None:
            how = ", channel" if self.scaling == "channel" else ""
            parts.append(f"zne({self.extrapolation}{how})")
        return "+".join(parts)

    def to_json(self) -> dict[str, Any]:
        """Everything the mitigation did, for results.json."""
        out: dict[str, Any] = {}
        if self.readout is not None:
            out["readout"] = {"method": self.readout, "calibration_shots": self.calibration_shots}
        if self.scales is not None:
            out["zne"] = {
                "scales": list(self.scales),
                "extrapolation": self.extrapolation,
                "order": self.order,
                "folding": self.folding if self.scaling == "fold" else None,
                "scaling": self.scaling,
            }
        return out


def parse_mitigation(value: Any) -> MitigationSpec:
    """The ``MitigationSpec`` of a checked ``mitigate`` value."""
    fields: dict[str, Any] = {}
    for item in value if isinstance(value, tuple) else (value,):
        call = item if isinstance(item, CallValue) else CallValue(item)
        kw = call.as_dict()
        if call.name == "readout":
            fields["readout"] = kw.get("method", "tensored")
            fields["calibration_shots"] = kw.get("calibration_shots")
        else:
            scales = kw.get("scales", (1, 3, 5))
            fields["scales"] = tuple(scales) if isinstance(scales, tuple) else (scales,)
            fields["extrapolation"] = kw.get("extrapolation", "richardson")
            fields["order"] = kw.get("order")
            fields["folding"] = kw.get("folding", "global")
            fields["scaling"] = kw.get("scaling", "fold")
    return MitigationSpec(**fields)


def evaluation_target(program: Program, model: Model, options: dict[str, Any]) -> Target | None:
    """The device an ``evaluate`` runs ``model`` on: its ``device`` option, else the bound one."""
    name = options.get("device")
    return program.target_of(model.name) if name is None else program.targets.get(name)


def noiseless_problem(
    code: str, model: Model, target: Target | None, *, option: str, verb: str, example: str
) -> tuple[str, str, str]:
    """``(code, message, help)``: ``option`` has noise to ``verb``, but ``model`` runs on
    ``target``, no device or a noiseless one; ``example`` is the option as the help shows it."""
    where = "no device" if target is None else f"noiseless device `{target.name}`"
    return (
        code,
        f"`{option}`: model `{model.name}` runs on {where}: there is no noise to {verb}",
        f"bind it to a noisy target (`device {model.name} on TARGET`), or evaluate "
        f"it on one: `evaluate ... {{ device TARGET; {example} }}`",
    )


def device_problems(
    program: Program, model: Model, options: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """``evaluate { device T }``: ``T`` must be a declared or imported target that fits."""
    name = options.get("device")
    if name is None:
        return []
    target = program.targets.get(name)
    if target is None:
        known = ", ".join(sorted(program.targets)) or "none declared"
        return [
            (
                "E0627",
                f"`device {name}`: no target named `{name}` (targets: {known})",
                "declare `target NAME { ... }` or import one from the standard library",
            )
        ]
    if target.num_qubits < model.num_qubits:
        return [
            (
                "E0628",
                f"`device {name}`: model `{model.name}` needs {model.num_qubits} qubits, "
                f"target `{name}` has {target.num_qubits}",
                "evaluate on a target with enough qubits",
            )
        ]
    return []


def problems(program: Program, model: Model, options: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(code, message, help)`` for every reason ``model`` cannot be evaluated as asked."""
    found = device_problems(program, model, options)
    if found or "mitigate" not in options:
        return found
    spec = parse_mitigation(options["mitigate"])
    target = evaluation_target(program, model, options)
    if target is None or target.noise.is_noiseless:
        return [
            noiseless_problem(
                "E0620", model, target, option="mitigate", verb="mitigate", example="mitigate ..."
            )
        ]
    noise, found = target.noise, []
    if model.num_qubits > MAX_MITIGATED_QUBITS:
        found.append(
            (
                "E0625",
                f"`mitigate`: model `{model.name}` has {model.num_qubits} qubits; mitigation "
                f"runs on exact density matrices (at most {MAX_MITIGATED_QUBITS} qubits)",
                "evaluate a smaller model, or drop `mitigate`",
            )
        )
    if noise.shots is not None:
        found.append(
            (
                "E0626",
                f"`mitigate`: device `{target.name}` samples {noise.shots} shots per decision; "
                "mitigation corrects exact probabilities",
                "drop `shots` from the target (or evaluate this model without `mitigate`)",
            )
        )
    readout = model.circuit.readout
    if spec.readout is not None:
        found += _readout_problems(spec, model, target.name, noise.readout_error, readout)
    gate_noise = (noise.depolarizing_1q, noise.depolarizing_2q) != (0.0, 0.0) or (
        noise.t1 is not None or noise.t2 is not None
    )
    if spec.scales is not None and not gate_noise:
        how = "scaling its gate noise" if spec.scaling == "channel" else "folding the circuit"
        found.append(
            (
                "E0623",
                f"`mitigate zne`: device `{target.name}` has no gate noise (only readout "
                f"error), so {how} changes nothing to extrapolate",
                "use `mitigate readout` for readout error",
            )
        )
    elif spec.scales is not None and spec.scaling == "channel":
        found += _channel_problems(spec.scales, target)
    return found


def _channel_problems(scales, target: Target) -> list[tuple[str, str, str]]:
    """Channel scaling multiplies depolarising probabilities: they must stay ≤ 1."""
    from qadl.ir.noise_scaling import scaling_problem

    problem = scaling_problem(target.noise, max(scales), readout=False)
    if problem is None:
        return []
    return [
        (
            "E0970",
            f"`mitigate zne(scaling = channel)` on device `{target.name}`: {problem}",
            "use smaller scales, or fold the circuit (`scaling = fold`)",
        )
    ]


def _readout_problems(spec, model, target_name, error, readout) -> list[tuple[str, str, str]]:
    if readout is None or readout.kind != "probs":
        return [
            (
                "E0621",
                f"`mitigate readout`: model `{model.name}` reads Pauli expectation values; "
                "readout mitigation inverts the confusion matrix of a `probs` readout",
                "read out `probs(...)`, or use `mitigate zne(...)` only",
            )
        ]
    if error == (0.0, 0.0):
        return [
            (
                "E0622",
                f"`mitigate readout`: device `{target_name}` declares no readout error",
                "declare `readout_error(p01 = ..., p10 = ...)` on the target, or drop `readout`",
            )
        ]
    if abs(1.0 - error[0] - error[1]) < 1e-9:
        return [
            (
                "E0622",
                f"`mitigate readout`: readout error p01 + p10 = 1 on `{target_name}` erases "
                "the measured bit; it cannot be inverted",
                "lower the declared readout error",
            )
        ]
    if spec.readout == "full" and len(readout.qubits) > 8:
        return [
            (
                "E0624",
                f"`readout(method = full)`: {len(readout.qubits)} measured qubits; the full "
                "inversion handles at most 8",
                "use the per-qubit inversion: `mitigate readout`",
            )
        ]
    return []


def device_classifier(model: Model, target: Target):
    """A ``Classifier`` of ``model`` simulated with ``target``'s noise (exact outputs)."""
    from qadl.backends.sim import NoisySimulator, Simulator
    from qadl.learn.classifier import Classifier

    sim: Any = Simulator(model.circuit)
    if not target.noise.is_noiseless:
        sim = NoisySimulator(model.circuit, target.noise, shots=0)
    return Classifier(sim, model.circuit.readout, scale=model.readout_scale)


def mitigated_classifier(model: Model, target: Target, spec: MitigationSpec, seed: int):
    """A ``Classifier`` whose outputs are mitigated (see ``MitigatedSimulator``)."""
    from qadl.backends.sim.extrapolation import Extrapolation
    from qadl.backends.sim.mitigated import MitigatedSimulator, Mitigation
    from qadl.ir.noise_scaling import scaled_noise
    from qadl.learn.classifier import Classifier
    from qadl.passes.fold import fold_global, fold_local

    extrapolation, circuits, noises = None, [model.circuit], None
    if spec.scales is not None:
        extrapolation = Extrapolation(spec.extrapolation, spec.scales, spec.order)
        if spec.scaling == "channel":
            circuits = [model.circuit] * len(spec.scales)
            noises = [scaled_noise(target.noise, s, readout=False) for s in spec.scales]
        else:
            fold = fold_global if spec.folding == "global" else fold_local
            circuits = [fold(model.circuit, scale=int(s)) for s in spec.scales]
    mitigation = Mitigation(spec.readout, spec.calibration_shots, extrapolation, seed)
    sim = MitigatedSimulator(circuits, target.noise, mitigation, method="density", noises=noises)
    return Classifier(sim, model.circuit.readout, scale=model.readout_scale)
