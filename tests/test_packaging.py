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


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _metadata(wheel) -> str:
    archive = zipfile.ZipFile(wheel)
    (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    return archive.read(name).decode()


def test_one_version_number_from_the_package(wheel):
    project = _pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "netbuilder.__version__"}
    assert f"\nVersion: {netbuilder.__version__}\n" in _metadata(wheel)
    assert wheel.name.startswith(f"netbuilder-{netbuilder.__version__}-")


def test_build_system_asks_for_a_current_setuptools():
    (req,) = [r for r in _pyproject()["build-system"]["requires"] if r.startswith("setuptools")]
    floor = tuple(int(p) for p in req.split(">=")[1].split("."))
    assert floor >= (77,)  # license = "MIT" as an SPDX expression needs 77


def test_the_wheel_carries_the_license_and_py_typed(wheel):
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert "netbuilder/py.typed" in names
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    text = archive.read(license_file).decode()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
    assert text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert _pyproject()["project"]["license"] == "MIT"
    assert "\nLicense-Expression: MIT\n" in _metadata(wheel)


def test_extras_for_onnx_and_tensorboard(wheel):
    meta = _metadata(wheel)
    for extra in ("onnx", "tensorboard", "test"):
        assert f"\nProvides-Extra: {extra}\n" in meta
    assert 'Requires-Dist: tensorboard>=2.14; extra == "tensorboard"' in meta
    for package in ("onnx>=", "onnxruntime>=", "onnxscript>="):
        assert any(line.startswith(f"Requires-Dist: {package}") and 'extra == "onnx"' in line
                   for line in meta.splitlines()), package
    assert any(line.startswith("Requires-Dist: tqdm>=") and "extra" not in line
               for line in meta.splitlines())


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


def test_desktop_entry_metadata_and_icons_agree():
    import configparser
    import xml.etree.ElementTree as ET

    from PIL import Image

    packaging = ROOT / "packaging"
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(packaging / "netbuilder.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].split()[0] == "netbuilder"
    assert desktop["Icon"] == "netbuilder" and desktop["Categories"].endswith(";")
    meta = ET.parse(packaging / "io.github.netbuilder.metainfo.xml").getroot()
    assert meta.findtext("launchable") == "netbuilder.desktop"
    assert meta.find("releases/release").get("version") == netbuilder.__version__
    shots = [img.text for img in meta.iter("image")]
    assert shots, "the metadata has no screenshots"
    for url in shots:  # each names a picture that docs/images has (or scripts/ makes)
        name = url.rsplit("/", 1)[1]
        assert url.startswith("https://") and f"docs/images/{name}" in url
        assert (ROOT / "docs" / "images" / name).is_file() or \
            f"shot {Path(name).stem} " in (ROOT / "scripts" / "make_screenshots.sh").read_text()
    assert (packaging / "icons" / "netbuilder.svg").is_file()
    for size in (16, 32, 48, 64, 128, 256, 512):
        with Image.open(packaging / "icons" / f"netbuilder-{size}.png") as icon:
            assert icon.size == (size, size) and icon.mode == "RGBA"
            assert icon.getpixel((0, 0))[3] == 0  # rounded corners: transparent
            assert icon.getpixel((size // 2, size // 2))[3] == 255


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_install_desktop_uses_the_hicolor_layout_and_uninstalls(tmp_path):
    prefix = tmp_path / "prefix"
    env = {**os.environ, "PREFIX": str(prefix)}
    # BUNDLE points nowhere: the entry then runs this checkout's .venv/bin/netbuilder.
    run(["make", "-s", "install-desktop", "BUNDLE=" + str(tmp_path / "none")], cwd=ROOT, env=env)
    share = prefix / "share"
    installed = sorted(str(p.relative_to(share)) for p in share.rglob("*") if p.is_file())
    assert "applications/netbuilder.desktop" in installed
    assert "metainfo/io.github.netbuilder.metainfo.xml" in installed
    assert "icons/hicolor/scalable/apps/netbuilder.svg" in installed
    for size in (16, 48, 256, 512):
        assert f"icons/hicolor/{size}x{size}/apps/netbuilder.png" in installed
    text = (share / "applications" / "netbuilder.desktop").read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" %f") and "netbuilder" in exec_line
    run(["make", "-s", "uninstall-desktop"], cwd=ROOT, env=env)
    assert not [p for p in share.rglob("*") if p.is_file() and "netbuilder" in p.name]
