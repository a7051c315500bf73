"""The serial executor and its result store: keys, atomic writes, resume, shared arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from qadl.errors import QadlError
from qadl.run.executor import ResultStore, Shared, Task, execute
from qadl.run.store import file_name

CALLS: list[str] = []


def _record(name: str, scale: float = 1.0) -> dict:
    CALLS.append(name)
    return {"name": name, "value": 0.1 * scale, "array": np.arange(3) * scale}


def test_serial_runs_in_order_and_stores_each_key(tmp_path) -> None:
    CALLS.clear()
    store = ResultStore(tmp_path)
    tasks = [Task(f"point/{i}", _record, (f"p{i}",), {"scale": float(i)}) for i in range(3)]
    results = execute(tasks, store, progress=False)
    assert CALLS == ["p0", "p1", "p2"]
    assert list(results) == ["point/0", "point/1", "point/2"]
    assert results["point/2"] == {"name": "p2", "value": 0.2, "array": [0.0, 2.0, 4.0]}
    assert sorted(store.keys()) == ["point/0", "point/1", "point/2"]
    assert store.get("point/1") == results["point/1"]


def test_resume_skips_finished_keys(tmp_path) -> None:
    CALLS.clear()
    store = ResultStore(tmp_path)
    tasks = [Task(f"k{i}", _record, (f"p{i}",)) for i in range(4)]
    first = execute(tasks[:2], store, progress=False)
    assert CALLS == ["p0", "p1"]
    again = execute(tasks, store, resume=True, progress=False)
    assert CALLS == ["p0", "p1", "p2", "p3"]  # p0, p1 were not run again
    assert {k: again[k] for k in first} == first
    execute(tasks, store, resume=False, progress=False)  # without resume: everything runs
    assert len(CALLS) == 8


def test_shared_arguments_are_resolved_by_name(tmp_path) -> None:
    CALLS.clear()
    task = Task("s", _record, (Shared("who"),), {"scale": Shared("k")})
    result = execute([task], ResultStore(tmp_path), shared={"who": "w", "k": 2.0},
                     progress=False)
    assert result["s"]["name"] == "w" and result["s"]["value"] == 0.2
    with pytest.raises(ValueError, match="never given"):
        execute([task], ResultStore(tmp_path), shared={"who": "w"}, progress=False)


def test_duplicate_keys_are_refused(tmp_path) -> None:
    tasks = [Task("same", _record, ("a",)), Task("same", _record, ("b",))]
    with pytest.raises(ValueError, match="share the key"):
        execute(tasks, ResultStore(tmp_path), progress=False)


def test_keys_become_distinct_safe_file_names() -> None:
    names = {file_name(k) for k in ("a/b", "a_b", "a b", "../../etc/passwd", "")}
    assert len(names) == 5
    for name in names:
        assert "/" not in name and not name.startswith(".") and name.endswith(".json")


def test_floats_read_back_bit_for_bit(tmp_path) -> None:
    store = ResultStore(tmp_path)
    values = [0.1 + 0.2, 1e-310, float("nan"), float("inf"), np.float32(0.1)]
    back = store.put("f", {"v": values})["v"]
    assert back[0] == values[0] and back[1] == values[1] and back[3] == values[3]
    assert back[2] != back[2]  # NaN survives
    assert back[4] == float(np.float32(0.1))
    assert store.get("f")["v"][:2] == values[:2]


def test_a_crash_between_write_and_replace_leaves_no_result(tmp_path) -> None:
    """A process killed after writing the temporary file: no result, no partial file."""
    script = textwrap.dedent(f"""
        import os
        from qadl.run.store import ResultStore
        os.replace = lambda *a: os._exit(3)   # die exactly between fsync and the rename
        ResultStore({str(tmp_path)!r}).put("k", {{"x": list(range(1000))}})
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False)
    assert done.returncode == 3
    leftovers = os.listdir(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")  # the orphan, never the result
    store = ResultStore(tmp_path)  # opening the store removes the orphan
    assert not store.has("k") and os.listdir(tmp_path) == []
    with pytest.raises(KeyError):
        store.get("k")


def test_a_stored_file_of_another_key_is_not_returned(tmp_path) -> None:
    store = ResultStore(tmp_path)
    store.put("a", {"x": 1})
    store.path("a").write_text(json.dumps({"key": "b", "value": {"x": 2}}))
    with pytest.raises(KeyError):
        store.get("a")


def test_unwritable_store_is_a_located_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(QadlError) as err:
        ResultStore(blocker / "tasks")
    assert err.value.diagnostics[0].code == "E0801"
