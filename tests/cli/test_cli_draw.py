"""`netbuilder draw`: the network as SVG (XML naming every node), PDF and PNG (rendered
headless, in a child process: no display, no Qt application left in this one), and clear
errors for a bad file, a bad output name or a missing folder."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import netbuilder as nb

SVG = "{http://www.w3.org/2000/svg}"


def texts(svg_path: Path) -> list[str]:
    root = ET.parse(svg_path).getroot()
    return [t.text for t in root.iter(f"{SVG}text")]


def test_svg_names_every_node_and_shows_the_shapes(cli, lenet_file, tmp_path):
    out = tmp_path / "net.svg"
    code, stdout, err = cli("draw", lenet_file, "-o", out)
    assert code == 0, err
    assert stdout.strip() == f"wrote {out} (14 nodes)"
    words = texts(out)
    graph = nb.load(lenet_file)
    assert {n.name for n in graph.nodes()} <= set(words)
    assert "(N, 6, 28, 28)" in words and "(N, 10)" in words
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f".//{SVG}g[@class='node']")) == len(graph)


def test_the_light_theme_is_the_default_and_dark_is_an_option(cli, lenet_file, tmp_path):
    from netbuilder.graph.palettes import DARK, LIGHT

    cli("draw", lenet_file, "-o", tmp_path / "light.svg")
    cli("draw", lenet_file, "-o", tmp_path / "dark.svg", "--theme", "dark")
    assert f'fill="{LIGHT["background"]}"' in (tmp_path / "light.svg").read_text()
    assert f'fill="{DARK["background"]}"' in (tmp_path / "dark.svg").read_text()


def test_left_to_right_is_wider_than_tall(cli, lenet_file, tmp_path):
    cli("draw", lenet_file, "-o", tmp_path / "down.svg", "--no-shapes")
    cli("draw", lenet_file, "-o", tmp_path / "right.svg", "--direction", "right", "--no-shapes")
    down = ET.parse(tmp_path / "down.svg").getroot().attrib
    right = ET.parse(tmp_path / "right.svg").getroot().attrib
    assert float(down["height"]) > 4 * float(down["width"])
    assert float(right["width"]) > 4 * float(right["height"])


def test_pdf_and_png_are_rendered_headless(cli, lenet_file, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY",
                                                            "WAYLAND_DISPLAY")}
    # both children at once (each pays a Qt start-up); the SVG needs no Qt, so it is drawn here
    children = [subprocess.Popen([sys.executable, "-m", "netbuilder", "draw", str(lenet_file),
                                  "-o", str(tmp_path / name), "--scale", "2"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env) for name in ("net.pdf", "net.png")]
    assert cli("draw", lenet_file, "-o", tmp_path / "net.svg", "--scale", "2")[0] == 0
    for child in children:
        _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err
    assert (tmp_path / "net.pdf").read_bytes().startswith(b"%PDF")
    png = (tmp_path / "net.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    svg = ET.parse(tmp_path / "net.svg").getroot().attrib
    assert (width, height) == (2 * int(svg["width"]), 2 * int(svg["height"]))


def test_a_bad_file_is_one_line_and_exit_status_1(cli, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, out, err = cli("draw", broken, "-o", tmp_path / "x.svg")
    assert code == 1 and out == ""
    assert err.startswith("netbuilder: error: ") and str(broken) in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.svg").exists()
    code, _, err = cli("draw", tmp_path / "missing.json", "-o", tmp_path / "x.svg")
    assert code == 1 and "missing.json" in err and "not found" in err


def test_a_bad_output_name_or_folder_is_refused(cli, lenet_file, tmp_path):
    code, _, err = cli("draw", lenet_file, "-o", tmp_path / "net.gif")
    assert code == 1
    assert err.strip() == (f"netbuilder: error: {tmp_path / 'net.gif'}: a diagram is written "
                           f"as .svg, .pdf or .png, not '.gif'")
    code, _, err = cli("draw", lenet_file, "-o", tmp_path / "nowhere" / "net.svg")
    assert code == 1 and "does not exist" in err and "nowhere" in err
    code, _, err = cli("draw", lenet_file)  # -o is required
    assert code == 2 and "-o" in err


def test_a_notebook_shows_the_graph_as_svg():
    g = nb.Graph("tiny")
    x = g.add("Input", "x", shape=(4,))
    fc = g.add("Linear", "fc", out_features=2)
    g.connect(x, fc)
    svg = g._repr_svg_()
    root = ET.fromstring(svg)
    words = [t.text for t in root.iter(f"{SVG}text")]
    assert "x" in words and "fc" in words and "(N, 2)" in words
