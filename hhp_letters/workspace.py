"""Where a run is built before it exists: a hidden staging folder beside ``--out`` that holds
everything the run writes — the temporary store (names, addresses, feedback) included — and
is renamed into place only when complete.

* One place to clean: a run that fails, is interrupted (Ctrl-C, SIGTERM, SIGHUP) or is killed
  leaves nothing that looks finished; what a killed run left is removed by the next run
  (its owning process is gone), which says so.
* An exclusive lock on the target: two runs into the same ``--out`` cannot both proceed.
* ``--force`` replaces only a previous run of this tool (recognised by its audit), never the
  campaign folder, a folder holding it, a file, or anything else.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from hhp_letters.errors import EnvironmentProblem, RunFolderError
from hhp_letters.store import Store

_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old)-(?P<pid>\d+)$")
_STORE = re.compile(r"^hhp-(?:store|rerender|word|verify|libreoffice)-(?P<pid>\d+)-")
_LOCK = re.compile(r"^\.(?P<name>.+)\.lock$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: leave its files alone
    return True


def remove_stale(parent: Path) -> list[Path]:
    """What runs whose process is gone left behind: staging folders in ``parent``, stores and
    converters' profiles in the temporary folder, lock files nobody holds. An earlier run a
    killed ``--force`` had set aside (and not yet replaced) is put back, never removed.
    Returns what was removed or restored (the caller says so)."""
    removed: list[Path] = []
    for folder, pattern in ((parent, _STAGING), (Path(tempfile.gettempdir()), _STORE)):
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            match = pattern.match(entry.name)
            if not match or not entry.is_dir() or entry.is_symlink() or \
                    _alive(int(match.group("pid"))):
                continue
            if pattern is _STAGING and match.group("kind") == "old":
                target = entry.with_name(match.group("name"))
                if not target.exists():  # killed between setting it aside and replacing it
                    entry.rename(target)
                    removed.append(target)
                    continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    with contextlib.suppress(OSError):
        for entry in sorted(parent.iterdir()):
            if _LOCK.match(entry.name) and entry.is_file() and _unheld(entry):
                entry.unlink(missing_ok=True)
    return removed


def _unheld(path: Path) -> bool:
    """Nobody holds the lock (its process died without removing it)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def foreign_files(path: Path) -> list[str] | None:
    """None when ``path`` is not a run of this tool (no audit starting with our run record,
    no SHA256SUMS); else the files in it that the run did not write (someone's own files)."""
    audit = path / "audit.jsonl"
    sums = path / "SHA256SUMS"
    if path.is_symlink() or not path.is_dir() or not audit.is_file() or not sums.is_file():
        return None
    try:
        with audit.open(encoding="utf-8") as fh:
            first = json.loads(fh.readline())
        listed = {line.partition("  ")[2] for line in
                  sums.read_text(encoding="utf-8").splitlines()}
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not (isinstance(first, dict) and first.get("event") == "run"
            and first.get("tool") == "hhp-letters"):
        return None
    own = listed | {"SHA256SUMS"}
    found = {p.relative_to(path).as_posix() for p in path.rglob("*")
             if p.is_file() or p.is_symlink()}
    if not own & found or "audit.jsonl" not in listed:
        return None
    return sorted(found - own)


def is_run_folder(path: Path) -> bool:
    return foreign_files(path) is not None


def check_target(out: Path, *, force: bool, protected: tuple[Path, ...],
                 registered: frozenset[str] = frozenset()) -> None:
    """Refuse an --out that must not be written or replaced. ``protected``: the campaign
    folder and its inputs; ``registered``: audit heads of live runs the campaign ledger holds
    (a live run is never replaced: it may have gone to the printer)."""
    resolved = out.resolve()
    for keep in protected:
        keep = keep.resolve()
        if resolved == keep or resolved in keep.parents:
            raise RunFolderError(f"{out} is (or holds) the campaign folder {keep}",
                                 hint="choose an --out folder of its own, e.g. runs/wave-1")
    if out.is_symlink():
        raise RunFolderError(f"{out} is a symbolic link", hint="give a real folder path")
    if not out.exists():
        return
    if not out.is_dir():
        raise RunFolderError(f"{out} exists and is a file, not a run folder",
                             hint="choose a new --out folder")
    if not force:
        raise RunFolderError(f"{out} already exists",
                             hint="choose a new --out folder, or add --force to replace it")
    head = out / "audit.head"
    if head.is_file() and head.read_text(encoding="utf-8", errors="replace").strip() in registered:
        raise RunFolderError(f"{out} is a live run recorded in the campaign ledger, so it is "
                             "never replaced (it may have gone to the printer)",
                             hint="choose a new --out folder; a later `letters` run makes only "
                                  "the letters not sent yet, and `hhp-letters reissue` replaces "
                                  "one letter")
    foreign = foreign_files(out)
    if foreign is None:
        raise RunFolderError(f"{out} is not a run folder of hhp-letters, so --force will not "
                             "replace it", hint="choose a new --out folder (--force replaces "
                                                "only an earlier run)")
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise RunFolderError(f"{out} holds files the run did not make ({shown}), so --force "
                             "will not replace it", hint="move those files somewhere else "
                                                     "first, or choose a new --out folder")


