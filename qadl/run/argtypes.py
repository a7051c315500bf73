"""argparse value types shared by the ``qadl`` subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["int_at_least"]


def int_at_least(lo: int) -> Callable[[str], int]:
    """argparse ``type`` for a whole number ``>= lo`` (counts, seeds, sizes in MiB).

    A bad value is a usage error (exit 2) naming the flag, never a traceback.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError(f"must be {lo} or more, got {value}")
        return value

    return parse
