"""``--workers``/``--scheduler``: validated before any work, with located errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qadl.cli import main
from qadl.errors import QadlError
from qadl.run import cluster
from qadl.run.cluster import check_cluster_options, numba_threads_per_worker
from qadl.runs import run


@pytest.fixture
def grid_file(tmp_path) -> Path:
    text = (Path(__file__).parent / "dask" / "grid.qadl").read_text(encoding="utf-8")
    path = tmp_path / "grid.qadl"
    path.write_text(text.replace("SEED", "1"), encoding="utf-8")
    return path


def _code(err: pytest.ExceptionInfo[QadlError]) -> str:
    return err.value.diagnostics[0].code


@pytest.mark.parametrize("address", ["localhost:8786", "tcp://", "tcp://host", "http://h:1",
                                     "tcp://h:0", "tcp://h:70000", "tcp://a b:1"])
def test_bad_scheduler_addresses_are_refused(address: str) -> None:
    with pytest.raises(QadlError) as err:
        check_cluster_options(None, address)
    assert _code(err) == "E0921" and "tcp://HOST:PORT" in (err.value.diagnostics[0].help or "")


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://node-3.cluster:9000",
                                     "tls://[::1]:8786"])
def test_good_scheduler_addresses_pass(address: str) -> None:
    pytest.importorskip("distributed")
    check_cluster_options(None, address)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_positive_whole_number(workers) -> None:
    with pytest.raises(QadlError) as err:
        check_cluster_options(workers, None)
    assert _code(err) == "E0921"


def test_workers_and_scheduler_together_are_refused() -> None:
    with pytest.raises(QadlError) as err:
        check_cluster_options(2, "tcp://h:1")
    assert _code(err) == "E0923"


def test_without_dask_workers_is_a_located_error_with_the_install_hint(
    monkeypatch, capsys, grid_file
) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails as if absent
    assert main(["run", str(grid_file), "--workers", "2", "--out", "unused"]) == 1
    err = capsys.readouterr().err
    assert f"{grid_file}: error[E0920]" in err and "pip install 'qadl[dask]'" in err
    with pytest.raises(QadlError) as caught:
        run(grid_file, workers=2, out="unused")
    assert _code(caught) == "E0920"


def test_cli_usage_errors_name_the_flag(capsys, grid_file) -> None:
    assert main(["run", str(grid_file), "--workers", "0"]) == 2
    assert "--workers: must be 1 or more" in capsys.readouterr().err
    assert main(["run", str(grid_file), "--scheduler", "somehost:8786"]) == 1
    assert f"{grid_file}: error[E0921]" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_e0922(monkeypatch, tmp_path) -> None:
    pytest.importorskip("distributed")
    from qadl.run.executor import ResultStore, Task, execute

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "0.5s")
    with pytest.raises(QadlError) as err:
        execute([Task("k", dict)], ResultStore(tmp_path), scheduler="tcp://127.0.0.1:9",
                progress=False)
    assert _code(err) == "E0922"


def test_numba_threads_split_the_cores() -> None:
    assert numba_threads_per_worker(2, cores=16) == 8
    assert numba_threads_per_worker(3, cores=16) == 5
    assert numba_threads_per_worker(4, cores=2) == 1
