"""Shared test set-up: Qt runs offscreen (no display needed), set before Qt is first imported.

``pytest --xwindow`` runs the tests marked ``xwindow`` instead (and only them) under Qt's xcb
platform, in an X server with a window manager started for the run (``xserver.py``). Without
Xvfb and openbox they are skipped with the reason, except in CI (``CI`` set), where that fails.
"""
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))  # xserver.py (--import-mode=importlib)

_X_KEY = pytest.StashKey()


def pytest_addoption(parser):
    parser.addoption("--xwindow", action="store_true",
                     help="run only the xwindow tests, under the xcb platform in an X server "
                          "(Xvfb + openbox) started for the run")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def pytest_configure(config):
    if not config.getoption("xwindow", False):
        return
    import xserver

    missing = xserver.missing_programs()
    if missing:
        reason = (f"the xwindow tests need a real X server: apt install "
                  f"{' '.join(missing)} (skipped)")
        if _in_ci():
            pytest.exit(reason.replace(" (skipped)", " (CI must run them)"), returncode=1)
        config.stash[_X_KEY] = reason
        return
    server = xserver.XServer.start()
    config.stash[_X_KEY] = server
    os.environ["DISPLAY"] = server.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ.pop("WAYLAND_DISPLAY", None)


def pytest_unconfigure(config):
    server = config.stash.get(_X_KEY, None)
    if server is not None and not isinstance(server, str):
        server.stop()


def pytest_collection_modifyitems(config, items):
    xwindow = config.getoption("xwindow", False)
    if xwindow:  # this run is for the real-window tests only
        chosen = [item for item in items if item.get_closest_marker("xwindow")]
        config.hook.pytest_deselected(items=[i for i in items if i not in chosen])
        items[:] = chosen
    state = config.stash.get(_X_KEY, None)
    if isinstance(state, str):
        reason = state
    elif os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] != "xcb":
        reason = "runs in a real X server: pytest --xwindow (make test runs it)"
    else:
        return
    for item in items:
        if item.get_closest_marker("xwindow"):
            item.add_marker(pytest.mark.skip(reason=reason))
