"""``evaluate … { certify [...] }``: what the preflight refuses, what a run computes and writes."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from qadl.adversary.certify import (
    Certificate,
    CertifyMethod,
    certified_curves,
    certified_points,
    certify,
    method_problem,
    radii_rows,
)
from qadl.adversary.config import AttackConfig, QuantumAttackConfig
from qadl.adversary.evaluate import Evaluation
from qadl.backends.sim.noisy import MAX_DENSITY_QUBITS
from qadl.program import CallValue, Program

__all__ = [
    "certify_evaluation",
    "certify_problems",
    "methods_of",
    "noise_of",
    "write_closest_flips",
    "write_radii",
]

_HELP = {
    "fidelity": "`fidelity` certifies quantum-data models and amplitude-encoded features",
    "smoothing": "`smoothing` depolarises an input state: quantum data or amplitude-encoded "
    "features",
    "lipschitz": "`lipschitz` certifies features that enter through rotation angles affine in them",
    "exact": "`exact` verifies noiseless quantum-data models of at most 6 qubits read by one "
    "measurement; `fidelity` gives the same radius where the model is noiseless and a bound "
    "otherwise",
}


def methods_of(value: Any) -> tuple[CertifyMethod, ...]:
    """The checked ``certify`` option as ``CertifyMethod``s (empty when absent)."""
    if value is None:
        return ()
    items = value if isinstance(value, tuple) else (value,)
    out = []
    for item in items:
        if isinstance(item, CallValue):
            p = item.as_dict().get("p")
            out.append(CertifyMethod(item.name, None if p is None else float(p)))
        else:
            out.append(CertifyMethod(str(item)))
    return tuple(out)


def certify_problems(program: Program, name: str, model: Any, options: dict[str, Any]):
    """``(code, message, help)`` for every ``certify`` method that cannot certify ``name``."""
    methods = methods_of(options.get("certify"))
    if not methods:
        return []
    problems = []
    for method in methods:
        problem = method_problem(model.circuit, method.name)
        if problem is not None:
            problems.append((
                "E0540",
                f"`certify {method.label}` cannot certify model `{name}`: {problem}",
                _HELP[method.name],
            ))
    target = program.target_of(model.name)
    noisy = target is not None and not target.noise.is_noiseless
    if noisy and any(m.name == "exact" for m in methods):
        problems.append((
            "E0540",
            f"`certify exact` cannot verify model `{name}`: it runs on the noisy device "
            f"`{target.name}`, and mixed states have no closed-form closest flip",
            _HELP["exact"],
        ))
    if target is not None and target.noise.shots is not None:
        problems.append((
            "E0541",
            f"`certify`: model `{name}` runs on device `{target.name}` with "
            f"{target.noise.shots} shots, so its decisions are sampled; certificates bound "
            "the exact probabilities",
            "certify a model without device shots (a copy of it not bound to the device)",
        ))
    elif (
        target is not None
        and not target.noise.is_noiseless
        and model.circuit.num_qubits > MAX_DENSITY_QUBITS
    ):
        problems.append((
            "E0541",
            f"`certify`: model `{name}` has {model.circuit.num_qubits} qubits on the noisy "
            f"device `{target.name}`, whose probabilities are estimated from trajectories; "
            f"certificates need exact ones (density matrices, at most {MAX_DENSITY_QUBITS} qubits)",
            "certify the noiseless model, or a smaller one",
        ))
    return problems


def certify_evaluation(
    evaluation: Evaluation,
    classifier: Any,
    theta: np.ndarray,
    data: Any,
    attacks: dict[str, AttackConfig | QuantumAttackConfig],
    methods: tuple[CertifyMethod, ...],
    noise: Any = None,
) -> Evaluation:
    """``evaluation`` with the certificates of ``methods`` and their certified accuracy per ε.

    ``attacks`` maps each attack label of the evaluation to the config whose ε ball it
    searched (for a transfer attack: the attack it transfers).
    """
    epsilons: dict[str, tuple[float, ...]] = {}
    for p in evaluation.points:
        if p.epsilon is not None:
            epsilons[p.attack] = (*epsilons.get(p.attack, ()), p.epsilon)
    certificates: list[Certificate] = []
    points, curves = [], []
    num_qubits = classifier.sim.circuit.num_qubits
    for method in methods:
        cert = certify(classifier, theta, data, method, noise)
        certificates.append(cert)
        points += certified_points(cert, attacks, epsilons, num_qubits)
        curves += certified_curves(cert, attacks, epsilons, num_qubits)
    return replace(
        evaluation,
        certified=tuple(points),
        certificates=tuple(certificates),
        certified_curves=tuple(curves),
    )


def noise_of(program: Program, model_name: str) -> Any:
    """The device noise a model is simulated with (None when noiseless)."""
    target = program.target_of(model_name)
    return None if target is None or target.noise.is_noiseless else target.noise


def write_radii(path: Path, evaluations: list[Evaluation]) -> Path | None:
    """Per-sample radii of every certified evaluation as CSV (None when nothing was certified)."""
    rows = [r for ev in evaluations for r in radii_rows(ev.model, ev.certificates)]
    if not rows:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "radius": f"{row['radius']:.9g}"})
    return path


def write_closest_flips(path: Path, evaluations: list[Evaluation]) -> Path | None:
    """``certify [exact]``: per model, the closest flipping input states and their fidelity.

    Arrays ``MODEL_states`` ``(B, d)``, ``MODEL_fidelity``, ``MODEL_radius`` and
    ``MODEL_label``, ready to be used as adversarial examples (None when nothing to write).
    """
    arrays: dict[str, np.ndarray] = {}
    for ev in evaluations:
        for cert in ev.certificates:
            if cert.flips is not None:
                arrays[f"{ev.model}_states"] = cert.flips.states
                arrays[f"{ev.model}_fidelity"] = cert.flips.fidelity
                arrays[f"{ev.model}_radius"] = cert.flips.radius
                arrays[f"{ev.model}_label"] = cert.y
    if not arrays:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path
