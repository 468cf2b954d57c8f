"""Auto-layout: a layered drawing top to bottom; the main chain straight, skip wires beside
what they skip, few crossings; left to right on request."""
import time

import pytest

import netbuilder as nb
from netbuilder.graph.layout import layered_layout, layered_positions


def chain(n_layers: int) -> tuple[nb.Graph, list[str]]:
    g = nb.Graph("chain")
    ids = [g.add("Input", "x", shape=(4,))]
    for _ in range(n_layers - 1):
        ids.append(g.add("ReLU"))
        g.connect(ids[-2], ids[-1])
    return g, ids


def residual_net(blocks: int) -> tuple[nb.Graph, list[str]]:
    """x → stem → [conv → relu → conv → add(+ skip) → relu] × blocks → fc; and its main chain."""
    g = nb.Graph("resnet")
    prev = g.add("Input", "x", shape=(4, 8, 8))
    stem = g.add("Conv2d", out_channels=4, kernel_size=3, padding=1)
    g.connect(prev, stem)
    main = [prev, stem]
    prev = stem
    for _ in range(blocks):
        a = g.add("Conv2d", out_channels=4, kernel_size=3, padding=1)
        r = g.add("ReLU")
        b = g.add("Conv2d", out_channels=4, kernel_size=3, padding=1)
        add = g.add("Add")
        out = g.add("ReLU")
        for src, dst in ((prev, a), (a, r), (r, b), (b, add), (prev, add), (add, out)):
            g.connect(src, dst)
        main += [a, r, b, add, out]
        prev = out
    fc = g.add("Flatten")
    g.connect(prev, fc)
    return g, main + [fc]


def inception(branches: int = 4) -> nb.Graph:
    g = nb.Graph("inception")
    x = g.add("Input", "x", shape=(4, 8, 8))
    cat = g.add("Concat")
    for i in range(branches):
        prev = x
        for _ in range(i % 3 + 1):
            c = g.add("Conv2d", out_channels=4, kernel_size=1)
            g.connect(prev, c)
            prev = c
        g.connect(prev, cat)
    return g


def rects(layout) -> dict:
    return {nid: (x, y, x + layout.sizes[nid][0], y + layout.sizes[nid][1])
            for nid, (x, y) in layout.positions.items()}


def segment_hits_rect(a, b, r, inset=1.0) -> bool:
    """Whether segment a-b passes through the inside of rectangle r (sampled finely)."""
    x0, y0, x1, y1 = r[0] + inset, r[1] + inset, r[2] - inset, r[3] - inset
    for k in range(201):
        t = k / 200
        x, y = a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t
        if x0 < x < x1 and y0 < y < y1:
            return True
    return False


def test_a_chain_runs_straight_down_in_order():
    g, ids = chain(14)
    pos = layered_positions(g)
    assert len({pos[i][0] for i in ids}) == 1  # one column
    ys = [pos[i][1] for i in ids]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)


def test_left_to_right_is_still_an_option():
    g, ids = chain(6)
    pos = layered_positions(g, direction="right")
    assert len({pos[i][1] for i in ids}) == 1
    xs = [pos[i][0] for i in ids]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    with pytest.raises(ValueError, match="direction must be one of"):
        layered_positions(g, direction="up")


def test_a_residual_block_has_no_crossings_and_its_skip_passes_beside_the_nodes():
    g, main = residual_net(1)
    layout = layered_layout(g)
    assert layout.crossings == 0
    pos = layout.positions
    assert {pos[i][0] for i in main} == {pos[main[0]][0]}  # the main chain is straight
    skip = [pts for e, pts in layout.routes if len(pts) > 2]
    assert len(skip) == 1  # the stem → add wire goes through dummy points
    boxes = rects(layout)
    for e, pts in layout.routes:
        for a, b in zip(pts, pts[1:]):
            for nid, r in boxes.items():
                if nid not in (e.src, e.dst):
                    assert not segment_hits_rect(a, b, r), (g.node(e.src).name, g.node(nid).name)
    # the skip wire runs beside the spine, not behind it
    xs = {p[0] for p in skip[0][1:-1]}
    assert len(xs) == 1 and xs.pop() > pos[main[0]][0] + layout.sizes[main[0]][0]


def test_a_deep_residual_network_reads_top_to_bottom_with_a_straight_spine():
    g, main = residual_net(16)  # ResNet-50-like depth: 80+ nodes on the main chain
    layout = layered_layout(g)
    assert layout.crossings == 0
    assert len({layout.positions[i][0] for i in main}) == 1
    ys = [layout.positions[i][1] for i in main]
    assert ys == sorted(ys)
    # no two nodes overlap
    boxes = sorted(rects(layout).values())
    for a, b in zip(boxes, boxes[1:]):
        assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_branches_stand_side_by_side_and_meet_without_crossings():
    g = inception(4)
    layout = layered_layout(g)
    assert layout.crossings == 0
    x_in = layout.positions[g.find("x")]
    firsts = [e.dst for e in g.out_edges(g.find("x"))]
    row = {layout.positions[f][1] for f in firsts}
    assert len(row) == 1 and row.pop() > x_in[1]  # all four start one rank below the input
    assert len({layout.positions[f][0] for f in firsts}) == 4


def test_the_layout_is_deterministic():
    g, _ = residual_net(3)
    first = layered_layout(g)
    again = layered_layout(g)
    assert first.positions == again.positions
    assert [pts for _, pts in first.routes] == [pts for _, pts in again.routes]


def test_auto_layout_moves_the_nodes_of_the_graph():
    g, ids = chain(3)
    nb.auto_layout(g)
    assert [g.node(i).pos for i in ids] == [layered_positions(g)[i] for i in ids]


def test_a_thousand_node_graph_is_laid_out_quickly():
    g, main = residual_net(200)  # 1,003 nodes
    assert len(g) > 1000
    start = time.perf_counter()
    layout = layered_layout(g)
    assert time.perf_counter() - start < 20.0
    assert len({layout.positions[i][0] for i in main}) == 1


def test_crossing_reduction_untangles_a_scrambled_order():
    import random

    import networkx as nx

    from netbuilder.graph.layering import build_layering, count_crossings, reduce_crossings

    g = inception(6)
    dag = nx.DiGraph([(e.src, e.dst) for e in g.edges()])
    lay = build_layering(dag, [(e.src, e.dst) for e in g.edges()])
    assert count_crossings(lay) == 0
    rng = random.Random(7)
    for rank in lay.ranks:
        rng.shuffle(rank)
    scrambled = count_crossings(lay)
    assert scrambled > 5
    reduce_crossings(lay)
    assert count_crossings(lay) == 0


def test_a_constant_input_sits_just_above_its_consumer():
    g, main = residual_net(2)
    bias = g.add("Input", "bias", shape=(4, 8, 8))
    add = g.add("Add")
    g.connect(main[-2], add)
    g.connect(bias, add)
    layout = layered_layout(g)
    ranks = sorted({y for _, y in layout.positions.values()})
    assert ranks.index(layout.positions[bias][1]) == ranks.index(layout.positions[add][1]) - 1
