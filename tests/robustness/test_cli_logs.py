"""`qadl run` with stdout piped (CI, `| tee`, nohup): plain lines, flushed as the work goes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from qadl.cli import main

TINY = Path(__file__).parent / "cli_tiny.qadl"


def test_piped_run_logs_each_epoch_while_it_runs(tmp_path: Path) -> None:
    """The first epoch's line arrives while the run is still going, not at exit."""
    # Python's default when piped: block-buffered stdout, so only explicit flushes show up
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qadl", "run", str(TINY), "--out", str(tmp_path / "o"),
         "--no-plots"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    seen: list[tuple[str, bool, float]] = []  # (line, process still running?, arrival time)
    try:
        for line in proc.stdout:
            seen.append((line.rstrip("\n"), proc.poll() is None, time.perf_counter()))
    finally:
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    lines = [text for text, _, _ in seen]
    epochs = [i for i, text in enumerate(lines) if text.startswith("epoch ")]
    assert [lines[i].split(":")[0] for i in epochs] == [f"epoch {k}/4" for k in range(1, 5)]
    assert all(w in lines[epochs[0]] for w in ("loss", "train accuracy", "test accuracy", " s)"))
    assert seen[epochs[0]][1], "the first epoch line only appeared when the run had ended"
    attack = next(text for text in lines if text.lstrip().startswith("attack f:"))
    assert "6 samples" in attack and "ε 0.1: success rate" in attack and "ε 0.2" in attack
    assert any("-> m: clean accuracy" in text for text in lines)
    assert "\x1b" not in "".join(lines) and "Traceback" not in err


class _RecordingStream:
    """A non-terminal stdout that records what was written and when it was flushed."""

    def __init__(self) -> None:
        self.pending = ""
        self.flushed: list[str] = []

    def write(self, text: str) -> int:
        self.pending += text
        return len(text)

    def flush(self) -> None:
        self.flushed.append(self.pending)
        self.pending = ""

    def isatty(self) -> bool:
        return False


def test_each_epoch_line_is_flushed_as_the_epoch_ends(monkeypatch) -> None:
    """Deterministic companion of the subprocess test: one flush per epoch line, none pending."""
    from qadl.learn.progress import TrainProgress

    stream = _RecordingStream()
    monkeypatch.setattr(sys, "stdout", stream)
    with TrainProgress(6, epochs=3) as progress:
        for k in range(1, 4):
            progress.batch(k, 0.5)
            progress.epoch(k, {"loss": 0.5, "train_acc": 0.75})
            assert stream.pending == "", "an epoch line was left in the buffer"
    heads = [chunk.split(":")[0] for chunk in stream.flushed]
    assert heads == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]


def test_no_progress_keeps_statement_lines_but_no_epoch_lines(tmp_path: Path, capsys) -> None:
    args = ["run", str(TINY), "--out", str(tmp_path / "o"), "--no-plots", "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "train m on" in out and "attack f:" in out
    assert "epoch 1/4" not in out


def test_epoch_line_names_validation_and_skips_unmeasured() -> None:
    from qadl.learn.progress import epoch_line

    metrics = {"loss": 0.5, "train_acc": 0.8, "test_acc": float("nan"), "val_acc": 0.7}
    assert epoch_line(3, 20, metrics, 1.23) == (
        "epoch 3/20: loss 0.5000, train accuracy 0.8000, validation accuracy 0.7000 (1.2 s)"
    )


class _Stream:
    """A stdout that is (or is not) a terminal and records what it is given."""

    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def _one_epoch(monkeypatch, tty: bool) -> str:
    import sys

    from qadl.learn.progress import TrainProgress

    stream = _Stream(tty)
    monkeypatch.setattr(sys, "stdout", stream)
    with TrainProgress(2, epochs=2) as bar:
        bar.epoch(1, {"loss": 0.5})
    return stream.text


def test_on_a_terminal_epochs_go_to_the_bar_not_to_stdout(monkeypatch) -> None:
    assert _one_epoch(monkeypatch, tty=True) == ""
    assert _one_epoch(monkeypatch, tty=False).startswith("epoch 1/2: loss 0.5000 (")


def test_transfer_attacks_get_their_line_too(tmp_path: Path, capsys) -> None:
    here = Path(__file__).parent
    source = TINY.read_text().replace("under [clean, f]", "under [clean, t]")
    source += (
        "attack t on m { method transfer(surrogate = logistic_regression, "
        "attack = fgsm(epsilon = 0.1)) }\n"
    )
    (tmp_path / "t.qadl").write_text(source)
    (tmp_path / "cli_tiny.csv").write_text((here / "cli_tiny.csv").read_text())
    args = ["run", str(tmp_path / "t.qadl"), "--out", str(tmp_path / "o"), "--no-plots",
            "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "  attack t: 6 samples; ε 0.1: success rate " in out


class _ClosedPipe:
    """A stdout whose reader has gone (`qadl ... | head -1` after the first line)."""

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_reader_that_leaves_stops_the_command_quietly(monkeypatch, capsys) -> None:
    import sys

    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["compile", str(TINY)]) == 141
    assert capsys.readouterr().err == ""
