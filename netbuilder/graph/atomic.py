"""Atomic file writes: the one way netbuilder writes a user's file.

``atomic_write(path, data)`` (text or bytes) and ``atomic_replace(path, write)`` (for a library
that writes to a path itself: weights, optimizer state) write a temporary file beside the
target, flush it to disk, then rename it over the target, so that a crash, a kill or a full
disk leaves either the old file or the new one, never half of one.

NOTE: the rules, each for a reason:
- Through a symlink the *target* is replaced (beside the target): the link stays a link.
- Something that is not a regular file (a FIFO, /dev/null, a device) cannot be replaced by a
  rename; it is written directly.
- The data is fsynced before the rename (else the rename can reach the disk before the data,
  and a power cut leaves an empty file), and the folder after it, on POSIX.
- The file keeps the mode of the file it replaces, else gets what ``open(path, "w")`` gives.
- On any failure (an exception while writing, a full disk, a refused rename, Ctrl+C) the
  temporary file is removed. A process killed outright cannot remove it, so temporaries are
  named ``.<name>.<random>.<host>-<pid>.tmp`` and the next save of the same file removes those
  of this machine whose process is gone: after any kill, one successful save leaves no stray
  temporary file. (The host tag keeps a save from removing the temporary of a live process on
  another machine writing to the same shared folder.)
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import socket
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

_NAME_ROOM = 200  # of a file name's 255 bytes, what the temporary's name keeps of the target's
_HOST = hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (str as UTF-8, or bytes) to ``path`` atomically."""
    if isinstance(data, str):
        data = data.encode("utf-8")  # (a lone surrogate fails here, before any file exists)
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"atomic_write writes str or bytes, not {type(data).__name__}")

    def write(target: Path) -> None:
        with open(target, "wb") as f:
            f.write(data)

    atomic_replace(path, write)


def atomic_replace(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` fills a temporary file beside ``path`` that then replaces it."""
    target = Path(os.path.realpath(path))  # through symlinks, to the file they name
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "a folder is in the way of the file", str(path))
    if st is not None and not stat.S_ISREG(st.st_mode):
        write(target)  # a FIFO or a device: nothing to replace, and a rename would remove it
        return
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_UMASK
    prefix = temp_prefix(target.name)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=temp_suffix(os.getpid()),
                               dir=target.parent)
    try:
        os.close(fd)
        write(Path(tmp))
        _settle(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(target.parent)


def temp_prefix(name: str) -> str:
    """How the temporaries of a file called ``name`` begin."""
    return f".{name[:_NAME_ROOM]}."


def temp_suffix(pid: int) -> str:
    """How the temporaries written by process ``pid`` of this machine end."""
    return f".{_HOST}-{pid}.tmp"


def remove_stale_temporaries(target: Path) -> list[str]:
    """Remove the temporaries of ``target`` left by processes that no longer run (killed
    mid-save); returns their names. Those of live processes (saving right now) are left."""
    if os.name != "posix":  # (no cheap, safe "is this process alive" test elsewhere)
        return []
    prefix, removed = temp_prefix(target.name), []
    try:
        names = [e.name for e in os.scandir(target.parent)
                 if e.name.startswith(prefix) and e.name.endswith(".tmp")]
    except OSError:
        return []
    for name in names:
        host, _, pid = name[len(prefix):-len(".tmp")].rpartition(".")[2].partition("-")
        if host == _HOST and pid.isascii() and pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(target.parent / name)
                removed.append(name)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of ours may be writing it
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or a number we cannot ask about: leave it
    return True


def _settle(tmp: str, mode: int) -> None:
    """Give the written temporary its mode and put its data on the disk."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        # (after writing: mkstemp makes 0600, and some writers make the file anew)
        os.chmod(tmp, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Put the rename itself on the disk (POSIX; some file systems cannot, which is fine)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _current_umask() -> int:
    # NOTE: read once at import: os.umask can only be read by setting it, which would race with
    # files created meanwhile by other threads.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()
