"""``qadl compile --zne-scales 1,3,5 --calibration tensored``: the folded and calibration
circuits of error mitigation (``qadl.passes.mitigation_circuits``), one file each."""

from __future__ import annotations

import argparse

from qadl.errors import QadlError
from qadl.source import Span

__all__ = ["check_flags", "mitigation_variants", "parse_scales"]

MAX_FOLD_SCALE = 99
"""As ``mitigate zne``: the folded circuit has ``scale`` times the gates."""


def parse_scales(text: str) -> tuple[int, ...] | str:
    """``"1,3,5"`` -> ``(1, 3, 5)``, or why it is not a list of distinct odd scales."""
    try:
        scales = tuple(int(part) for part in text.split(","))
    except ValueError:
        return f"--zne-scales {text!r}: expected odd integers separated by commas, like 1,3,5"
    bad = [s for s in scales if s < 1 or s % 2 == 0 or s > MAX_FOLD_SCALE]
    if bad:
        return f"--zne-scales: {bad[0]} is not a folding scale (odd integers 1, 3, 5, … ≤ 99)"
    if len(set(scales)) != len(scales):
        return f"--zne-scales: the scales must differ, got {list(scales)}"
    return scales


def check_flags(args: argparse.Namespace, span: Span) -> None:
    """The mitigation flags, before any work.

    Raises:
        QadlError: E0973 for malformed scales, or several files without ``-o``.
    """
    if not (args.zne_scales or args.calibration):
        return
    if args.zne_scales:
        scales = parse_scales(args.zne_scales)
        if isinstance(scales, str):
            raise QadlError.at("E0973", scales, span, help="e.g. --zne-scales 1,3,5")
    if args.output is None:
        flag = "--zne-scales" if args.zne_scales else "--calibration"
        raise QadlError.at(
            "E0973",
            f"{flag} writes one file per circuit: it needs an output directory",
            span,
            help="add -o DIR",
        )


def mitigation_variants(circuit, args: argparse.Namespace, basis, span: Span) -> list:
    """The folded circuits (``--zne-scales``) then the calibration ones (``--calibration``).

    Raises:
        QadlError: E0974 when the circuit cannot be folded (a gate without an inverse) or
            calibrated (more than 8 measured qubits for ``full``).
    """
    from qadl.passes.mitigation_circuits import calibration_circuits, folded_circuits

    out = []
    try:
        if args.zne_scales:
            scales = parse_scales(args.zne_scales)
            out += folded_circuits(circuit, scales, args.zne_folding)  # type: ignore[arg-type]
        if args.calibration:
            out += calibration_circuits(circuit, args.calibration, basis)
    except ValueError as err:
        raise QadlError.at(
            "E0974", f"cannot emit the mitigation circuits: {err}", span,
            help="drop --zne-scales or --calibration for this model (--model NAME)",
        ) from None
    return out
