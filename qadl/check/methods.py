"""Method tables: optimizers, attack, privacy and defence methods, data sources.

Each table maps a method name to the validators of its keyword arguments; ``check_call`` checks
a call ``name(k = v, ...)`` against a table, then the rules that relate several of its arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qadl.check.validators import (
    Check,
    any_of,
    boolean,
    close_match,
    dims,
    feature_range,
    integer,
    list_of,
    name,
    number,
    one_of,
    string,
)
from qadl.check.values import CallValue

__all__ = [
    "ATTACK_METHODS",
    "DATA_SOURCES",
    "DEFENCE_METHODS",
    "INPUT_OPTIMIZERS",
    "MAX_ATTACK_STEPS",
    "MAX_INVERSION_BATCH",
    "MAX_RESTARTS",
    "OPTIMIZERS",
    "PRIVACY_METHODS",
    "check_call",
    "ignored_attack_options",
    "keyword_call",
    "kwargs_of",
]

OPTIMIZERS: dict[str, dict[str, Check]] = {
    # β = 1 would divide Adam's bias correction by zero.
    "adam": {
        "lr": number(0, open_lo=True),
        "beta1": number(0, 1, open_hi=True),
        "beta2": number(0, 1, open_hi=True),
        "eps": number(0, open_lo=True),
    },
    "sgd": {"lr": number(0, open_lo=True), "momentum": number(0, 1, open_hi=True)},
    # Spall's gains a and c are spelled `lr` and `perturbation` (one name per gain).
    "spsa": {
        "lr": number(0, open_lo=True),
        "perturbation": number(0, open_lo=True),
        "alpha": number(0),
        "gamma": number(0),
    },
    "cobyla": {
        "rhobeg": number(0, open_lo=True),
        "tol": number(0, open_lo=True),
        "maxiter": integer(1),
    },
}
"""Optimizer name -> its keyword arguments."""

MAX_ATTACK_STEPS = 10_000
"""Upper bound on an attack's `steps`/`max_steps` (each step is a full gradient of the batch)."""
MAX_RESTARTS = 100
"""Upper bound on PGD's `restarts` (each restart is a whole attack)."""

INPUT_OPTIMIZERS: dict[str, dict[str, Check]] = {
    "adam": {"lr": number(0, open_lo=True)},
    "sgd": {"lr": number(0, open_lo=True)},
}
"""Update rules of `gradient_steps` on the input: Adam (β₁ 0.9, β₂ 0.999) or plain ascent."""

_EPS = any_of(number(0), list_of(number(0)))
_NORM = one_of("linf", "l2")
_STEPS = integer(1, MAX_ATTACK_STEPS)
_COMMON = {"epsilon": _EPS, "norm": _NORM}
_ITER = {**_COMMON, "steps": _STEPS, "step": number(0, open_lo=True)}

ATTACK_METHODS: dict[str, dict[str, Check]] = {
    "fgsm": dict(_COMMON),
    "bim": dict(_ITER),
    "pgd": {**_ITER, "random_start": boolean, "restarts": integer(1, MAX_RESTARTS)},
    "mim": {**_ITER, "decay": number(0)},
    "gradient_steps": {
        "optimizer": lambda v: check_call(v, INPUT_OPTIMIZERS, "optimizer"),
        "max_steps": _STEPS,
        "epsilon": _EPS,
        "norm": _NORM,
    },
    "local_rotations": {
        "epsilon": _EPS,
        "steps": _STEPS,
        "lr": number(0, open_lo=True),
        "optimizer": one_of("sign", "adam", "natural"),
        "step": number(0, open_lo=True),
        "axes": list_of(one_of("x", "y", "z")),
        "fidelity": number(0, 1),
    },
    "closest_flip": {
        "fidelity": number(0, 1, open_lo=True, open_hi=True),
    },
    "transfer": {
        "from": name,
        "surrogate": one_of("logistic_regression", "mlp"),
        # an inline method, or the name of a declared attack (the checker resolves it)
        "attack": any_of(
            lambda v: check_call(
                v, {k: m for k, m in ATTACK_METHODS.items() if k != "transfer"}, "attack method"
            ),
            name,
        ),
    },
}
"""Attack method -> its keyword arguments."""

