"""The ``mitigate`` option of ``evaluate``: readout-error mitigation and zero-noise extrapolation.

``mitigate readout``, ``mitigate zne(scales = [1, 3, 5], extrapolation = richardson)`` or
both, ``mitigate [readout, zne(...)]``; ``zne(scaling = channel)`` scales the simulator's
noise channels instead of folding the circuit (any scales ≥ 1). Values are validated
here; whether the model's device has the noise to mitigate is known only after lowering
(``qadl.run.mitigation``).
"""

from __future__ import annotations

from typing import Any

from qadl.check.methods import check_call
from qadl.check.validators import Check, integer, one_of
from qadl.check.values import CallValue

__all__ = [
    "MAX_SCALE",
    "MITIGATIONS",
    "mitigate_rule",
    "mitigation_methods",
    "noise_scale_rule",
    "noise_scales",
    "train_mitigate_rule",
]

MAX_SCALE = 99
"""Largest folding scale: the folded circuit has ``scale`` times the gates."""
MAX_CALIBRATION_SHOTS = 10**9


def _odd_scale(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1 or v % 2 == 0 or v > MAX_SCALE:
        return (
            f"folding scales are odd integers 1, 3, 5, … up to {MAX_SCALE} "
            "(any scale ≥ 1 with `scaling = channel`)"
        )
    return None


def _channel_scale(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 1 <= v <= MAX_SCALE:
        return f"channel scales are numbers in [1, {MAX_SCALE}] (1: the device's own noise)"
    return None


def _scales(v: Any) -> str | None:
    """Numbers ≥ 1, at least two, distinct; whether they must be odd depends on ``scaling``."""
    items = v if isinstance(v, tuple) else (v,)
    for item in items:
        problem = _channel_scale(item)
        if problem:
            return f"scale {item!r}: {problem}"
    if len(items) < 2:
        return "extrapolation needs at least two scales, e.g. [1, 3, 5]"
    if len(set(items)) != len(items):
        return f"the scales must differ, got {list(items)}"
    return None


MITIGATIONS: dict[str, dict[str, Check]] = {
    "readout": {
        "method": one_of("tensored", "full"),
        "calibration_shots": integer(1, MAX_CALIBRATION_SHOTS),
    },
    "zne": {
        "scales": _scales,
        "extrapolation": one_of("richardson", "linear", "polynomial", "exponential"),
        "order": integer(1, 10),
        "folding": one_of("global", "local"),
        "scaling": one_of("fold", "channel"),
    },
}
"""Mitigation -> its keyword arguments."""


def _zne_rule(kw: dict[str, Any]) -> str | None:
    """The fit must be determined by the scales; ``order`` belongs to ``polynomial``;
    folding needs odd integer scales and channel scaling folds nothing."""
    scales = kw.get("scales", (1, 3, 5))
    count = len(scales) if isinstance(scales, tuple) else 1
    if kw.get("scaling", "fold") == "channel":
        if "folding" in kw:
            return "`folding` chooses how to fold; `scaling = channel` folds nothing: drop one"
    else:
        for item in scales if isinstance(scales, tuple) else (scales,):
            problem = _odd_scale(item)
            if problem:
                return f"scale {item!r}: {problem}"
    method = kw.get("extrapolation", "richardson")
    if method == "polynomial":
        if "order" not in kw:
            return "`extrapolation = polynomial` needs its degree: `order = 2`"
        if kw["order"] >= count:
            return f"a degree-{kw['order']} fit needs more than {kw['order']} scales, got {count}"
    elif "order" in kw:
        return f"`order` is the degree of `polynomial`; `{method}` does not take it"
    if method == "exponential" and count < 2:
        return "`exponential` needs at least two scales"
    return None


def _readout_rule(kw: dict[str, Any]) -> str | None:
    """Calibration circuits estimate the full confusion matrix."""
    if "calibration_shots" in kw and kw.get("method", "tensored") != "full":
        return "`calibration_shots` estimates the full confusion matrix: add `method = full`"
    return None


_RULES = {"zne": _zne_rule, "readout": _readout_rule}


def mitigation_methods(v: Any) -> str | None:
    """``readout``, ``zne(...)`` or a list of both, each at most once."""
    seen: set[str] = set()
    for item in v if isinstance(v, tuple) else (v,):
        problem = check_call(item, MITIGATIONS, "mitigation")
        if problem:
            return problem
        name = item.name if isinstance(item, CallValue) else item
        problem = _RULES[name](item.as_dict() if isinstance(item, CallValue) else {})
        if problem:
            return problem
        if name in seen:
            return f"`{name}` is listed twice"
        seen.add(name)
    return None


def mitigate_rule(options: dict[str, Any]) -> str | None:
    """Mitigation is applied to exact probabilities, and certificates bound the raw classifier."""
    if "shots" in options:
        return (
            "`mitigate` corrects exact probabilities; sampled decisions (`shots`) "
            "are not mitigated: drop `shots` here"
        )
    if "certify" in options:
        return "`certify` bounds the unmitigated classifier: certify in another `evaluate`"
    return None


MAX_NOISE_SCALE = 100
"""Largest factor of ``noise_scale`` (``qadl.ir.noise_scaling.MAX_NOISE_SCALE``)."""


def noise_scales(v: Any) -> str | None:
    """``noise_scale [0, 1, 2, 3]``: distinct factors in [0, 100] (0: noiseless)."""
    items = v if isinstance(v, tuple) else (v,)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float):
            return f"noise scale {item!r}: expected a number, like `noise_scale [0, 1, 2]`"
        if not 0 <= item <= MAX_NOISE_SCALE:
            return f"noise scale {item!r}: expected a factor in [0, {MAX_NOISE_SCALE}]"
    if len(set(items)) != len(items):
        return f"the noise scales must differ, got {list(items)}"
    return None


def noise_scale_rule(options: dict[str, Any]) -> str | None:
    """A sweep evaluates a family of devices; certificates bound one noiseless classifier."""
    if "certify" in options:
        return "`certify` bounds one classifier, not a noise sweep: certify in another `evaluate`"
    return None


def train_mitigate_rule(options: dict[str, Any]) -> str | None:
    """``train { mitigate ... }`` fits one classifier on the mitigated outputs of its device."""
    for clash, why in (
        ("federated", "federated clients train on their own copies of the device"),
        ("dp", "DP-SGD clips per-sample gradients of the unmitigated simulator"),
    ):
        if clash in options:
            return f"`mitigate` cannot be combined with `{clash}` ({why}): drop one"
    return None
