"""A real X server for the ``xwindow`` tests: Xvfb with the openbox window manager.

The offscreen platform hides what people see (a dock raised by its tab without a show event
stayed blank there and on screen alike, but only a real window showed it), so the tests of what
people look at also run under Qt's xcb platform, in an X server with a window manager that
maps, stacks and focuses windows as a desktop does.
"""
from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PROGRAMS = {"Xvfb": "xvfb", "openbox": "openbox"}  # program → Debian package
SCREEN = "1920x1080x24"
START_TIMEOUT_S = 30.0


def missing_programs() -> list[str]:
    """The Debian packages to install for ``XServer.start`` (none: [])."""
    return [package for program, package in PROGRAMS.items() if shutil.which(program) is None]


class XServer:
    """Xvfb on a free display number, with openbox running on it; ``stop()`` ends both."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="netbuilder-x-"))
        self.display = ""
        self.processes: list[subprocess.Popen] = []

    @classmethod
    def start(cls, screen: str = SCREEN) -> XServer:
        server = cls()
        try:
            server._start_xvfb(screen)
            server._start_openbox()
        except BaseException:
            server.stop()
            raise
        return server

    def _log(self, name: str):
        return open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (the child keeps it)

    def _start_xvfb(self, screen: str) -> None:
        # NOTE: Xvfb's -displayfd (it picks the number) gave displays no client could open
        # here; so pick a number no server holds, and retry when another run takes it first.
        for number in _free_displays():
            with self._log("xvfb") as log:
                xvfb = subprocess.Popen(
                    ["Xvfb", f":{number}", "-screen", "0", screen, "-nolisten", "tcp"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            if _wait_for_socket(xvfb, Path(f"/tmp/.X11-unix/X{number}")):
                self.processes.append(xvfb)
                self.display = f":{number}"
                return
            xvfb.kill()
            xvfb.wait()
        raise RuntimeError(f"Xvfb did not start: {self.log_text('xvfb')}")

    def _start_openbox(self) -> None:
        marker = self.folder / "openbox-ready"
        env = {**os.environ, "DISPLAY": self.display,
               "XDG_CONFIG_HOME": str(self.folder), "XDG_CACHE_HOME": str(self.folder)}
        with self._log("openbox") as log:
            self.processes.append(subprocess.Popen(
                ["openbox", "--startup", f"touch {marker}"], env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=log))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not marker.exists():  # openbox runs --startup once it manages the screen
            if self.processes[-1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"openbox did not start: {self.log_text('openbox')}")
            time.sleep(0.05)

    def log_text(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace").strip()[-2000:] if path.exists() else ""

    def stop(self) -> None:
        for process in reversed(self.processes):  # the window manager first
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


def _free_displays(tries: int = 5):
    """Display numbers that no X server holds (no lock file, no socket), in a random order."""
    taken = Path("/proc/net/unix").read_text(errors="replace") \
        if Path("/proc/net/unix").exists() else ""
    numbers = [n for n in range(100, 1000) if not Path(f"/tmp/.X{n}-lock").exists()
               and not Path(f"/tmp/.X11-unix/X{n}").exists() and f"/X{n}\n" not in taken]
    return random.sample(numbers, min(tries, len(numbers)))


def _wait_for_socket(process: subprocess.Popen, path: Path) -> bool:
    """Whether ``process`` (an X server) accepts connections on ``path`` in time."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            try:
                client.connect(str(path))
                return True
            except OSError:
                time.sleep(0.05)
    return False