MAX_INVERSION_BATCH = 64
"""Upper bound on `gradient_inversion(batch = …)`: samples averaged into one shared gradient."""

PRIVACY_METHODS: dict[str, dict[str, Check]] = {
    "gradient_inversion": {
        "loss": one_of("l2", "cosine"),
        "restarts": integer(1, MAX_RESTARTS),
        "steps": _STEPS,
        "batch": integer(1, MAX_INVERSION_BATCH),
        "samples": integer(1, 1000),
        "optimizer": one_of("lbfgs", "nelder_mead"),
        "tolerance": number(0, open_lo=True),
        "at": one_of("trained", "initial"),
        "clip_norm": number(0, open_lo=True),
        "noise": number(0),
        "delta": number(0, 1, open_lo=True, open_hi=True),
        "shots": integer(1, 10**9),
        "labels": one_of("known", "inferred"),
        "clients": integer(1, MAX_INVERSION_BATCH),
        "source": one_of("gradient", "updates"),
        "round": integer(1),
    },
    "membership_inference": {
        "score": one_of("loss", "confidence", "shadow"),
        "samples": integer(1),
        "shadows": integer(1, 64),
        "shadow_size": integer(1),
        "shadow_epochs": integer(1),
    },
    "label_inference": {
        "batch": integer(1, MAX_INVERSION_BATCH),
        "samples": integer(1, 1000),
    },
    "privacy_utility": {
        "noise": list_of(number(0)),
        "attacks": list_of(name),
        "clip_norm": number(0, open_lo=True),
        "delta": number(0, 1, open_lo=True, open_hi=True),
    },
}
"""Privacy attacks: methods of a named `attack` statement that `qadl run` applies on its own
(not in `evaluate … under`, adversarial training or transfer attacks)."""

DEFENCE_METHODS: dict[str, dict[str, Check]] = {
    "adversarial_training": {
        "attack": any_of(name, lambda v: check_call(v, ATTACK_METHODS, "attack method")),
        "examples": one_of("precomputed", "on_the_fly"),
        "ratio": number(0, 1, open_lo=True),
        "epochs": integer(1),
        "schedule": one_of("constant", "linear"),
    },
    "margin_training": {
        "lambda": number(0, open_lo=True),
        "certify": one_of("fidelity", "lipschitz"),
        "margin": number(0, open_lo=True),
        "epochs": integer(1),
    },
    "lipschitz_regularisation": {
        "lambda": number(0, open_lo=True),
        "epochs": integer(1),
    },
}
"""Defence method -> its keyword arguments."""

_SPLIT = {"test": number(0, 1, open_lo=True), "seed": integer(0), "samples": integer(1)}
_SPLIT_ONLY = {k: v for k, v in _SPLIT.items() if k != "samples"}
"""Sources of a fixed size (digits, files): a `samples` option would be ignored."""
_TABULAR = {
    "test": number(0, 1, open_lo=True),
    "seed": integer(0),
    "classes": list_of(integer(0), min_length=2),
    "standardize": boolean,
    "pca": integer(1),
    "scale": feature_range,
}
DATA_SOURCES: dict[str, dict[str, Check]] = {
    "builtin.digits": {
        **_SPLIT_ONLY,
        "classes": list_of(integer(0, 9), min_length=2),
        "size": dims,
        "normalize": one_of("l2", "minmax", "none"),
        "standardize": boolean,
        "pca": integer(1),
        "scale": feature_range,
    },
    "builtin.aubry_andre": {
        **_SPLIT,
        "qubits": integer(2, 16),
        "time": number(0),
        "coupling": number(0),
        "localized": list_of(number(0), length=2),
        "thermal": list_of(number(0), length=2),
    },
    "builtin.ising": {**_SPLIT, "qubits": integer(2, 16), "field": list_of(number(0), length=2)},
    "builtin.cluster_ising": {
        **_SPLIT,
        "qubits": integer(3, 16),
        "field": list_of(number(0), length=2),
    },
    "builtin.havlicek": {**_SPLIT, "samples": integer(4, 100_000), "gap": number(0, 0.9)},
    # scikit-learn's tabular sets; sizes and class ranges are checked by the preflight
    **{f"builtin.{n}": _TABULAR for n in ("iris", "wine", "breast_cancer")},
    "builtin.moons": {**_TABULAR, "samples": integer(4, 100_000), "noise": number(0)},
    "builtin.circles": {
        **_TABULAR,
        "samples": integer(4, 100_000),
        "noise": number(0),
        "factor": number(0, 1, open_lo=True, open_hi=True),
    },
    "file": {
        **_SPLIT_ONLY,
        "label": string,
        "normalize": one_of("l2", "minmax", "none"),
        "standardize": boolean,
        "pca": integer(1),
        "scale": feature_range,
    },
}
"""Data source -> its keyword arguments (``file`` also takes the path as first argument)."""


