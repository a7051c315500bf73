"""The console script spaces out the garbage collector's full passes and leaves it nothing
to trace at exit; calls with an explicit ``argv`` (tests, embedding programs) leave the
collector alone."""

from __future__ import annotations

import gc
import sys

from qadl.cli import main


def test_console_entry_spaces_full_collections_and_freezes_what_is_left(monkeypatch, capsys):
    threshold = gc.get_threshold()
    gc.unfreeze()
    try:
        assert main(["--version"]) == 0
        # an explicit argv: the caller goes on, with its own collector settings
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == threshold
        monkeypatch.setattr(sys, "argv", ["qadl", "--version"])
        assert main() == 0
        # the process's own command line: full passes spaced out, and it exits next
        assert gc.get_threshold() == (*threshold[:2], 100)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
    assert capsys.readouterr().out.count("qadl") == 2
