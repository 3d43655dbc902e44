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
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from hhp_letters.errors import EnvironmentProblem, RunFolderError
from hhp_letters.store import Store

_STAGING = re.compile(r"^\.(?P<name>.+)\.(?:partial|old)-(?P<pid>\d+)$")
_STORE = re.compile(r"^hhp-(?:store|rerender|word)-(?P<pid>\d+)-")


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
    """Staging folders in ``parent`` and stores in the temporary folder left by runs whose
    process is gone. Returns what was removed (the caller says so)."""
    removed: list[Path] = []
    for folder, pattern in ((parent, _STAGING), (Path(tempfile.gettempdir()), _STORE)):
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            match = pattern.match(entry.name)
            if match and entry.is_dir() and not entry.is_symlink() and \
                    not _alive(int(match.group("pid"))):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def is_run_folder(path: Path) -> bool:
    """A folder a `letters`/`notes` run of this tool made: its audit starts with our run
    record."""
    audit = path / "audit.jsonl"
    if path.is_symlink() or not path.is_dir() or not audit.is_file():
        return False
    try:
        with audit.open(encoding="utf-8") as fh:
            first = json.loads(fh.readline())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(first, dict) and first.get("event") == "run" and \
        first.get("tool") == "hhp-letters"


def check_target(out: Path, *, force: bool, protected: tuple[Path, ...]) -> None:
    """Refuse an --out that must not be written or replaced. ``protected``: the campaign
    folder and its inputs."""
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
    if not is_run_folder(out):
        raise RunFolderError(f"{out} is not a run folder of hhp-letters, so --force will not "
                             "replace it", hint="choose a new --out folder (--force replaces "
                                                "only an earlier run)")


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
def staging(out: Path, *, force: bool, protected: tuple[Path, ...]) -> Iterator[Staging]:
    """Build a run in a staging folder; :func:`commit` renames it into place. Whatever
    happens before that, the staging folder (and its store) is removed."""
    out = out.absolute()
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise environment_error(exc, parent) from exc
    check_target(out, force=force, protected=protected)
    with lock(out), signals_as_interrupts():
        check_target(out, force=force, protected=protected)  # again, now that we hold it
        folder = out.with_name(f".{out.name}.partial-{os.getpid()}")
        shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.mkdir(mode=0o700)
            store = Store.create(folder)
        except OSError as exc:
            raise environment_error(exc, folder) from exc
        try:
            yield Staging(out, folder, store)
        except OSError as exc:
            raise environment_error(exc, Path(exc.filename or folder)) from exc
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


@contextlib.contextmanager
def scratch_store() -> Iterator[Store]:
    """A store in a private temporary folder (for `check` and `verify --rerender`), named so
    a killed process's leftovers are recognised and removed."""
    folder = Path(tempfile.mkdtemp(prefix=f"hhp-store-{os.getpid()}-"))
    try:
        with signals_as_interrupts(), Store.create(folder) as store:
            yield store
    finally:
        shutil.rmtree(folder, ignore_errors=True)