def check_call(v: Any, table: dict[str, dict[str, Check]], what: str) -> str | None:
    """Validate ``name(k = v, ...)`` (or a bare ``name``) against a table of callables."""
    if isinstance(v, str):
        v = CallValue(v)
    if not isinstance(v, CallValue):
        return f"expected {what} like `{next(iter(table))}(...)`"
    if v.name not in table:
        hint = close_match(v.name, table)
        return f"unknown {what} `{v.name}`" + (
            f"; did you mean `{hint}`?" if hint else f"; expected one of {', '.join(table)}"
        )
    params = table[v.name]
    owner = f"`{v.name}`" if v.name != "_" else "it"
    for key, value in v.kwargs:
        if key not in params:
            hint = close_match(key, params)
            return f"{owner} has no option `{key}`" + (
                f"; did you mean `{hint}`?" if hint else f"; it takes {', '.join(params) or 'none'}"
            )
        problem = params[key](value)
        if problem:
            return f"`{key}` of `{v.name}`: {problem}" if v.name != "_" else f"`{key}`: {problem}"
    rule = CALL_RULES.get(v.name)
    return rule(v.as_dict()) if rule else None


def _rotation_step_rule(kw: dict[str, Any]) -> str | None:
    """``lr`` is Adam's learning rate, ``step`` the sign or natural-gradient step."""
    optimizer = kw.get("optimizer", "adam" if "lr" in kw else "sign")
    if "lr" in kw and optimizer != "adam":
        return f"`lr` is Adam's learning rate; with `optimizer = {optimizer}` give `step`"
    if "step" in kw and optimizer == "adam":
        return "`step` is the sign or natural-gradient step; Adam takes `lr`"
    return None


def _input_steps_rule(kw: dict[str, Any]) -> str | None:
    """`gradient_steps` has no ball unless `epsilon` is given: a lone `norm` would be ignored."""
    if "norm" in kw and "epsilon" not in kw:
        return "`norm` is the norm of the ε-ball; give `epsilon` too (without it there is no ball)"
    return None


_RECORDED = ("batch", "clients", "clip_norm", "noise", "delta", "shots", "at")
"""`gradient_inversion` options that `source = updates` takes from the recorded training."""


def _inversion_dp_rule(kw: dict[str, Any]) -> str | None:
    """DP noise is calibrated to the clipping norm; δ belongs to the noise's (ε, δ); a
    gradient holds at most ``MAX_INVERSION_BATCH`` inputs."""
    if "noise" in kw and "clip_norm" not in kw:
        return "`noise` is a multiple of the clipping norm: give `clip_norm` too"
    if "delta" in kw and not kw.get("noise"):
        return "`delta` is the δ of the noise's (ε, δ) guarantee: give `noise` > 0 too"
    if "round" in kw and kw.get("source") != "updates":
        return "`round` picks a round of the recorded updates: give `source = updates` too"
    recorded = [k for k in _RECORDED if k in kw] if kw.get("source") == "updates" else []
    if recorded:
        return (
            f"`{recorded[0]}` does not apply to `source = updates`: the attack inverts what "
            "the clients shared in training (their batch, their DP noise, at that round's θ)"
        )
    if kw.get("batch", 1) * kw.get("clients", 1) > MAX_INVERSION_BATCH:
        return f"`clients × batch` inputs per gradient must be at most {MAX_INVERSION_BATCH}"
    return None


def _defence_schedule_rule(kw: dict[str, Any]) -> str | None:
    """A linear schedule ramps ε batch by batch: only examples crafted on the fly follow it."""
    if kw.get("schedule") == "linear" and kw.get("examples") == "precomputed":
        return "`schedule = linear` ramps ε per batch; `precomputed` examples are crafted once"
    return None


