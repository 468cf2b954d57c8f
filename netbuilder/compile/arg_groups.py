"""Inputs and Outputs that are parts of one tuple (``group``): an LSTM's state ``(h, c)``
arrives as one argument of ``forward`` and leaves as one element of its result, as in
``forward(self, x, hidden) -> (scores, (h_n, c_n))``."""
from __future__ import annotations

from ..graph import Graph


def group_of(graph: Graph, nid: str) -> str:
    """The tuple an Input or Output node is part of ("" when it stands alone: no group, or a
    group no other node of its kind shares — a tuple of one is not worth a tuple)."""
    group = _group_text(graph, nid)
    if not group:
        return ""
    node = graph.node(nid)
    kin = graph.inputs() if node.is_input else [o for o in graph.outputs()
                                                 if graph.node(o).is_output]
    return group if sum(_group_text(graph, k) == group for k in kin) > 1 else ""


def _group_text(graph: Graph, nid: str) -> str:
    return str(graph.node(nid).params.get("group") or "")


def grouped_parameters(graph: Graph, inputs: list[str], params: list[str], names
                       ) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """``forward``'s parameters with each group's members replaced by one tuple parameter,
    the lines that unpack it (``h, c = hidden``), and each tuple parameter's member Input ids.
    ``inputs`` are the Input ids whose variables ``params`` holds, in order; ``names`` is the
    class's namespace (a group's text is only a hint for its parameter's name)."""
    out, unpack, members, ids = [], [], {}, {}
    for nid, var in zip(inputs, params):
        group = group_of(graph, nid)
        if not group:
            out.append(var)
            continue
        tuple_var = names.create(("group", group), group)
        if tuple_var not in members:
            members[tuple_var], ids[tuple_var] = [], []
            out.append(tuple_var)
        members[tuple_var].append(var)
        ids[tuple_var].append(nid)
    for tuple_var, vars_ in members.items():
        unpack.append(f"{', '.join(vars_)}{',' if len(vars_) == 1 else ''} = {tuple_var}")
    return out + params[len(inputs):], unpack, ids


def grouped_outputs(graph: Graph, outputs: list[tuple[str, str]]) -> list[str]:
    """The returned expressions: ``(node id, variable)`` pairs, a group's consecutive members
    joined in one tuple (``(rnn_h_n, rnn_c_n)``)."""
    runs: list[tuple[str, list[str]]] = []
    for nid, var in outputs:
        group = group_of(graph, nid) if graph.node(nid).is_output else ""
        if group and runs and runs[-1][0] == group:
            runs[-1][1].append(var)
        else:
            runs.append((group, [var]))
    return [vars_[0] if not group else f"({', '.join(vars_)}{',' if len(vars_) == 1 else ''})"
            for group, vars_ in runs]


def example_group(members: list[str], sample) -> str:
    """``__main__``'s example of a tuple argument: each member Input's example, in a tuple."""
    parts = [sample(nid) for nid in members]
    return f"({', '.join(parts)}{',' if len(parts) == 1 else ''})"


__all__ = ["example_group", "group_of", "grouped_outputs", "grouped_parameters"]
