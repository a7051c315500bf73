"""Command-line inputs that are not the program: `--target`/`--model` names, `--bind` files
and `--resume` checkpoints. Each mistake is exit 1 with a coded error naming the flag or the
path, never a fake `file:1:1`, a traceback or the internal-error banner.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qadl.cli import main
from qadl.learn.checkpoint import CHECKPOINT_NAME

HERE = Path(__file__).parent
TINY = HERE / "cli_tiny.qadl"


def _user_error(capsys: pytest.CaptureFixture[str], code: str) -> str:
    err = capsys.readouterr().err
    assert f"error[{code}]" in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert f"{TINY}:1:1" not in err  # no location pretending to be in the program
    return err


def test_unknown_target_lists_declared_and_builtin(capsys) -> None:
    assert main(["compile", str(TINY), "--target", "nowhere"]) == 1
    err = _user_error(capsys, "E0612")
    assert err.startswith(
        f"qadl compile: error[E0612]: no target `nowhere` in {TINY}; declared: none; "
        "built-in: chain10, heavy_hex27"
    )


def test_unknown_model_lists_declared(capsys) -> None:
    assert main(["compile", str(TINY), "--model", "nope"]) == 1
    err = _user_error(capsys, "E0231")
    assert err.startswith(f"qadl compile: error[E0231]: no model `nope` in {TINY}; declared: m")


def _bind(path: Path, capsys) -> str:
    assert main(["compile", str(TINY), "--bind", str(path)]) == 1
    return _user_error(capsys, "E0805")


def test_bind_npy_file_is_refused(tmp_path: Path, capsys) -> None:
    path = tmp_path / "theta.npy"
    np.save(path, np.zeros(4))
    err = _bind(path, capsys)
    assert err.startswith(f"{path}: error[E0805]:") and "single array (.npy)" in err


def test_bind_object_array_is_never_unpickled(tmp_path: Path, capsys) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, theta=np.array([{"a": 1}, None], dtype=object))
    err = _bind(path, capsys)
    assert err.startswith(f"{path}: error[E0805]:") and "unpickling" in err


@pytest.mark.parametrize(
    ("theta", "words"),
    [(np.array(["a", "b", "c", "d"]), "not real numbers"), (np.array([0, 1, np.nan, 2]), "NaN")],
)
def test_bind_non_numeric_or_nan_is_refused(tmp_path: Path, capsys, theta, words) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, theta=theta)
    assert words in _bind(path, capsys)


def test_bind_unreadable_file_is_a_user_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"not a zip at all")
    assert main(["compile", str(TINY), "--bind", str(path)]) == 1
    assert _user_error(capsys, "E0710").startswith(f"{path}: error[E0710]")


# -- --resume from corrupt checkpoints ------------------------------------------------------


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory) -> Path:
    """A one-epoch run whose checkpoint the tests below damage (each on its own copy)."""
    out = tmp_path_factory.mktemp("ckpt")
    args = ["run", str(TINY), "--out", str(out), "--no-plots", "--no-progress", "--max-epochs", "1"]
    assert main(args) == 0
    return out


def _damaged(checkpointed: Path, tmp_path: Path, change) -> Path:
    import shutil

    out = tmp_path / "o"
    shutil.copytree(checkpointed, out)
    path = out / "checkpoints" / "m" / CHECKPOINT_NAME
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    np.savez(path, **arrays)
    return out


def _extra_without_step(arrays) -> None:
    extra = json.loads(str(arrays["extra"]))
    del extra["step"]
    arrays["extra"] = np.array(json.dumps(extra))


def _optimizer_state_resized(arrays) -> None:
    key = next(k for k in arrays if k.startswith("opt/") and np.ndim(arrays[k]) == 1)
    arrays[key] = np.zeros(arrays[key].size + 1)


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.pop("epoch"),
        lambda a: a.__setitem__("extra", np.array("{not json")),
        lambda a: a.__setitem__("rng_state", np.array("[1, 2")),
        _extra_without_step,
        lambda a: a.__setitem__("theta", np.zeros(7)),
        lambda a: a.__setitem__("theta", np.full(4, np.nan)),
        lambda a: a.__setitem__("history/loss", np.zeros(5)),
        _optimizer_state_resized,
    ],
    ids=[
        "missing-key", "bad-json-extra", "bad-json-rng", "extra-missing-key",
        "theta-size", "theta-nan", "history-rows", "optimizer-state",
    ],
)
def test_resume_from_a_corrupt_checkpoint(checkpointed, tmp_path, capsys, change) -> None:
    out = _damaged(checkpointed, tmp_path, change)
    args = ["run", str(TINY), "--out", str(out), "--no-plots", "--no-progress", "--resume"]
    assert main(args) == 1
    err = _user_error(capsys, "E0724")
    assert "corrupt" in err and "run without --resume" in err


def test_target_device_without_a_device_line(capsys) -> None:
    assert main(["compile", str(TINY), "--target", "device"]) == 1
    assert "model `m` in" in _user_error(capsys, "E0612")


def test_bind_with_ir_output_is_refused_not_ignored(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.npz"
    np.savez(path, theta=np.zeros(4))
    assert main(["compile", str(TINY), "--emit", "ir", "--bind", str(path)]) == 1
    assert "--emit ir" in _user_error(capsys, "E0807")


def test_empty_passes_is_refused_not_ignored(capsys) -> None:
    assert main(["compile", str(TINY), "--passes", ""]) == 1
    assert "empty" in _user_error(capsys, "E0613")


def test_negative_route_seed_is_a_usage_error(capsys) -> None:
    assert main(["compile", str(TINY), "--target", "chain10", "--route-seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--route-seed: must be 0 or more, got" in err and "internal error" not in err
