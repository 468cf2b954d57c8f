"""Atomic writes: the one function every writer of a user's file uses."""
from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import netbuilder as nb
from netbuilder.graph import atomic, load
from netbuilder.graph.fileformat import atomic_replace, atomic_write, graph_to_dict

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX files")


def _graph(*extra: str) -> nb.Graph:
    g = nb.Graph("atomic")
    g.add("Input", "x", shape=(4,))
    for t in extra:
        g.add(t)
    return g


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- every failure leaves the old file and no temporary ---------------------------------------


def _fail_replace(monkeypatch):
    def refuse(*args):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(atomic.os, "replace", refuse)


def _fail_fsync(monkeypatch):
    def refuse(fd):
        raise OSError(errno.EIO, "I/O error")
    monkeypatch.setattr(atomic.os, "fsync", refuse)


def _disk_full(monkeypatch):
    real_open = open

    class HalfWritten:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    # (a module global named open shadows the builtin inside atomic only)
    monkeypatch.setattr(atomic, "open", lambda *a, **k: HalfWritten(real_open(*a, **k)),
                        raising=False)


FAILURES = [
    ("rename-refused", _fail_replace, PermissionError, "Permission denied"),
    ("fsync-fails", _fail_fsync, OSError, "I/O error"),
    ("disk-full", _disk_full, OSError, "No space left"),
]


@pytest.mark.parametrize("name,arrange,error,text", FAILURES, ids=[f[0] for f in FAILURES])
def test_a_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, name,
                                                            arrange, error, text):
    path = tmp_path / "model.json"
    _graph().save(path)
    old = path.read_bytes()
    arrange(monkeypatch)
    with pytest.raises(error, match=text):
        _graph("Linear").save(path)
    assert path.read_bytes() == old
    assert _listing(tmp_path) == ["model.json"]


@pytest.mark.parametrize("raised", [ValueError("bad tensor"), KeyboardInterrupt()],
                         ids=["exception-while-writing", "ctrl-c-while-writing"])
def test_an_interrupted_writer_leaves_no_temporary(tmp_path, raised):
    path = tmp_path / "weights.bin"
    atomic_write(path, b"old")
    seen = []

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        seen.append(tmp.name)
        raise raised

    with pytest.raises(type(raised)):
        atomic_replace(path, write)
    assert seen and seen[0].startswith(".weights.bin.") and seen[0].endswith(".tmp")
    assert path.read_bytes() == b"old"
    assert _listing(tmp_path) == ["weights.bin"]


def test_unserialisable_data_fails_before_any_file_is_made(tmp_path):
    path = tmp_path / "model.json"
    _graph().save(path)
    old = path.read_bytes()
    g = _graph()
    g.meta["bad"] = {1, 2}  # a set is no JSON
    with pytest.raises(TypeError):
        g.save(path)
    with pytest.raises(UnicodeEncodeError):
        atomic_write(path, "lone \ud800 surrogate")
    with pytest.raises(TypeError, match="writes str or bytes, not dict"):
        atomic_write(path, {"a": 1})
    assert path.read_bytes() == old
    assert _listing(tmp_path) == ["model.json"]


def test_text_and_bytes_are_written_whole(tmp_path):
    path = tmp_path / "model.json"
    g = _graph("Linear")
    g.save(path)
    assert graph_to_dict(load(path)) == graph_to_dict(g)
    atomic_write(tmp_path / "blob", bytes(range(256)))
    assert (tmp_path / "blob").read_bytes() == bytes(range(256))
    atomic_write(tmp_path / "text", "données\n")
    assert (tmp_path / "text").read_bytes() == "données\n".encode()
    assert _listing(tmp_path) == ["blob", "model.json", "text"]


def test_a_folder_in_the_way_is_refused(tmp_path):
    (tmp_path / "model.json").mkdir()
    with pytest.raises(IsADirectoryError, match="a folder is in the way"):
        atomic_write(tmp_path / "model.json", "{}")
    assert _listing(tmp_path) == ["model.json"]


def test_a_long_file_name_leaves_room_for_the_temporary(tmp_path):
    path = tmp_path / ("m" * 250 + ".json")
    atomic_write(path, "{}")
    assert path.read_text() == "{}" and _listing(tmp_path) == [path.name]


# --- symlinks, FIFOs, devices -----------------------------------------------------------------


@posix_only
def test_writing_through_a_symlink_updates_its_target(tmp_path):
    real = tmp_path / "store" / "model.json"
    real.parent.mkdir()
    atomic_write(real, "old")
    real.chmod(0o600)
    link = tmp_path / "link.json"
    link.symlink_to(Path("store") / "model.json")
    chain = tmp_path / "chain.json"
    chain.symlink_to(link)
    atomic_write(chain, "new")
    assert chain.is_symlink() and link.is_symlink()
    assert real.read_text() == "new" and not real.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert _listing(tmp_path) == ["chain.json", "link.json", "store"]
    assert _listing(real.parent) == ["model.json"]
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(Path("store") / "made.json")
    atomic_write(dangling, "made")
    assert dangling.is_symlink() and (real.parent / "made.json").read_text() == "made"


@posix_only
def test_a_fifo_is_written_to_not_replaced(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    monkeypatch.setattr(atomic.tempfile, "mkstemp", _no_temporary)
    atomic_write(fifo, "through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert _listing(tmp_path) == ["pipe"]


def _no_temporary(*args, **kwargs):
    raise AssertionError("a temporary file was made")


@posix_only
@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_dev_null_is_written_to_not_replaced(monkeypatch):
    monkeypatch.setattr(atomic.tempfile, "mkstemp", _no_temporary)
    atomic_write("/dev/null", "discarded")
    atomic_replace(os.devnull, lambda p: Path(p).write_bytes(b"discarded"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


# --- durability and modes ---------------------------------------------------------------------


@posix_only
def test_data_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        events.append(f"fsync {kind}")
        real_fsync(fd)

    def replace(src, dst):
        events.append(f"rename {Path(src).read_text()}")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    atomic_write(tmp_path / "a.txt", "all of it")
    assert events == ["fsync file", "rename all of it", "fsync folder"]


@posix_only
def test_modes_kept_from_the_old_file_else_from_the_umask(tmp_path):
    path = tmp_path / "model.json"
    _graph().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~atomic._UMASK
    path.chmod(0o640)
    _graph().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    path.chmod(0o604)
    atomic_replace(path, lambda p: Path(p).write_text("made anew by a library"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o604


# --- temporaries of killed saves ---------------------------------------------------------------


@posix_only
def test_the_next_save_removes_temporaries_of_dead_processes_only(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = ".model.json.abc123" + atomic.temp_suffix(dead_pid)
        saving = ".model.json.def456" + atomic.temp_suffix(live.pid)
        ours = ".model.json.ghi789" + atomic.temp_suffix(os.getpid())
        other_file = ".other.json.jkl012" + atomic.temp_suffix(dead_pid)
        other_host = f".model.json.mno345.{'0' * 6}-{dead_pid}.tmp"  # (a shared folder)
        for name in (stale, saving, ours, other_file, other_host, "model.json"):
            (tmp_path / name).write_text("partial")
        _graph().save(tmp_path / "model.json")
        assert _listing(tmp_path) == sorted([saving, ours, other_file, other_host,
                                             "model.json"])
        assert graph_to_dict(load(tmp_path / "model.json")) == graph_to_dict(_graph())
    finally:
        live.kill()
        live.wait()
