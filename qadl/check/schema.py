"""Option schemas: for every statement kind, which options exist and what values they take.

A schema entry is a small validator ``value -> problem | None``. Validation happens here,
in the checker, so the grammar stays generic (``key value`` / ``key(k = v)``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qadl.check.builtins import BUILTIN_GATES
from qadl.check.values import CallValue, Condition

__all__ = [
    "ATTACK_METHODS",
    "CERTIFY_METHODS",
    "DATA_SOURCES",
    "DEFENCE_METHODS",
    "INPUT_OPTIMIZERS",
    "OPTIMIZERS",
    "PRIVACY_METHODS",
    "SCHEMAS",
    "Check",
    "Schema",
    "check_call",
    "close_match",
    "gradient_free_optimizer",
    "ignored_attack_options",
]

Check = Callable[[Any], "str | None"]
"""Returns a description of what is wrong with a value, or None when it is fine."""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def integer(lo: int | None = None, hi: int | None = None) -> Check:
    """An int in ``[lo, hi]``."""

    def check(v: Any) -> str | None:
        if not _is_int(v):
            return "expected an integer"
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            return f"must be {_range_text(lo, hi)}"
        return None

    return check


def number(
    lo: float | None = None,
    hi: float | None = None,
    *,
    open_lo: bool = False,
    open_hi: bool = False,
) -> Check:
    """A finite number in ``[lo, hi]`` (``open_lo``/``open_hi`` exclude an end)."""

    def check(v: Any) -> str | None:
        if not _is_num(v):
            return "expected a number"
        if not math.isfinite(v):
            return f"must be a finite number, got {v}"
        below = lo is not None and (v < lo or (open_lo and v == lo))
        above = hi is not None and (v > hi or (open_hi and v == hi))
        if below or above:
            return f"must be {_range_text(lo, hi, open_lo, open_hi)}"
        return None

    return check


def _range_text(
    lo: float | None, hi: float | None, open_lo: bool = False, open_hi: bool = False
) -> str:
    if lo is not None and hi is not None:
        return f"in {'(' if open_lo else '['}{lo}, {hi}{')' if open_hi else ']'}"
    if lo is not None:
        return f"{'>' if open_lo else '>='} {lo}"
    return f"{'<' if open_hi else '<='} {hi}"


def one_of(*words: str) -> Check:
    """One of a fixed set of words."""

    def check(v: Any) -> str | None:
        if isinstance(v, str) and v in words:
            return None
        hint = close_match(v, words) if isinstance(v, str) else None
        extra = f"; did you mean `{hint}`?" if hint else ""
        return f"expected one of {', '.join(words)}{extra}"

    return check


def boolean(v: Any) -> str | None:
    """``true`` or ``false`` (or 0/1)."""
    return None if isinstance(v, bool) or v in (0, 1) else "expected true or false"


def name(v: Any) -> str | None:
    """A bare name."""
    return None if isinstance(v, str) and v.isidentifier() else "expected a name"


def string(v: Any) -> str | None:
    """A string."""
    return None if isinstance(v, str) else "expected a string"


def list_of(item: Check, *, length: int | None = None, min_length: int = 1) -> Check:
    """A list (or a single item, promoted to a one-element list) of valid items."""

    def check(v: Any) -> str | None:
        items = v if isinstance(v, tuple) else (v,)
        if length is not None and len(items) != length:
            return f"expected a list of {length} items"
        if len(items) < min_length:
            return f"expected at least {min_length} item(s)"
        for it in items:
            problem = item(it)
            if problem:
                return f"list item {it!r}: {problem}"
        return None

    return check


def any_of(*checks: Check) -> Check:
    """Valid when one of ``checks`` accepts the value."""

    def check(v: Any) -> str | None:
        problems = [c(v) for c in checks]
        return None if any(p is None for p in problems) else problems[0]

    return check


def dims(v: Any) -> str | None:
    """An image shape like ``16x16``."""
    ok = isinstance(v, tuple) and len(v) == 2 and all(_is_int(s) and s > 0 for s in v)
    return None if ok else "expected a shape like 16x16"


def condition(metrics: tuple[str, ...]) -> Check:
    """A stopping rule ``metric >= value``."""

    def check(v: Any) -> str | None:
        if not isinstance(v, Condition):
            return "expected a condition like `wrong_class >= 0.6`"
        if v.metric not in metrics:
            return f"unknown metric `{v.metric}`; expected one of {', '.join(metrics)}"
        if v.op != ">=":
            return f"a stopping rule reads `{v.metric} >= value`, not `{v.op}`"
        if not 0.0 < v.value <= 1.0:
            return f"`{v.metric}` is a fraction: the value must lie in (0, 1], got {v.value:g}"
        return None

    return check


def feature_range(v: Any) -> str | None:
    """``[lo, hi]``: two finite numbers with ``lo < hi``."""
    problem = list_of(number(), length=2)(v)
    if problem:
        return problem
    lo, hi = v
    return None if lo < hi else f"the range must have lo < hi, got [{lo:g}, {hi:g}]"


def pairs(v: Any) -> str | None:
    """A coupling list ``[(0, 1), (1, 2)]``."""
    ok = isinstance(v, tuple) and all(
        isinstance(p, tuple)
        and len(p) == 2
        and all(_is_int(q) and q >= 0 for q in p)
        and p[0] != p[1]
        for p in v
    )
    return None if ok else "expected a list of qubit pairs like [(0, 1), (1, 2)]"


def close_match(word: str, choices: Any) -> str | None:
    """The most similar choice (difflib), if any is close."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


