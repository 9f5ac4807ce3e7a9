"""Safe outputs: files written under a temporary name and renamed, folders swapped in whole.

A reader never sees half a file, and a failure (an error, Ctrl-C, a full disk) leaves the
previous output in place and removes the temporary one. Model files, predictions, metrics,
reports, datasets and exports all go through this module, which also holds the rules that keep
a command from destroying what it did not write:

- a regular file is replaced atomically; a device, a pipe or a socket is written in place; a
  symlink is followed and its target replaced atomically, the link itself kept;
- a folder is replaced only when it is empty or carries the marker of a ``stance`` output of
  the same kind, and never when it holds, or lies inside, one of the command's inputs;
- scratch names carry the host and process id of their writer, so the next command that writes
  in the same place removes what a killed process left behind.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from training.errors import StanceError

# Errors of the file system a user can act on; anything else is a bug and keeps its traceback.
USER_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EIO,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOENT,
    errno.ENAMETOOLONG,
    errno.EEXIST,
    errno.ENOTEMPTY,
    errno.EXDEV,
    errno.ELOOP,
    errno.EINVAL,
}
_SCRATCH = re.compile(
    r"^\.(?P<name>.+)\.(?P<kind>tmp|new|old)-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)(?:-[\w]*)?(?:\.tmp)?$"
)


def default_mode(directory: bool = False) -> int:
    """Permissions a plain ``open``/``mkdir`` would give (temp files are created private)."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def host_tag() -> str:
    """Eight hex digits naming this host in scratch names (pids are only unique per host)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def scratch_prefix(target: Path, kind: str) -> str:
    """The start of a scratch name for ``target``: ``.<name>.<kind>-<host>-<pid>-``."""
    return f".{target.name}.{kind}-{host_tag()}-{os.getpid()}-"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(target: Path) -> list[Path]:
    """Remove scratch files and folders next to ``target`` left by dead processes of this host."""
    removed: list[Path] = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    me = host_tag()
    for entry in entries:
        m = _SCRATCH.match(entry.name)
        if not m or m["name"] != target.name or m["host"] != me or pid_alive(int(m["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed


def user_error(exc: OSError, action: str, path: Path | str) -> StanceError:
    """One line for a file-system error a user can fix (full disk, no permission, bad path)."""
    where = exc.filename if isinstance(exc.filename, str) and exc.filename else str(path)
    hint = {
        errno.ENOSPC: "free some space or choose another location",
        errno.EDQUOT: "free some space or choose another location",
        errno.EACCES: "check the permissions",
        errno.EPERM: "check the permissions",
        errno.EROFS: "choose a writable location",
    }.get(exc.errno or 0, "choose another path")
    return StanceError(f"cannot {action} {where}: {exc.strerror or exc} ({hint})")


@contextlib.contextmanager
def os_errors(action: str, path: Path | str) -> Iterator[None]:
    """Turn the user-fixable ``OSError``s of the block into a :class:`StanceError`."""
    try:
        yield
    except OSError as exc:
        if exc.errno in USER_ERRNOS:
            raise user_error(exc, action, path) from None
        raise


def check_output_path(path: Path, option: str = "--output") -> None:
    """Refuse output paths that can never be a file: empty, ``.``, ``/``, a folder."""
    text = str(path)
    if not text.strip() or path.name in ("", ".", ".."):
        raise StanceError(f"invalid {option} {text!r}: it names a folder, not a file (pass a file path)")
    if path.is_dir():
        raise StanceError(f"{option} {path} is a directory (pass a file path)")


@contextlib.contextmanager
def atomic_file(path: Path, binary: bool = False) -> Iterator[IO]:
    """A file (UTF-8 text, or bytes with ``binary``) that replaces ``path`` only on success.

    A device, pipe or socket at ``path`` is written in place; a symlink's target is the file
    replaced, and the link stays a link.
    """
    path = Path(path)
    check_output_path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    with os_errors("write", path):
        if target.exists() and not stat.S_ISREG(target.stat().st_mode):
            fh: IO[Any]
            with open(target, "wb") if binary else open(target, "w", encoding="utf-8", newline="") as fh:
                yield fh
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(target)
        fd, tmp = tempfile.mkstemp(prefix=scratch_prefix(target, "tmp"), suffix=".tmp", dir=target.parent)
        try:
            os.chmod(tmp, default_mode())
            fh = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")
            with fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def claim_output_dir(out: Path, option: str, is_ours: Callable[[Path], bool], inputs: Iterable[Path] = ()) -> None:
    """Check that ``out`` may be replaced by a new output; raise one line saying why not.

    It may when it does not exist, is an empty folder, or passes ``is_ours`` (it carries the
    marker of a ``stance`` output of the same kind). It never may when it holds one of
    ``inputs`` or lies inside one.
    """
    text = str(out)
    if not text.strip() or out.name in ("", ".", ".."):
        raise StanceError(f"invalid {option} {text!r} (name a new or earlier output folder)")
    resolved = Path(os.path.realpath(out))
    for given in inputs:
        src = Path(os.path.realpath(given))
        if _inside(resolved, src) or _inside(src, resolved):
            raise StanceError(f"{option} {out} overlaps the input {given} (write the output somewhere else)")
    if out.is_symlink():
        raise StanceError(f"{option} {out} is a symlink (name a real folder; nothing was changed)")
    if not out.exists():
        return
    if not out.is_dir():
        raise StanceError(
            f"{option} {out} exists and is not a folder written by stance (choose another path; nothing was changed)"
        )
    with os_errors("read", out):
        empty = not any(out.iterdir())
    if not empty and not is_ours(out):
        raise StanceError(
            f"{option} {out} is a folder stance did not write (choose a new path or empty it yourself; "
            "nothing was changed)"
        )


def new_scratch_dir(target: Path, kind: str = "new") -> Path:
    """A fresh scratch folder next to ``target``, after removing dead processes' leftovers."""
    with os_errors("create", target.parent):
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(target)
        tmp = Path(tempfile.mkdtemp(prefix=scratch_prefix(target, kind), dir=target.parent))
        os.chmod(tmp, default_mode(directory=True))
    return tmp


def swap_dir(new: Path, target: Path) -> None:
    """Replace ``target`` (already checked by :func:`claim_output_dir`) by ``new``.

    The old folder is renamed aside first and put back if the second rename fails; it is removed
    only once the new one is in place.
    """
    if not target.exists():
        os.rename(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=scratch_prefix(target, "old"), dir=target.parent))
    old.rmdir()  # only the unique name is wanted; rename needs the path to be free
    os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
