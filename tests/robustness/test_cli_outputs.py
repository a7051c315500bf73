"""`qadl run`/`compile` output directories: checked before any work, locked, cleaned.

Every failure must be exit 1 with a coded `error[E08xx]` naming the path: never exit 101,
a traceback or the internal-error banner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qadl.cli import main
from qadl.run import outdir
from qadl.run.outdir import LOCK_NAME, OutputLock, clean_orphans

HERE = Path(__file__).parent
TINY = HERE / "cli_tiny.qadl"


def _run(out: Path, *extra: str) -> int:
    return main(["run", str(TINY), "--out", str(out), "--no-plots", "--no-progress", *extra])


def _user_error(capsys: pytest.CaptureFixture[str], code: str) -> str:
    err = capsys.readouterr().err
    assert f"error[{code}]" in err, err
    assert "Traceback" not in err and "internal error" not in err
    return err


def test_out_naming_a_file_is_refused_before_training(tmp_path: Path, capsys) -> None:
    target = tmp_path / "results.txt"
    target.write_text("keep me\n")
    assert _run(target) == 1
    err = _user_error(capsys, "E0801")
    assert err.startswith(f"{target}: error[E0801]: --out `{target}` is an existing file")
    assert target.read_text() == "keep me\n"


def test_out_below_a_file_is_refused(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert _run(blocker / "sub" / "dir") == 1
    err = _user_error(capsys, "E0801")
    assert "a parent of it is a file" in err or "Not a directory" in err


def test_unwritable_out_is_refused_before_any_work(tmp_path: Path, monkeypatch, capsys) -> None:
    """`--out /` as a normal user: refused up front, not at the first checkpoint."""

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outdir.tempfile, "mkstemp", denied)
    assert _run(tmp_path / "o") == 1
    err = _user_error(capsys, "E0801")
    assert "Permission denied" in err
    assert "epoch" not in capsys.readouterr().out


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_directory_is_refused(tmp_path: Path, capsys) -> None:
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    assert _run(locked) == 1
    assert "Permission denied" in _user_error(capsys, "E0801")


def test_compile_output_naming_a_file_is_refused(tmp_path: Path, capsys) -> None:
    target = tmp_path / "out.qasm"
    target.write_text("")
    assert main(["compile", str(TINY), "-o", str(target)]) == 1
    assert "-o `" in _user_error(capsys, "E0801")


def test_compile_writes_each_file_whole(tmp_path: Path, capsys, monkeypatch) -> None:
    """`compile -o`: a file the command cannot write is E0801 with the `-o` hint, and an
    interrupted write leaves neither a partial file nor its temporary sibling."""
    from qadl.run import outputs

    out = tmp_path / "o"
    assert main(["compile", str(TINY), "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names and all(n.endswith(".qasm") for n in names)
    capsys.readouterr()
    for name in names:  # a directory where an output file goes
        (out / name).unlink()
        (out / name).mkdir()
    assert main(["compile", str(TINY), "-o", str(out)]) == 1
    err = _user_error(capsys, "E0801")
    assert "cannot write" in err and "choose another -o DIR" in err
    fresh = tmp_path / "p"

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs.os, "replace", interrupted)
    assert main(["compile", str(TINY), "-o", str(fresh)]) == 130
    assert list(fresh.iterdir()) == []


def test_second_run_into_a_locked_directory_is_refused(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    out.mkdir()
    with OutputLock(out):
        assert _run(out) == 1
    err = _user_error(capsys, "E0802")
    assert f"in use by another qadl run (pid {os.getpid()})" in err
    assert not (out / "results.json").exists()


def test_lock_is_released_and_can_be_taken_again(tmp_path: Path) -> None:
    with OutputLock(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
    with OutputLock(tmp_path):
        pass


def test_a_lock_held_by_another_process_names_its_pid(tmp_path: Path, capsys) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\nfrom qadl.run.outdir import OutputLock\n"
         f"with OutputLock(Path({str(tmp_path)!r})):\n    print('locked', flush=True)\n"
         "    sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert _run(tmp_path) == 1
        assert f"(pid {holder.pid})" in _user_error(capsys, "E0802")
    finally:
        holder.communicate("", timeout=30)
    with OutputLock(tmp_path):  # the holder exited: the kernel dropped its lock
        pass


def test_stale_lock_of_a_dead_pid_is_taken_over_without_flock(tmp_path: Path) -> None:
    """The O_EXCL fallback (no fcntl): a dead pid's lock is taken, a live one's is not."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (tmp_path / LOCK_NAME).write_text(dead.stdout)
    lock = OutputLock(tmp_path)
    lock._acquire_exclusive()
    assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
    (tmp_path / LOCK_NAME).write_text("1\n")  # pid 1 is always alive
    with pytest.raises(Exception, match=r"pid 1\)"):
        OutputLock(tmp_path)._acquire_exclusive()


