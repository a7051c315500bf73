"""Option schemas: for every statement kind, which options exist and what values they take.

A schema entry is a small validator ``value -> problem | None`` (``qadl.check.validators``);
calls such as ``optimizer adam(lr = 0.01)`` are checked against the method tables of
``qadl.check.methods``. Validation happens here, in the checker, so the grammar stays generic
(``key value`` / ``key(k = v)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qadl.check.builtins import BUILTIN_GATES
from qadl.check.methods import (
    ATTACK_METHODS,
    OPTIMIZERS,
    PRIVACY_METHODS,
    check_call,
    keyword_call,
    kwargs_of,
)
from qadl.check.mitigate import (
    mitigate_rule,
    mitigation_methods,
    noise_scale_rule,
    noise_scales,
    train_mitigate_rule,
)
from qadl.check.validators import (
    Check,
    any_of,
    boolean,
    condition,
    feature_range,
    integer,
    list_of,
    name,
    number,
    one_of,
    pairs,
)
from qadl.check.values import CallValue

__all__ = [
    "CERTIFY_METHODS",
    "SCHEMAS",
    "Schema",
    "gradient_free_optimizer",
]


@dataclass(frozen=True)
class Schema:
    """The options of one statement kind."""

    options: dict[str, Check]
    required: tuple[str, ...] = ()
    code_unknown: str = "E0501"
    code_value: str = "E0502"
    rules: tuple[tuple[str, Callable[[dict[str, Any]], str | None]], ...] = ()
    """``(key, rule)``: relations between options, reported (E0519) at ``key``."""


def relative_path(v: Any) -> str | None:
    """A relative path that stays below the directory it is resolved against."""
    if not isinstance(v, str):
        return "expected a string"
    parts = v.replace("\\", "/").split("/")
    if not v or "\0" in v or v.startswith("/") or ":" in parts[0]:
        return f"expected a relative path below the output directory, got {v!r}"
    if ".." in parts:
        return f"`..` may not leave the output directory: {v!r}"
    return None


def _count_or_kwargs(table: dict[str, Check]) -> Check:
    """``key N`` (a positive integer) or ``key(k = v, …)``; reports the problem of the form used."""
    kwargs = kwargs_of(table)
    return lambda v: kwargs(v) if isinstance(v, CallValue) else integer(1)(v)


MAX_SHOTS = 10**9
"""Upper bound on ``shots`` (counts stay exact in 64-bit integers and floats)."""

_LOSS = one_of("cross_entropy", "mse", "hinge")
_SHOTS = integer(1, MAX_SHOTS)
_TRAIN = {
    "loss": _LOSS,
    "optimizer": lambda v: check_call(v, OPTIMIZERS, "optimizer"),
    "epochs": integer(1),
    "batch": integer(1),
    "seed": integer(0),
    "gradient": one_of("adjoint", "parameter_shift"),
    "checkpoint": _count_or_kwargs({"every": integer(1), "path": relative_path}),
    "early_stop": _count_or_kwargs({"patience": integer(1), "min_delta": number(0)}),
    "shots": _SHOTS,
    "validation": number(0, 1, open_hi=True),
}


def gradient_free_optimizer(options: dict[str, Any]) -> str | None:
    """The name of the ``optimizer`` of training ``options`` if it uses no gradients
    (SPSA, COBYLA), else None."""
    opt = options.get("optimizer")
    name = opt.name if isinstance(opt, CallValue) else opt
    return name if name in ("spsa", "cobyla") else None


def _gradient_needs_gradients(options: dict[str, Any]) -> str | None:
    """``gradient`` picks how gradients are computed: pointless for SPSA and COBYLA."""
    name = gradient_free_optimizer(options)
    if name is not None:
        return f"`gradient` has no effect: `{name}` does not use gradients"
    return None


_TRAIN_RULES = (("gradient", _gradient_needs_gradients),)

MAX_CLIENTS = 1000
"""Upper bound on `federated(clients = …)`."""

_federated = keyword_call(
    "federated",
    {
        "clients": integer(1, MAX_CLIENTS),
        "rounds": integer(1),
        "local_steps": integer(1),
        "aggregate": lambda v: check_call(
            v,
            {
                "fedavg": {},
                "median": {},
                "trimmed_mean": {"beta": number(0, 0.5, open_hi=True)},
            },
            "aggregation rule",
        ),
        "split": lambda v: check_call(
            v, {"iid": {}, "dirichlet": {"alpha": number(0, open_lo=True)}}, "split"
        ),
    },
    "federated(clients = 8, rounds = 20, …)",
    "federated(clients = 8)",
)
_dp = keyword_call(  # DP-SGD: dp(clip = C, noise = σ, delta = δ)
    "dp",
    {
        "clip": number(0, open_lo=True),
        "noise": number(0),
        "delta": number(0, 1, open_lo=True, open_hi=True),
    },
    "dp(clip = 1.0, noise = 1.0, delta = 1e-5)",
    "dp(clip = 1.0, noise = 1.0)",
)


def _dp_needs_gradients(options: dict[str, Any]) -> str | None:
    """DP-SGD clips per-sample gradients: gradient-free optimizers have none."""
    name = gradient_free_optimizer(options)
    if name is not None:
        return f"`dp` clips per-sample gradients; `{name}` does not use gradients"
    return None


_ROUNDS_NOT_EPOCHS = ("epochs", "checkpoint", "early_stop", "validation")


def _federated_excludes(options: dict[str, Any]) -> str | None:
    """Federated training counts rounds, not epochs, and has no checkpoints or held-out part."""
    clash = [k for k in _ROUNDS_NOT_EPOCHS if k in options]
    if clash:
        return (
            f"`{clash[0]}` does not apply to federated training "
            "(it runs `rounds` of `local_steps` client steps, without checkpoints or validation)"
        )
    return None


_TIME = number(0, open_lo=True)
_PROB = number(0, 1)


def gate_fidelity(dim: int) -> Check:
    """An average gate fidelity with a depolarizing model: ``F`` in ``[1/dim, 1]``."""

    def check(v: Any) -> str | None:
        problem = number(0, 1)(v)
        if problem or v >= 1.0 / dim:
            return problem
        return (
            f"a fidelity below 1/{dim} has no depolarizing model "
            f"(p = (1 - F)·{dim}/{dim - 1} would exceed 1); expected F in [1/{dim}, 1]"
        )

    return check


_NOISE = {
    "depolarizing": kwargs_of({"1q": _PROB, "2q": _PROB}),
    "readout_error": kwargs_of({"p01": _PROB, "p10": _PROB}),
    "t1": _TIME,
    "t2": _TIME,
    "gate_time": kwargs_of({"1q": _TIME, "2q": _TIME}),
    "shots": _SHOTS,
}

CERTIFY_METHODS: dict[str, dict[str, Check]] = {
    "fidelity": {},
    "lipschitz": {},
    "smoothing": {"p": number(0, 1, open_lo=True, open_hi=True)},
    "exact": {},
}
"""``evaluate { certify [...] }`` method -> its keyword arguments."""

_NOT_CERTIFIERS = ("sdp", "verify", "verification", "exact_verification")


def certify_methods(v: Any) -> str | None:
    """``certify [fidelity, lipschitz, smoothing(p = 0.01)]``: known, distinct methods."""
    seen: set[str] = set()
    for item in v if isinstance(v, tuple) else (v,):
        method = item.name if isinstance(item, CallValue) else item
        if method in _NOT_CERTIFIERS:
            return (
                f"`{method}`: exact verification is the method `exact` (closed form, no SDP; "
                "noiseless quantum-data models of at most 6 qubits)"
            )
        problem = check_call(item, CERTIFY_METHODS, "certify method")
        if problem:
            return problem
        kwargs = item.as_dict() if isinstance(item, CallValue) else {}
        if method == "smoothing" and "p" not in kwargs:
            return "`smoothing` needs its depolarising probability: `smoothing(p = 0.01)`"
        if method in seen:
            return f"`{method}` is listed twice"
        seen.add(method)
    return None


def _certify_needs_exact(options: dict[str, Any]) -> str | None:
    """Certificates bound the exact classifier; shot-sampled decisions are another one."""
    if "shots" in options:
        return "`certify` bounds exact probabilities: it cannot be combined with `shots`"
    return None


SCHEMAS: dict[str, Schema] = {
    "train": Schema(
        {
            **_TRAIN,
            "federated": _federated,
            "dp": _dp,
            "mitigate": mitigation_methods,
        },
        rules=(
            *_TRAIN_RULES,
            ("federated", _federated_excludes),
            ("dp", _dp_needs_gradients),
            ("mitigate", train_mitigate_rule),
        ),
    ),
    "attack": Schema(
        {
            "method": lambda v: check_call(
                v, {**ATTACK_METHODS, **PRIVACY_METHODS}, "attack method"
            ),
            "targeted": integer(0),
            "mask": one_of("nonzero", "all"),
            "until": condition(("wrong_class", "success_rate")),
            "clip": feature_range,
            "seed": integer(0),
        },
        required=("method",),
    ),
    "defend": Schema(dict(_TRAIN), rules=_TRAIN_RULES),
    "evaluate": Schema(
        {
            "seed": integer(0),
            "samples": integer(1),
            "plots": boolean,
            "shots": integer(1),
            "fidelity": boolean,
            "certify": certify_methods,
            "mitigate": mitigation_methods,
            "device": name,
            "noise_scale": noise_scales,
        },
        rules=(
            ("certify", _certify_needs_exact),
            ("mitigate", mitigate_rule),
            ("noise_scale", noise_scale_rule),
        ),
    ),
    "target": Schema(
        {
            "qubits": integer(1, 1000),
            "basis": list_of(one_of(*[g for g in BUILTIN_GATES if g != "amplitude"])),
            "coupling": any_of(one_of("chain", "ring", "heavy_hex", "full", "grid"), pairs),
            "fidelity": kwargs_of({"1q": gate_fidelity(2), "2q": gate_fidelity(4)}),
            "noise": name,
            **_NOISE,
        },
        required=("qubits",),
        code_unknown="E0601",
        code_value="E0602",
    ),
    "noise": Schema(dict(_NOISE), code_unknown="E0601", code_value="E0602"),
    "readout": Schema({"classes": integer(1), "scale": number(0, open_lo=True)}),
}
"""Statement kind -> schema."""
