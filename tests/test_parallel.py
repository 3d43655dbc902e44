"""Work on every core, results in order (hhp_letters.parallel): what lets a run's letters be
made by worker processes and still come out as the same bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hhp_letters import parallel
from hhp_letters.errors import InternalError


@pytest.fixture(autouse=True)
def two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "workers", lambda: 2)


def _square_and_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_results_come_back_in_order_from_other_processes() -> None:
    results = list(parallel.in_order(_square_and_pid, ((n,) for n in range(1000)), batch=7))
    assert [r for r, _ in results] == [n * n for n in range(1000)]
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids and len(pids) == 2  # both workers did some


def test_one_batch_is_done_here_without_processes() -> None:
    results = list(parallel.in_order(_square_and_pid, ((n,) for n in range(10)), batch=64))
    assert {pid for _, pid in results} == {os.getpid()}
    assert list(parallel.in_order(_square_and_pid, iter(()))) == []


def test_the_context_and_the_work_reach_the_workers_unpickled() -> None:
    seen: list[int] = []  # a closure and a lambda in the context: neither can be pickled

    def scaled(context: dict[str, object], n: int) -> int:
        factor = context["factor"]
        assert callable(factor)
        seen.append(n)  # in the worker's copy: the parent's list stays empty
        return int(factor(n))

    out = list(parallel.in_order(scaled, ((n,) for n in range(300)),
                                 context={"factor": lambda n: 3 * n}, batch=10))
    assert out == [3 * n for n in range(300)]
    assert seen == []


def _fails_at(parent: int, n: int) -> int:
    if n == 150:
        where = "a worker" if os.getpid() != parent else "the parent"
        raise KeyError(f"item {n} in {where}")
    return n


def test_an_exception_in_a_worker_is_raised_here_as_itself() -> None:
    with pytest.raises(KeyError, match="item 150 in a worker") as caught:
        list(parallel.in_order(_fails_at, ((os.getpid(), n) for n in range(400)), batch=10))
    assert "Traceback" in str(caught.value.__cause__)  # the worker's own traceback


def _dies_at(parent: int, n: int) -> int:
    if n == 55 and os.getpid() != parent:
        os._exit(9)  # killed mid-batch (the OOM killer, kill -9)
    return n


def test_a_worker_that_dies_is_an_error_not_a_hang_or_a_short_result() -> None:
    with pytest.raises(InternalError, match="ended without finishing its work"):
        list(parallel.in_order(_dies_at, ((os.getpid(), n) for n in range(400)), batch=10))


def test_stopping_early_leaves_no_worker_behind() -> None:
    import multiprocessing

    results = parallel.in_order(_square_and_pid, ((n,) for n in range(10_000)), batch=10)
    assert next(results)[0] == 0
    assert len(multiprocessing.active_children()) == 2
    results.close()  # the consumer stopped (an error of its own, an interrupt)
    assert multiprocessing.active_children() == []


def test_a_run_is_the_same_bytes_on_one_core_and_on_two(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import shutil
    import sys

    from hhp_letters.campaign import load_campaign
    from hhp_letters.pipeline import produce

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from letters import make_campaign

    first = tmp_path / "one"
    first.mkdir()
    make_campaign(first, 400)  # 3 authorities: bundles of ~133 letters, 3 batches each
    shutil.copytree(first, tmp_path / "two")
    digests = {}
    for cores, folder in ((1, first), (2, tmp_path / "two")):
        monkeypatch.setattr(parallel, "workers", lambda cores=cores: cores)
        result = produce(load_campaign(folder), tmp_path / f"run-{cores}")
        assert result.written.letters == 400
        digests[cores] = {p.relative_to(result.out).as_posix():
                          hashlib.sha256(p.read_bytes()).hexdigest()
                          for p in sorted(result.out.rglob("*"))
                          if p.suffix in (".pdf", ".csv") or p.name == "job-ticket.txt"}
    assert len(digests[1]) == 400 + 2 * 3 + 1
    assert digests[1] == digests[2]