def test_orphan_temp_files_are_cleaned_and_nothing_else(tmp_path: Path) -> None:
    ckpt = tmp_path / "checkpoints" / "m"
    ckpt.mkdir(parents=True)
    orphans = [
        tmp_path / ".results.json.ab12_xyz.tmp",
        tmp_path / ".m.params.npz.k3j4h5g6.tmp",
        ckpt / "last.npz.q1w2e3r4.tmp",
    ]
    kept = [tmp_path / "notes.tmp", tmp_path / ".results.json.tmp", ckpt / "last.npz"]
    for path in orphans + kept:
        path.write_text("")
    assert sorted(clean_orphans(tmp_path)) == sorted(orphans)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in orphans)


def test_run_cleans_orphans_and_writes_its_outputs(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    orphan = out / ".results.json.zzzzzzzz.tmp"
    orphan.write_text("half")
    assert _run(out, "--max-epochs", "1") == 0
    assert not orphan.exists()
    assert json.loads((out / "results.json").read_text())["models"]["m"]["epochs"] == 1


def test_memory_guard_refuses_before_training(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("QADL_MEMORY_LIMIT", "100")
    assert _run(tmp_path / "o") == 1
    err = _user_error(capsys, "E0803")
    assert "training `m` needs about" in err and "smaller batch" in err
    assert not (tmp_path / "o" / "m.params.npz").exists()


def test_bad_memory_limit_is_a_user_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("QADL_MEMORY_LIMIT", "lots")
    assert _run(tmp_path / "o") == 1
    assert "QADL_MEMORY_LIMIT" in _user_error(capsys, "E0804")


def test_a_file_where_the_run_puts_a_directory_is_refused_first(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "plots").write_text("")
    assert main(["run", str(TINY), "--out", str(out), "--no-progress"]) == 1
    assert "the run writes a directory there" in _user_error(capsys, "E0801")
    assert not (out / "m.params.npz").exists()


def test_an_output_file_that_cannot_be_replaced_is_a_user_error(tmp_path: Path, capsys) -> None:
    """`results.json` is a directory: the atomic replace fails; exit 1, and no temp file left."""
    out = tmp_path / "o"
    (out / "results.json").mkdir(parents=True)
    assert _run(out, "--max-epochs", "1") == 1
    err = _user_error(capsys, "E0801")
    assert err.startswith(f"{out / 'results.json'}: error[E0801]: cannot write")
    assert not list(out.glob(".results.json.*.tmp"))


def test_a_file_system_without_flock_falls_back_to_exclusive_create(tmp_path, monkeypatch):
    import fcntl

    def no_flock(fd, op):
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    with OutputLock(tmp_path) as lock:
        assert lock._exclusive
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_directory_named_like_the_lock_is_a_user_error(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o"
    (out / LOCK_NAME).mkdir(parents=True)
    assert _run(out) == 1
    assert "cannot create the lock file" in _user_error(capsys, "E0801")


def test_output_files_follow_the_umask_not_mkstemps_0600(tmp_path: Path) -> None:
    from qadl.run.outputs import write_json

    old = os.umask(0o022)
    try:
        path = write_json(tmp_path / "results.json", {"a": 1})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
