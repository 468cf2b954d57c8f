"""The `netbuilder` command itself: dispatch, the app launcher, --version, errors as one line."""
from __future__ import annotations

import importlib.abc
import json
import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

import netbuilder as nb
from netbuilder import cli as cli_module
from netbuilder.commands import check


def _python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], check=False,
                          capture_output=True, text=True, timeout=120, env=env)


def test_version_loads_neither_torch_nor_qt():
    done = _python("import sys, json; from netbuilder.cli import main; rc = main(['--version']);"
                   "print(json.dumps([m for m in ('torch', 'PySide6', 'pyqtgraph') "
                   "if m in sys.modules])); sys.exit(rc)")
    assert done.returncode == 0, done.stderr
    version, loaded = done.stdout.splitlines()
    assert version == f"netbuilder {nb.__version__}" and json.loads(loaded) == []


def test_check_loads_no_qt_and_python_dash_m_works(lenet_file):
    done = _python("import sys, runpy; sys.argv = ['netbuilder', 'check', sys.argv[1]];\n"
                   "try:\n    runpy.run_module('netbuilder', run_name='__main__')\n"
                   "except SystemExit as e:\n"
                   "    print([m for m in ('PySide6', 'pyqtgraph') if m in sys.modules]);"
                   " raise", str(lenet_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{lenet_file}: OK (14 nodes, 61,706 parameters)", "[]"]


def test_python_dash_m_version():
    done = subprocess.run([sys.executable, "-m", "netbuilder", "--version"], check=False,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, f"netbuilder {nb.__version__}\n")


def test_entry_points_are_declared():
    dist = metadata.distribution("netbuilder")
    points = {(e.group, e.name): e.value for e in dist.entry_points}
    assert points[("console_scripts", "netbuilder")] == "netbuilder.cli:main"
    assert points[("gui_scripts", "netbuilder-gui")] == "netbuilder.cli:gui_main"


def test_help_lists_every_subcommand(cli):
    code, out, _ = cli("--help")
    assert code == 0
    for name in cli_module.SUBCOMMANDS:
        assert f"  {name} " in out and cli_module.command_module(name).HELP in out
    code, out, _ = cli("summary", "--help")
    assert code == 0 and "--batch-size N" in out


@pytest.fixture
def fake_app(monkeypatch):
    calls = []
    app = types.ModuleType("netbuilder.ui.app")

    def run_app(path, screenshot=None, train_seconds=None):
        calls.append((path, screenshot, train_seconds))
        return 0

    app.run_app = run_app
    monkeypatch.setitem(sys.modules, "netbuilder.ui.app", app)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    return calls


def test_launcher_opens_the_editor(cli, fake_app, lenet_file, tmp_path):
    shot = tmp_path / "shot.png"
    code, _, err = cli(lenet_file, "--screenshot", shot, "--train", "2.5")
    assert code == 0, err
    assert fake_app == [(str(lenet_file), str(shot), 2.5)]
    assert cli()[0] == 0 and fake_app[-1] == (None, None, None)
    assert cli_module.gui_main([str(lenet_file)]) == 0 and fake_app[-1][0] == str(lenet_file)


def test_launcher_without_a_display_says_so_instead_of_crashing(cli, fake_app, monkeypatch,
                                                                lenet_file, tmp_path):
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code, _, err = cli(lenet_file)
    assert code == 2 and fake_app == []
    assert err.startswith("netbuilder: error: there is no display to open the editor on")
    assert cli(lenet_file, "--screenshot", tmp_path / "s.png")[0] == 0  # no display needed
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(cli_module, "_load_library", lambda soname: None)
    assert cli(lenet_file)[0] == 0 and len(fake_app) == 2


def test_launcher_without_the_xcb_libraries_names_the_packages(cli, fake_app, monkeypatch,
                                                               lenet_file, tmp_path):
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(sys, "platform", "linux")
    tried = []

    def load(soname):
        tried.append(soname)
        if soname == "libxcb-cursor.so.0":
            raise OSError(f"{soname}: cannot open shared object file")

    monkeypatch.setattr(cli_module, "_load_library", load)
    code, out, err = cli(lenet_file)
    assert (code, out, fake_app) == (1, "", [])
    assert err == ("netbuilder: the window needs libxcb-cursor0 (apt install libxcb-cursor0 "
                   "libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
                   "libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libegl1 libgl1 "
                   "libfontconfig1 libdbus-1-3)\n")
    assert "libxkbcommon-x11.so.0" in tried  # every library is tried, not only the first
    assert cli(lenet_file, "--screenshot", tmp_path / "s.png")[0] == 1  # xcb renders it too
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb;offscreen")
    assert cli(lenet_file)[0] == 1
    for platform in ("offscreen", "wayland"):  # no xcb: nothing to check
        monkeypatch.setenv("QT_QPA_PLATFORM", platform)
        assert cli(lenet_file)[0] == 0
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")  # Qt picks Wayland there
    assert cli(lenet_file)[0] == 0
    assert len(fake_app) == 3


def test_the_library_loader_refuses_a_library_the_system_lacks():
    with pytest.raises(OSError):
        cli_module._load_library("libnetbuilder-absent.so.7")


def test_launcher_without_the_editor_says_so(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "netbuilder.ui.app", None)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    code, out, err = cli()
    assert code == 2 and out == ""
    assert err.startswith("netbuilder: error: the desktop editor is not part of this "
                          "installation (netbuilder.ui.app is missing)")


class _NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "netbuilder.ui.app":
            raise ModuleNotFoundError("No module named 'PySide6'", name="PySide6")


def test_launcher_without_qt_says_what_to_install(cli, monkeypatch):
    monkeypatch.delitem(sys.modules, "netbuilder.ui.app", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoQt(), *sys.meta_path])
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    code, _, err = cli()
    assert code == 2
    assert err == ("netbuilder: error: the desktop editor needs PySide6, which is not installed: "
                   "pip install PySide6-Essentials pyqtgraph\n")


def test_mistyped_command_and_missing_file(cli, fake_app, tmp_path):
    code, _, err = cli("chek", "x.json")
    assert code == 2 and "unknown command 'chek'; did you mean 'check'?" in err
    code, _, err = cli(tmp_path / "absent.json")
    assert code == 2 and err == f"netbuilder: error: {tmp_path / 'absent.json'}: file not found\n"
    assert fake_app == []


@pytest.mark.parametrize("value", ["-1", "0", "soon", "inf"])
def test_bad_train_seconds(cli, fake_app, lenet_file, value):
    code, _, err = cli(lenet_file, "--train", value)
    assert code == 2 and "--train" in err and fake_app == []


def test_unexpected_exception_is_one_line_unless_debugging(cli, lenet_file, monkeypatch):
    def boom(args):
        raise ValueError("boom")

    monkeypatch.setattr(check, "run", boom)
    monkeypatch.delenv("NETBUILDER_DEBUG", raising=False)
    code, _, err = cli("check", lenet_file)
    assert code == 70 and "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("netbuilder: error: unexpected ValueError: boom; this is a bug in "
                          "netbuilder, please report it")
    monkeypatch.setenv("NETBUILDER_DEBUG", "1")
    code, _, err = cli("check", lenet_file)
    assert code == 70 and "Traceback (most recent call last)" in err and "ValueError: boom" in err


@pytest.mark.parametrize("exc,status,line", [
    (PermissionError(13, "Permission denied", "x.json"), 1,
     "netbuilder: error: x.json: Permission denied\n"),
    (KeyboardInterrupt(), 130, "netbuilder: interrupted\n"),
])
def test_os_errors_and_interrupts(cli, lenet_file, monkeypatch, exc, status, line):
    def fail(args):
        raise exc

    monkeypatch.setattr(check, "run", fail)
    code, _, err = cli("check", lenet_file)
    assert (code, err) == (status, line)


def test_keyword_named_subcommands_live_in_underscore_modules(monkeypatch):
    module = types.ModuleType("netbuilder.commands.import_")
    monkeypatch.setitem(sys.modules, "netbuilder.commands.import_", module)
    assert cli_module.command_module("import") is module


def test_the_readme_and_ci_install_every_library_the_launcher_checks():
    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    for package in cli_module.XCB_PACKAGES.values():
        assert f" {package}" in readme and f" {package}" in ci, package
    assert "xvfb openbox" in readme and "xvfb openbox" in ci
