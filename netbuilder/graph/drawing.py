"""The network as a diagram in SVG, without Qt: the layered layout's boxes (name, type, key
parameters) in the canvas's colours, and its wires with the tensor shapes on them.

One renderer for every drawing made outside the editor: ``netbuilder draw`` (its PDF and PNG
are this SVG rasterised) and ``Graph._repr_svg_`` (a notebook shows the network inline)."""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .layout import Layout, layered_layout
from .model import Graph, Node
from .palettes import CATEGORY_COLOURS, DARK, DEFAULT_CATEGORY_COLOUR, LIGHT

BOX_W, HEADER_H, LINE_H, BODY_PAD = 184.0, 26.0, 15.0, 8.0
MARGIN = 24.0
LABEL_H = 15.0
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
# Rough advances of the fonts (SVG cannot measure text): enough to elide, not to typeset.
TITLE_ADVANCE, TYPE_ADVANCE, BODY_ADVANCE, MONO_ADVANCE = 7.4, 6.0, 6.4, 6.1
THEMES = {"light": LIGHT, "dark": DARK}


def subtitle(node: Node) -> str:
    """A node's key parameters in a few characters, from its layer spec (``""`` if none)."""
    if node.inner is not None:
        n = sum(1 for m in node.inner.nodes() if not m.is_boundary)
        return f"{n} layer" + ("s" if n != 1 else "")
    rule = getattr(node.spec, "subtitle", None)
    if rule is None:
        return ""
    try:
        return str(rule(node.params))
    except (KeyError, TypeError, ValueError):  # a rule that does not fit the params: no line
        return ""


def body_lines(node: Node, shapes: dict) -> list[tuple[str, str]]:
    """(font role, text) of the lines under a box's header: key parameters, output shape."""
    lines = []
    if subtitle(node):
        lines.append(("body", subtitle(node)))
    if node.id in shapes:
        lines.append(("mono", shapes[node.id]))
    return lines


def box_height(g: Graph, shapes: dict) -> float:
    """Every box alike: as tall as the one with the most lines."""
    lines = max((len(body_lines(n, shapes)) for n in g.nodes()), default=0)
    return HEADER_H + BODY_PAD * 2 + LINE_H * max(1, lines) - 4


def diagram_layout(g: Graph, direction: str = "down", shapes: dict | None = None) -> Layout:
    """The layered layout sized for the diagram's boxes."""
    size = (BOX_W, box_height(g, shapes or {}))
    return layered_layout(g, {n.id: size for n in g.nodes()}, direction)


def render_svg(g: Graph, direction: str = "down", theme: str = "light",
               shapes: dict[tuple, str] | None = None) -> str:
    """``g`` as an SVG document laid out going ``direction``, in the ``theme`` palette
    ("light" for print, "dark"); ``shapes`` labels wires (by edge key) and boxes (by node
    id) with tensor shapes (see ``wire_shapes``)."""
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {tuple(THEMES)}, not {theme!r}")
    pal = THEMES[theme]
    shapes = shapes or {}
    layout = diagram_layout(g, direction, shapes)
    h = box_height(g, shapes)
    xs = [p[0] + BOX_W for p in layout.positions.values()] or [0.0]
    ys = [p[1] + h for p in layout.positions.values()] or [0.0]
    width, height = max(xs) + 2 * MARGIN, max(ys) + 2 * MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'font-family={quoteattr(FONT)}>',
           f'<title>{escape(g.name or "network")}</title>',
           '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
           f'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" '
           f'fill="{pal["wire"]}"/></marker></defs>',
           f'<rect width="{width:.0f}" height="{height:.0f}" fill="{pal["background"]}"/>',
           f'<g transform="translate({MARGIN},{MARGIN})">']
    out += _wires(g, layout, pal, shapes)
    for node in g.nodes():
        out += _box(node, layout.positions[node.id], h, body_lines(node, shapes), pal)
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _box(node: Node, pos: tuple[float, float], h: float, lines: list, pal: dict) -> list[str]:
    x, y = pos
    colour = CATEGORY_COLOURS.get(node.spec.category, DEFAULT_CATEGORY_COLOUR)
    room = BOX_W - 20
    name = _elide(node.name, room, TITLE_ADVANCE)
    kind = node.type if node.type != node.name else ""
    if kind and (len(name) * TITLE_ADVANCE + 10 + len(kind) * TYPE_ADVANCE) > room:
        kind = ""  # the name comes first; the colour still tells the kind
    parts = [f'<g class="node" id={quoteattr("node-" + node.id)}>',
             f'<title>{escape(node.name)} ({escape(node.type)})</title>',
             f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{h}" rx="6" '
             f'fill="{pal["node_body"]}" stroke="{pal["node_border"]}"/>',
             f'<path d="M{x},{y + HEADER_H} V{y + 6} Q{x},{y} {x + 6},{y} H{x + BOX_W - 6} '
             f'Q{x + BOX_W},{y} {x + BOX_W},{y + 6} V{y + HEADER_H} Z" fill="{colour}"/>',
             f'<text x="{x + 10}" y="{y + 17.5}" font-size="12" font-weight="bold" '
             f'fill="{pal["title_text"]}">{escape(name)}</text>']
    if kind:
        parts.append(f'<text x="{x + BOX_W - 10}" y="{y + 17}" font-size="10" '
                     f'text-anchor="end" fill="{pal["title_text"]}" fill-opacity="0.78">'
                     f'{escape(kind)}</text>')
    for i, (role, text) in enumerate(lines):
        mono = role == "mono"
        text = _elide(text, BOX_W - 24, MONO_ADVANCE if mono else BODY_ADVANCE)
        font = f' font-family={quoteattr(MONO)}' if mono else ""
        parts.append(f'<text x="{x + 12}" y="{y + HEADER_H + BODY_PAD + 11 + i * LINE_H}" '
                     f'font-size="{10 if mono else 11}"{font} '
                     f'fill="{pal["shape_text" if mono else "text"]}">{escape(text)}</text>')
    parts.append("</g>")
    return parts


