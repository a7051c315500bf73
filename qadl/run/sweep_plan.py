"""The points of a ``sweep``: their order, bindings and keys (pure functions, no I/O).

Points come in the order of the grid as written: the Cartesian product of the axes, the
last axis varying fastest. A point's key names its bindings (``SEED=3,LR=0.05``) and is
also its directory name under ``OUT/points/``, so it is made filesystem-safe: characters
other than ASCII letters, digits and ``._+-=,`` become ``_``, and where two points would
then share a key (or a key is too long) a digest of the exact bindings is appended.

No point needs a seed of its own: every random choice of a qadl program (initial
parameters, data splits, batches, attack starts) is seeded by the file, with fixed
defaults, so a point's run is the same wherever and in whatever order it runs.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from qadl.program import SweepSpec

__all__ = ["SweepPoint", "group_key", "plan_points", "point_key", "value_text"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._+\-=,]")
MAX_KEY_CHARS = 120


@dataclass(frozen=True)
class SweepPoint:
    """One point of the grid: its position, its key and the constant values it binds."""

    index: int
    key: str
    bindings: tuple[tuple[str, Any], ...]

    def value(self, name: str) -> Any:
        """The value this point binds to constant ``name``."""
        return dict(self.bindings)[name]


def value_text(value: Any) -> str:
    """A value as the file would write it: ``0.05``, ``true``, ``"l2"`` → ``l2``, ``[1, 2]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else str(value)


def point_key(bindings: tuple[tuple[str, Any], ...]) -> str:
    """The readable, filesystem-safe key of one point (before collisions are resolved)."""
    text = ",".join(f"{name}={value_text(v)}" for name, v in bindings)
    return _UNSAFE.sub("_", text.replace(", ", "_").replace("[", "").replace("]", ""))


def _digest(bindings: tuple[tuple[str, Any], ...]) -> str:
    exact = repr(tuple((n, type(v).__name__, repr(v)) for n, v in bindings))
    return hashlib.sha256(exact.encode("utf-8")).hexdigest()[:10]


def plan_points(sweep: SweepSpec) -> tuple[SweepPoint, ...]:
    """Every point of ``sweep`` in grid order, each with a unique key."""
    names = [a.name for a in sweep.axes]
    combos = [tuple(zip(names, values, strict=True))
              for values in itertools.product(*(a.values for a in sweep.axes))]
    keys = [point_key(b) for b in combos]
    counts = Counter(keys)
    out = []
    for index, (bindings, key) in enumerate(zip(combos, keys, strict=True)):
        if counts[key] > 1 or len(key) > MAX_KEY_CHARS or key.startswith("."):
            key = f"{key[:MAX_KEY_CHARS].lstrip('.')}~{_digest(bindings)}"
        out.append(SweepPoint(index, key, bindings))
    return tuple(out)


def group_key(point: SweepPoint, replicate: tuple[str, ...]) -> str:
    """The key of the point's replicate group: its bindings other than the replicate axes
    (``all`` when every axis is a replicate axis)."""
    rest = tuple((n, v) for n, v in point.bindings if n not in replicate)
    return point_key(rest) if rest else "all"
