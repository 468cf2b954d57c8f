"""The wheel built from the repository installs into a fresh virtual environment and works from
outside the source tree: ``netbuilder --version``, a ``--screenshot`` of an example the wheel
carries, and an export whose code needs ``modules.py`` (read as a resource).

NOTE: the wheel is built from a copy of the repository in a temporary folder: setuptools writes
``build/`` and ``*.egg-info`` beside the sources, which would race with other runs in the same
working tree. The fresh environment sees the big dependencies (torch, PySide6) of the
environment running this test through a ``.pth`` file instead of installing them again; the
wheel itself is installed into it with ``--no-deps``.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import netbuilder

ROOT = Path(netbuilder.__file__).resolve().parent.parent
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info",
                                     "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis",
                                     ".ruff_cache", "runs")
pytestmark = pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(),
                                reason="netbuilder is not running from a source checkout")


def run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: float = 180
        ) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, (f"{cmd} exited {result.returncode}\n"
                                    f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=COPY_IGNORE)
    cmd = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", tmp / "dist"]
    if importlib.util.find_spec("setuptools") is not None:
        cmd.append("--no-build-isolation")  # offline: this environment has the build backend
    run(cmd, cwd=src)
    (built,) = (tmp / "dist").glob("netbuilder-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_env(wheel, tmp_path_factory) -> dict:
    """A new virtual environment with the wheel installed; returns paths and a clean env."""
    tmp = tmp_path_factory.mktemp("fresh")
    env_dir = tmp / "env"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
               cwd=tmp).stdout.strip()
    ours = sysconfig.get_paths()
    deps = dict.fromkeys([ours["purelib"], ours["platlib"]])
    (Path(site) / "_netbuilder_test_dependencies.pth").write_text("\n".join(deps) + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "-q", wheel], cwd=tmp)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(QT_QPA_PLATFORM="offscreen", NETBUILDER_SETTINGS_DIR=str(tmp / "settings"),
               PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    work = tmp / "work"  # every command runs here: outside the source tree
    work.mkdir()
    return {"python": python, "bin": bin_dir, "env": env, "work": work, "dir": env_dir}


def test_the_wheel_carries_resources_and_entry_points(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "netbuilder"
    for folder in ("examples", "icons"):
        files = sorted((package / "resources" / folder).iterdir())
        assert files, folder
        for f in files:
            assert f"netbuilder/resources/{folder}/{f.name}" in names
    assert "netbuilder/layers/modules.py" in names
    assert not any(n.startswith(("tests/", "scripts/", "packaging/")) for n in names)
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "netbuilder = netbuilder.cli:main" in text
    assert "netbuilder-gui = netbuilder.cli:gui_main" in text


def test_fresh_environment_imports_the_installed_package(fresh_env):
    where = run([fresh_env["python"], "-c", "import netbuilder, torch, PySide6; "
                 "print(netbuilder.__file__)"], cwd=fresh_env["work"],
                env=fresh_env["env"]).stdout.strip()
    assert Path(where).resolve().is_relative_to(fresh_env["dir"].resolve())
    assert not Path(where).resolve().is_relative_to(ROOT)


def test_installed_command_prints_its_version(fresh_env):
    out = run([fresh_env["bin"] / "netbuilder", "--version"], cwd=fresh_env["work"],
              env=fresh_env["env"]).stdout
    assert out == f"netbuilder {netbuilder.__version__}\n"
    assert (fresh_env["bin"] / "netbuilder-gui").exists()


def _installed_example(fresh_env, name: str) -> Path:
    code = ("from importlib import resources; print(resources.files('netbuilder.resources')"
            f".joinpath('examples').joinpath('{name}.json'))")
    path = Path(run([fresh_env["python"], "-c", code], cwd=fresh_env["work"],
                    env=fresh_env["env"]).stdout.strip())
    assert path.is_file() and path.resolve().is_relative_to(fresh_env["dir"].resolve())
    return path


def test_installed_command_screenshots_an_example_it_carries(fresh_env):
    from PySide6.QtGui import QImage

    from netbuilder.ui.app import SCREENSHOT_SIZE

    example = _installed_example(fresh_env, "lenet5")
    out = fresh_env["work"] / "lenet5.png"
    run([fresh_env["bin"] / "netbuilder", example, "--screenshot", out], cwd=fresh_env["work"],
        env=fresh_env["env"])
    image = QImage(str(out))
    assert (image.width(), image.height()) == SCREENSHOT_SIZE
    small = image.scaled(200, 125)
    assert len({small.pixel(x, y) for x in range(200) for y in range(125)}) > 300
    assert 20_000 < out.stat().st_size < 3_000_000


def test_installed_export_copies_helper_modules_from_the_wheel(fresh_env):
    example = _installed_example(fresh_env, "transformer_tiny")
    out = fresh_env["work"] / "tiny.py"
    run([fresh_env["bin"] / "netbuilder", "export", example, "-o", out], cwd=fresh_env["work"],
        env=fresh_env["env"])
    source = out.read_text()
    assert "class PositionalEncoding(nn.Module)" in source
    compile(source, str(out), "exec")
