"""Shared test set-up: Qt runs offscreen (no display needed), set before Qt is first imported.

``pytest --xwindow`` runs the tests marked ``xwindow`` instead (and only them) under Qt's xcb
platform, in an X server with a window manager started for the run (``xserver.py``). Without
Xvfb and openbox they are skipped with the reason, except in CI (``CI`` set), where that fails.

A run folder of LeNet-5 trained one epoch serves the tests that look inside a trained network.
"""
import os
import sys
from importlib import resources
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One BLAS thread, here and in the processes the tests start (set before numpy loads): the
# small fits of numpy and scikit-learn (a logistic regression, a PCA) take 20 times longer
# on two threads that spin against each other on a busy machine's two cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).parent))  # xserver.py (--import-mode=importlib)

_X_KEY = pytest.StashKey()


def pytest_addoption(parser):
    parser.addoption("--xwindow", action="store_true",
                     help="run only the xwindow tests, under the xcb platform in an X server "
                          "(Xvfb + openbox) started for the run")
    parser.addoption("--screenshots", action="store_true",
                     help="with --xwindow: also take the documentation's screenshot matrix "
                          "(tests marked screenshots; scripts/window_screenshots.py)")


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
    if not config.getoption("screenshots", False):  # minutes long: taken only on purpose
        dropped = [i for i in items if i.get_closest_marker("screenshots")]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [i for i in items if i not in dropped]
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


@pytest.fixture(scope="session")
def lenet_run(tmp_path_factory) -> Path:
    """A run folder: the LeNet-5 example trained one epoch on the built-in digits (seed 0)."""
    import torch

    import netbuilder as nb
    from netbuilder.train.config import TrainingConfig
    from netbuilder.train.trainer import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        g = nb.load(Path(str(resources.files("netbuilder") / "resources" / "examples"
                             / "lenet5.json")))
        out = tmp_path_factory.mktemp("lenet_run")
        train(g, TrainingConfig.from_graph(g).replace(epochs=1, device="cpu"),
              emit=lambda _e: None, out_dir=out)
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture
def import_here(monkeypatch):
    """``netbuilder import`` does its child process's work in this process, where torch is
    imported already (a child would import it again, seconds on a busy machine): for tests of
    what the command makes of a model. The child itself (isolation, exit, hang, crash,
    torch kept out of the caller) is tested in tests/test_model_import.py and
    tests/cli/test_import_export_cli.py."""
    import io

    from netbuilder import model_import

    def run_here(folder, request, timeout, cancel, path) -> int:
        argv, stdin = sys.argv, sys.stdin
        sys.stdin = io.StringIO(request)
        try:
            model_import._child(str(folder / "result"))
        finally:
            if sys.stdin is not stdin:
                sys.stdin.close()  # the child's own: os.devnull
            sys.argv, sys.stdin = argv, stdin
        return 0

    monkeypatch.setattr(model_import, "_run_child", run_here)