# ---- calls: optimizers, attack methods, data sources ------------------------------------------

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


def _kwargs_of(table: dict[str, Check]) -> Check:
    return lambda v: check_call(
        v if not isinstance(v, CallValue) else CallValue("_", v.args, v.kwargs),
        {"_": table},
        "value",
    )


def _keyword_call(name: str, table: dict[str, Check], full: str, short: str) -> Check:
    """``name(k = v, …)`` with keyword options only, checked by ``table``; ``full`` and
    ``short`` are the examples the messages give."""
    kwargs = _kwargs_of(table)

    def check(v: Any) -> str | None:
        if not isinstance(v, CallValue):
            return f"expected `{full}`"
        if v.args:
            return f"`{name}` takes keyword options only, like `{short}`"
        return kwargs(v)

    return check


# ---- per-statement schemas ------------------------------------------------------------------


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
    kwargs = _kwargs_of(table)
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

_federated = _keyword_call(
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
_dp = _keyword_call(  # DP-SGD: dp(clip = C, noise = σ, delta = δ)
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
    "depolarizing": _kwargs_of({"1q": _PROB, "2q": _PROB}),
    "readout_error": _kwargs_of({"p01": _PROB, "p10": _PROB}),
    "t1": _TIME,
    "t2": _TIME,
    "gate_time": _kwargs_of({"1q": _TIME, "2q": _TIME}),
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


def _mitigation():
    """``qadl.check.mitigate`` (imported late: it builds on this module's checks)."""
    from qadl.check import mitigate

    return mitigate


SCHEMAS: dict[str, Schema] = {
    "train": Schema(
        {
            **_TRAIN,
            "federated": _federated,
            "dp": _dp,
            "mitigate": lambda v: _mitigation().mitigation_methods(v),
        },
        rules=(
            *_TRAIN_RULES,
            ("federated", _federated_excludes),
            ("dp", _dp_needs_gradients),
            ("mitigate", lambda options: _mitigation().train_mitigate_rule(options)),
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
            "mitigate": lambda v: _mitigation().mitigation_methods(v),
            "device": name,
            "noise_scale": lambda v: _mitigation().noise_scales(v),
        },
        rules=(
            ("certify", _certify_needs_exact),
            ("mitigate", lambda options: _mitigation().mitigate_rule(options)),
            ("noise_scale", lambda options: _mitigation().noise_scale_rule(options)),
        ),
    ),
    "target": Schema(
        {
            "qubits": integer(1, 1000),
            "basis": list_of(one_of(*[g for g in BUILTIN_GATES if g != "amplitude"])),
            "coupling": any_of(one_of("chain", "ring", "heavy_hex", "full", "grid"), pairs),
            "fidelity": _kwargs_of({"1q": gate_fidelity(2), "2q": gate_fidelity(4)}),
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