def _elide(text: str, room: float, advance: float) -> str:
    most = int(room / advance)
    return text if len(text) <= most else text[:max(1, most - 1)] + "…"


def _wires(g: Graph, layout: Layout, pal: dict, shapes: dict) -> list[str]:
    """Each wire as a smooth path along its route; the shape label in a gap between ranks,
    where no box is, clear of the labels already placed."""
    down = layout.direction == "down"
    ends = _port_offsets(g, layout)
    paths, labels, placed = [], [], []
    for edge, route in layout.routes:
        pts = [list(p) for p in route]
        a, b = ends[(edge.key, "out")], ends[(edge.key, "in")]
        pts[0][0 if down else 1] += a
        pts[-1][0 if down else 1] += b
        d = [f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"]
        for i, (p, q) in enumerate(zip(pts, pts[1:])):
            if i % 2:  # through a rank, beside its boxes: straight
                d.append(f"L{q[0]:.1f},{q[1]:.1f}")
            elif down:  # across a gap between ranks: an S-bend leaving and entering upright
                m = (p[1] + q[1]) / 2
                d.append(f"C{p[0]:.1f},{m:.1f} {q[0]:.1f},{m:.1f} {q[0]:.1f},{q[1]:.1f}")
            else:
                m = (p[0] + q[0]) / 2
                d.append(f"C{m:.1f},{p[1]:.1f} {m:.1f},{q[1]:.1f} {q[0]:.1f},{q[1]:.1f}")
        paths.append(f'<path d="{" ".join(d)}" fill="none" stroke="{pal["wire"]}" '
                     f'stroke-width="1.6" marker-end="url(#arrow)"/>')
        text = shapes.get(edge.key)
        if text:
            spot = _label_spot(pts, text, placed, down)
            if spot is not None:
                placed.append(spot)
                labels.append(_label(spot, text, pal))
    return paths + labels


def _port_offsets(g: Graph, layout: Layout) -> dict:
    """Where along a box's edge each wire leaves or enters: spread out over the ports, so the
    two wires into an Add do not meet before they arrive."""
    out: dict = {}
    for node in g.nodes():
        length = BOX_W if layout.direction == "down" else layout.sizes[node.id][1]
        ins = sorted(g.in_edges(node.id), key=lambda e: e.order)
        for k, e in enumerate(ins):
            out[(e.key, "in")] = (k + 1) * length / (len(ins) + 1) - length / 2
        ports = [p.name for p in g.output_ports(node.id)]
        for e in g.out_edges(node.id):
            k = ports.index(e.src_port) if e.src_port in ports else 0
            out[(e.key, "out")] = (k + 1) * length / (len(ports) + 1) - length / 2
    return out


def _label_spot(pts: list, text: str, placed: list, down: bool):
    """A free rectangle for a label centred on a gap segment of the route (the last first)."""
    w = len(text) * MONO_ADVANCE + 10
    gaps = [(pts[i], pts[i + 1]) for i in range(0, len(pts) - 1, 2)]
    for p, q in reversed(gaps):
        for t in (0.5, 0.3, 0.7):
            cx, cy = p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t
            rect = (cx - w / 2, cy - LABEL_H / 2, cx + w / 2, cy + LABEL_H / 2)
            if down is False and w > abs(q[0] - p[0]) - 8:
                continue  # wider than the gap: it would touch the boxes
            if not any(r[0] < rect[2] and rect[0] < r[2] and r[1] < rect[3] and rect[1] < r[3]
                       for r in placed):
                return rect
    return None


def _label(rect: tuple, text: str, pal: dict) -> str:
    x0, y0, x1, y1 = rect
    return (f'<g class="shape"><rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" '
            f'height="{y1 - y0:.1f}" rx="{(y1 - y0) / 2:.1f}" fill="{pal["wire_label_bg"]}" '
            f'stroke="{pal["wire_label_border"]}"/><text x="{(x0 + x1) / 2:.1f}" '
            f'y="{y1 - 4:.1f}" font-size="10" font-family={quoteattr(MONO)} '
            f'text-anchor="middle" fill="{pal["wire_label_text"]}">{escape(text)}</text></g>')


def wire_shapes(g: Graph) -> dict:
    """Tensor shapes as the canvas writes them: each wire's by edge key, each node's first
    output by node id; none where the graph cannot be analysed (torch missing, or an error
    upstream)."""
    from ..errors import NetbuilderError
    from .diagnostics import fmt_shape

    try:
        analysis = g.analyze()
    except (NetbuilderError, ImportError):
        return {}
    out: dict = {}
    for nid, info in analysis.nodes.items():
        if nid in g and info.out_shapes and info.out_shapes[0] is not None:
            out[nid] = fmt_shape(info.out_shapes[0])
    for e in g.edges():
        shape = analysis.edge_shape(e) if e.src in analysis.nodes else None
        if shape is not None:
            out[e.key] = fmt_shape(shape)
    return out