class Interrupted(BaseException):
    """SIGTERM or SIGHUP: handled like Ctrl-C, so the staging folder is removed."""


def _raise(signum: int, frame: FrameType | None) -> None:
    del frame
    raise Interrupted(signal.Signals(signum).name)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """While a run writes, SIGTERM and SIGHUP unwind it like Ctrl-C (main thread only)."""
    try:
        old = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGHUP)}
        # past a file-size limit, a write fails with EFBIG instead of killing the process
        old[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    except ValueError:  # not the main thread (e.g. a test runner's worker): nothing to do
        yield
        return
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def environment_error(exc: OSError, path: Path) -> EnvironmentProblem:
    """The machine refused a write: name the path and what to do."""
    fixes = {errno.ENOSPC: "free some disk space (or choose --out on another disk) and run "
                           "again",
             errno.EDQUOT: "free some space in your quota and run again",
             errno.EROFS: "the disk is read-only: choose an --out folder you can write to",
             errno.EACCES: "you may not write there: choose an --out folder you own",
             errno.EPERM: "you may not write there: choose an --out folder you own",
             errno.EFBIG: "a file grew past the size limit set for your account (ulimit -f); "
                          "raise it or use smaller bundles (max_letters_per_bundle)",
             errno.ENAMETOOLONG: "choose a shorter --out path"}
    return EnvironmentProblem(f"could not write {path}: {exc.strerror or exc}",
                              hint=fixes.get(exc.errno or 0, "check the folder and run again"))


@dataclass(frozen=True)
class Staging:
    out: Path  # where the finished run will be
    folder: Path  # the hidden staging folder
    store: Store


@contextlib.contextmanager
def lock(target: Path) -> Iterator[None]:
    """An exclusive lock on ``target`` (a lock file beside it), or a clear refusal."""
    lock_path = target.with_name(f".{target.name}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise environment_error(exc, lock_path) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RunFolderError(f"another hhp-letters run is writing {target} right now",
                                 hint="wait for it to finish, or choose another --out") from exc
        yield
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            lock_path.unlink()


@contextlib.contextmanager
def staging(out: Path, *, force: bool, protected: tuple[Path, ...],
            registered: frozenset[str] = frozenset()) -> Iterator[Staging]:
    """Build a run in a staging folder; :func:`commit` renames it into place. Whatever
    happens before that, the staging folder (and its store) is removed."""
    out = out.absolute()
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        check_target(out, force=force, protected=protected, registered=registered)
    except OSError as exc:  # a name too long, a permission, a read-only disk
        raise environment_error(exc, out) from exc
    with lock(out), signals_as_interrupts():
        check_target(out, force=force, protected=protected, registered=registered)
        folder = out.with_name(f".{out.name}.partial-{os.getpid()}")
        shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.mkdir(mode=0o700)
            store = Store.create(folder)
        except OSError as exc:
            raise environment_error(exc, folder) from exc
        except sqlite3.OperationalError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise store_error(exc, folder) from exc
        try:
            yield Staging(out, folder, store)
        except OSError as exc:
            raise environment_error(exc, Path(exc.filename or folder)) from exc
        except sqlite3.OperationalError as exc:  # the store's disk is full or refuses
            raise store_error(exc, folder) from exc
        finally:
            store.close()
            shutil.rmtree(folder, ignore_errors=True)


def commit(stage: Staging) -> None:
    """Rename the finished staging folder to ``out`` (the store is removed first); an old run
    being replaced (--force) is renamed aside and removed last."""
    stage.store.close()
    (stage.folder / stage.store.path.name).unlink(missing_ok=True)
    out = stage.out
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    stage.folder.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def store_error(exc: sqlite3.OperationalError, folder: Path) -> EnvironmentProblem:
    """SQLite's "disk I/O error" / "database or disk is full": the disk, not our code."""
    return EnvironmentProblem(f"could not write the working copy of the rows in {folder}: "
                              f"{exc}", hint="free some disk space (or set TMPDIR to a disk "
                                             "with room), or raise a file-size limit set for "
                                             "your account (ulimit -f), and run again")


@contextlib.contextmanager
def scratch_store() -> Iterator[Store]:
    """A store in a private temporary folder (for `check` and `verify --rerender`), named so
    a killed process's leftovers are recognised and removed."""
    try:
        folder = Path(tempfile.mkdtemp(prefix=f"hhp-store-{os.getpid()}-"))
    except OSError as exc:
        raise environment_error(exc, Path(tempfile.gettempdir())) from exc
    try:
        with signals_as_interrupts(), Store.create(folder) as store:
            yield store
    except sqlite3.OperationalError as exc:
        raise store_error(exc, folder) from exc
    except OSError as exc:
        raise environment_error(exc, Path(exc.filename or folder)) from exc
    finally:
        shutil.rmtree(folder, ignore_errors=True)
