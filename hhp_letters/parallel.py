"""Work on every core, results in order: what makes a run's output the same bytes whichever
process did each piece.

Used where the work per item is independent and pure (a letter's laid-out page, its own file,
a bundle's measurement, a PDF read back); the caller keeps everything that must happen once,
in order (the store, the bundles' bytes, the audit).

The workers are forked, so ``work`` and ``context`` reach them as they are — fonts, closures
and all — without being pickled; only the items and results cross a pipe. Batch *i* goes to
worker *i* mod *n* and comes back from it, so the order needs no bookkeeping.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from hhp_letters.errors import InternalError

_R = TypeVar("_R")
BATCH = 64  # items per hand-over: enough to pay for it, few enough to keep every core busy
_IN_FLIGHT = 2  # batches queued per worker: one working, one waiting
_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


class _Remote(Exception):
    """The traceback of an exception raised in a worker (its ``__cause__``)."""


def workers() -> int:
    """How many processes to use: the cores this process may run on (at most 4)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def _run_batch(work: Callable[..., _R], context: Any, batch: Sequence[tuple[Any, ...]]
               ) -> list[_R]:
    if context is None:
        return [work(*item) for item in batch]
    return [work(context, *item) for item in batch]


def _serve(conn: Connection, others: Sequence[Connection], work: Callable[..., Any],
           context: Any) -> None:
    """A worker: batches in, results out, until the pipe closes. A thread takes batches off
    the pipe as they come, so the parent never waits to send while this waits to reply."""
    for signum in _SIGNALS:  # the parent decides what an interrupt does
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)  # blocked across the fork
    for other in others:  # the parent's ends: held here, the pipes would never close
        other.close()
    inbox: queue.SimpleQueue[list[tuple[Any, ...]] | None] = queue.SimpleQueue()

    def take() -> None:
        try:
            while True:
                inbox.put(conn.recv())
        except (EOFError, OSError):
            inbox.put(None)

    threading.Thread(target=take, daemon=True).start()
    while (batch := inbox.get()) is not None:
        try:
            reply: tuple[str, Any] = ("ok", _run_batch(work, context, batch))
        except Exception as exc:  # sent back and raised again in the parent, as it was
            reply = ("error", (exc, traceback.format_exc()))
        try:
            conn.send(reply)
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception:  # an exception or result that cannot be pickled
            conn.send(("error", (None, traceback.format_exc())))


_GONE = (EOFError, BrokenPipeError, ConnectionResetError)  # the worker's end of the pipe


def _ended() -> InternalError:
    return InternalError("a worker process ended without finishing its work (killed, or out "
                         "of memory?)")


def _result(conn: Connection) -> list[Any]:
    try:
        status, value = conn.recv()
    except _GONE as exc:
        raise _ended() from exc
    if status == "ok":
        return list(value)
    raised, text = value
    if raised is None:
        raise InternalError(f"a worker process failed:\n{text}")
    raise raised from _Remote(text)


def in_order(work: Callable[..., _R], items: Iterable[tuple[Any, ...]], *,
             context: Any = None, batch: int = BATCH) -> Generator[_R, None, None]:
    """``work(*item)`` — ``work(context, *item)`` when a context is given — for every item,
    results in the items' order, on every core. At most two batches per worker are in flight,
    so memory stays flat at any size; work of one batch or less is done here, without starting
    processes."""
    count = workers()
    it = iter(items)
    batches = iter(lambda: list(itertools.islice(it, batch)), [])
    ahead = list(itertools.islice(batches, 2))
    if count == 1 or len(ahead) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        for part in itertools.chain(ahead, batches):
            yield from _run_batch(work, context, part)
        return
    fork = multiprocessing.get_context("fork")
    ends: list[Connection] = []
    procs = []
    try:
        for _ in range(count):
            mine, theirs = fork.Pipe()
            proc = fork.Process(target=_serve, args=(theirs, (*ends, mine), work, context),
                                daemon=True)
            # an interrupt landing during the fork would be raised in its hooks, where Python
            # ignores it, and lost: it waits until the fork is done (in the worker: ignored)
            blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
            try:
                proc.start()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            theirs.close()
            ends.append(mine)
            procs.append(proc)
        pending: deque[Connection] = deque()
        for n, part in enumerate(itertools.chain(ahead, batches)):
            conn = ends[n % count]
            try:
                conn.send(part)
            except _GONE as exc:
                raise _ended() from exc
            pending.append(conn)
            if len(pending) >= _IN_FLIGHT * count:
                yield from _result(pending.popleft())
        while pending:
            yield from _result(pending.popleft())
    finally:
        for conn in ends:
            conn.close()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():  # stopped early (an error, an interrupt): not waited for
                proc.terminate()
                proc.join()
