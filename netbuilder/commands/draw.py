"""``netbuilder draw FILE -o net.svg|.pdf|.png``: the network as a diagram, headless.

The drawing is ``netbuilder.graph.drawing``'s (the one a notebook shows for a ``Graph``): the
layered layout, top to bottom, with the tensor shapes on the wires. SVG is written as is; PDF
and PNG are that SVG rendered by Qt on its offscreen platform (imported only for them)."""
from __future__ import annotations

import argparse
from pathlib import Path

from .common import CommandError, load_graph, positive_float

NAME = "draw"
HELP = "draw the network as a diagram (SVG, PDF or PNG) for papers and slides"
FORMATS = (".svg", ".pdf", ".png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("-o", "--output", metavar="OUT", required=True,
                        help="the diagram to write: .svg, .pdf or .png")
    parser.add_argument("--direction", choices=("down", "right"), default="down",
                        help="layers top to bottom (default) or left to right")
    parser.add_argument("--theme", choices=("light", "dark"), default="light",
                        help="colours (default light, for print)")
    parser.add_argument("--scale", type=positive_float, default=3.0, metavar="X",
                        help="PNG pixels per drawing unit (default 3: print quality)")
    parser.add_argument("--no-shapes", action="store_true",
                        help="leave out the tensor shapes (no shape analysis is run)")


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise CommandError(f"{args.output}: a diagram is written as .svg, .pdf or .png, "
                           f"not {suffix or 'a file without a suffix'!r}")
    if not out.parent.is_dir():
        raise CommandError(f"{args.output}: the folder {str(out.parent)!r} does not exist")
    from ..graph.drawing import render_svg, wire_shapes

    graph = load_graph(args.file)
    shapes = {} if args.no_shapes else wire_shapes(graph)
    svg = render_svg(graph, direction=args.direction, theme=args.theme, shapes=shapes)
    if suffix == ".svg":
        out.write_text(svg, encoding="utf-8")
    else:
        from ..ui.diagram import write_svg_text

        write_svg_text(svg, out, png_scale=args.scale)
    print(f"wrote {out} ({len(graph)} nodes)")
    return 0
