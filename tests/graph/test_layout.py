"""Auto-layout: layers left to right; long graphs fold into bands only where one wire crosses."""
import netbuilder as nb
from netbuilder.graph.layout import WRAP_COLUMNS, WRAP_MAX, band_starts, layered_positions


def chain(n_layers: int) -> tuple[nb.Graph, list[str]]:
    g = nb.Graph("chain")
    ids = [g.add("Input", "x", shape=(4,))]
    for _ in range(n_layers - 1):
        ids.append(g.add("ReLU"))
        g.connect(ids[-2], ids[-1])
    return g, ids


def residual_net(blocks: int) -> nb.Graph:
    """x → stem → [conv → relu → conv → add(+ skip) → relu] × blocks → fc."""
    g = nb.Graph("resnet")
    prev = g.add("Input", "x", shape=(4, 8, 8))
    stem = g.add("Conv2d", out_channels=4, kernel_size=3, padding=1)
    g.connect(prev, stem)
    prev = stem
    for _ in range(blocks):
        a = g.add("Conv2d", out_channels=4, kernel_size=3, padding=1)
        r = g.add("ReLU")
        b = g.add("Conv2d", out_channels=4, kernel_size=3, padding=1)
        add = g.add("Add")
        out = g.add("ReLU")
        for src, dst in ((prev, a), (a, r), (r, b), (b, add), (prev, add), (add, out)):
            g.connect(src, dst)
        prev = out
    fc = g.add("Flatten")
    g.connect(prev, fc)
    return g


def bands_of(pos: dict) -> list[float]:
    return sorted({y for _, y in pos.values()})


def test_a_short_chain_stays_on_one_row_in_order():
    g, ids = chain(WRAP_MAX)
    pos = layered_positions(g)
    assert len({y for _, y in pos.values()}) == 1
    assert [pos[i][0] for i in ids] == sorted(pos[i][0] for i in ids)


def test_a_long_chain_folds_into_bands_like_lines_of_text():
    g, ids = chain(14)  # LeNet-5's length
    pos = layered_positions(g)
    rows = [[i for i in ids if pos[i][1] == y] for y in bands_of(pos)]
    assert [len(r) for r in rows] == [WRAP_COLUMNS, WRAP_COLUMNS, 4]
    assert sum(rows, []) == ids  # reading order follows the chain
    assert all(pos[r[0]][0] == 0.0 for r in rows)  # every band starts at the left
    assert layered_positions(g, wrap=None)[ids[-1]][1] == pos[ids[0]][1]  # no wrap: one row


def test_bands_never_cut_through_a_residual_block():
    g = residual_net(4)  # 23 layers deep: it must wrap
    pos = layered_positions(g)
    band = {nid: bands_of(pos).index(y) for nid, (_, y) in pos.items()}
    n_bands = len(set(band.values()))
    assert n_bands >= 3
    between = [e for e in g.edges() if band[e.src] != band[e.dst]]
    # one wire from each band to the next, and no skip wire leaves its band
    assert len(between) == n_bands - 1
    assert all(band[e.dst] == band[e.src] + 1 for e in between)
    for b in range(n_bands):
        width = len({pos[n][0] for n in pos if band[n] == b})
        assert width <= WRAP_MAX


def test_band_starts_cuts_anyway_where_no_single_wire_crosses():
    # every layer reached by two wires from before it: no clean place; cut at the usual width
    spans = [(i, i + 1) for i in range(19)] + [(i, i + 2) for i in range(18)]
    assert band_starts(20, spans, WRAP_COLUMNS, WRAP_MAX) == [0, 5, 10, 15]
    # a clean cut a little past the usual width is taken rather than a cut through a branch
    spans = [(i, i + 1) for i in range(11)] + [(0, 6)]
    assert band_starts(12, spans, 5, 7) == [0, 7]