def _transfer_source_rule(kw: dict[str, Any]) -> str | None:
    """A transfer attack crafts on exactly one source: another model or a surrogate."""
    given = [k for k in ("from", "surrogate") if k in kw]
    if len(given) == 1:
        return None
    if given:
        return "give `from = MODEL` or `surrogate = ...`, not both"
    return "a transfer attack needs its source: `from = MODEL` or `surrogate = ...`"


def _curve_rule(kw: dict[str, Any]) -> str | None:
    """A privacy-utility curve needs its noise levels (distinct) and the attacks it runs."""
    if "noise" not in kw or "attacks" not in kw:
        return "give the noise levels and the attacks: `noise = [0, 0.5, 1], attacks = [inv]`"
    noise = kw["noise"] if isinstance(kw["noise"], tuple) else (kw["noise"],)
    if len(set(noise)) != len(noise):
        return "a noise level is listed twice"
    return None


def _closest_flip_rule(kw: dict[str, Any]) -> str | None:
    """The exact attack's only budget is its fidelity floor: no default is a natural one."""
    return None if "fidelity" in kw else "give the fidelity floor: `closest_flip(fidelity = 0.95)`"


CALL_RULES: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "local_rotations": _rotation_step_rule,
    "closest_flip": _closest_flip_rule,
    "transfer": _transfer_source_rule,
    "gradient_steps": _input_steps_rule,
    "gradient_inversion": _inversion_dp_rule,
    "privacy_utility": _curve_rule,
    "adversarial_training": _defence_schedule_rule,
}
"""Rules that relate several keyword arguments of one call (each key is checked alone above)."""


_BLOCK_OPTIONS = ("targeted", "mask", "until", "clip", "seed")


def ignored_attack_options(method: CallValue, keys: Any) -> dict[str, str]:
    """Options of an ``attack`` block that ``method`` would not use -> why.

    ``transfer(attack = NAME)`` replays the declared attack NAME with its own options;
    ``local_rotations`` perturbs states, which have no features to mask or clip.
    """
    if method.name == "gradient_inversion":
        why = "`gradient_inversion` reconstructs training inputs: no class, mask or stopping rule"
        return {k: why for k in keys if k in ("targeted", "mask", "until")}
    if method.name == "membership_inference":
        why = "`membership_inference` scores unperturbed samples: nothing to target, mask or clip"
        return {k: why for k in keys if k in ("targeted", "mask", "until", "clip")}
    if method.name == "label_inference":
        why = "`label_inference` reads labels off shared gradients: nothing to target, mask or clip"
        return {k: why for k in keys if k in ("targeted", "mask", "until", "clip")}
    if method.name == "privacy_utility":
        why = "`privacy_utility` runs the attacks it names, each with its own block options"
        return {k: why for k in keys if k in ("targeted", "mask", "until", "clip")}
    crafted: Any = method.get("attack", "bim") if method.name == "transfer" else method
    if isinstance(crafted, str) and crafted not in ATTACK_METHODS:
        why = f"`{crafted}` is a declared attack, replayed with its own options; give it there"
        return {k: why for k in keys if k in _BLOCK_OPTIONS}
    name = crafted.name if isinstance(crafted, CallValue) else str(crafted)
    if name == "local_rotations":
        why = "`local_rotations` perturbs input states, which have no features to mask or clip"
        return {k: why for k in keys if k in ("mask", "clip")}
    if name == "closest_flip":
        why = (
            "`closest_flip` is computed exactly from the model: no search, no randomness, "
            "no features, no class to aim at"
        )
        return {k: why for k in keys if k in _BLOCK_OPTIONS}
    return {}


def kwargs_of(table: dict[str, Check]) -> Check:
    return lambda v: check_call(
        v if not isinstance(v, CallValue) else CallValue("_", v.args, v.kwargs),
        {"_": table},
        "value",
    )


def keyword_call(name: str, table: dict[str, Check], full: str, short: str) -> Check:
    """``name(k = v, …)`` with keyword options only, checked by ``table``; ``full`` and
    ``short`` are the examples the messages give."""
    kwargs = kwargs_of(table)

    def check(v: Any) -> str | None:
        if not isinstance(v, CallValue):
            return f"expected `{full}`"
        if v.args:
            return f"`{name}` takes keyword options only, like `{short}`"
        return kwargs(v)

    return check
