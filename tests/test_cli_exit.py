"""The console script leaves the garbage collector nothing to trace at exit; calls with an
explicit ``argv`` (tests, embedding programs) leave it alone."""

from __future__ import annotations

import gc
import sys

from qadl.cli import main


def test_console_entry_freezes_what_is_left(monkeypatch, capsys):
    gc.unfreeze()
    try:
        assert main(["--version"]) == 0
        assert gc.get_freeze_count() == 0  # an explicit argv: the caller goes on
        monkeypatch.setattr(sys, "argv", ["qadl", "--version"])
        assert main() == 0
        assert gc.get_freeze_count() > 0  # the process's own command line: it exits next
    finally:
        gc.unfreeze()
    assert capsys.readouterr().out.count("qadl") == 2
