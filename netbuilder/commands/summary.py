"""``netbuilder summary FILE``: a torchinfo-like table of layers, shapes, parameters and MACs."""
from __future__ import annotations

import argparse

from .common import (
    add_trust_argument,
    diagnostic_dict,
    format_table,
    grouped,
    human_bytes,
    human_count,
    load_graph,
    positive_int,
    print_json,
)

NAME = "summary"
HELP = "print a table of layers, output shapes, parameters and MACs, with totals"

_INDENT = "  "


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                        help="batch size for the activation memory and MAC totals (default 1)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_trust_argument(parser)


def layer_rows(graph, analysis, depth: int = 0, block: str | None = None) -> list[dict]:
    """One dict per node in topological order; a block's inner nodes follow it, one level
    deeper (their Input and Output nodes are the block's ports, so they are left out)."""
    from ..graph import fmt_shape

    rows = []
    for nid in analysis.order:
        node, info = graph.node(nid), analysis.nodes[nid]
        if depth and node.is_boundary:
            continue
        shapes = [list(s) if s is not None else None for s in info.out_shapes]
        rows.append({
            "id": nid, "name": node.name, "type": node.type, "depth": depth, "block": block,
            "output_shapes": shapes,
            "output_shape": "; ".join(fmt_shape(s) if s is not None else "?"
                                      for s in info.out_shapes) or "-",
            "params": info.params, "trainable": info.trainable, "macs": info.macs,
            "frozen": graph.is_frozen(nid),
            "error": info.error,
            # a shared module: its parameters are counted on the node that owns it
            "shares": graph.node(node.shares).name if node.shares in graph else None,
        })
        if info.inner is not None and node.inner is not None:
            rows += layer_rows(node.inner, info.inner, depth + 1, nid)
    return rows


def summarize(path: str, batch_size: int = 1, trust: bool = False) -> dict:
    """Everything the summary shows, as ``--json`` prints it."""
    graph = load_graph(path, trust)
    analysis = graph.analyze()
    diags = graph.check()
    params, trainable = analysis.total_params, analysis.total_trainable
    from ..compile.weights import weights_status

    weights = weights_status(graph)
    if weights is not None and weights.problem is not None:
        from ..graph import Diagnostic

        diags.append(Diagnostic("error", None, weights.problem))
    return {
        "file": path, "name": graph.name, "batch_size": batch_size,
        "layers": layer_rows(graph, analysis),
        "totals": {
            "params": params, "trainable": trainable, "non_trainable": params - trainable,
            "macs_per_sample": analysis.total_macs,
            "macs_per_batch": analysis.total_macs * batch_size,
            "param_bytes": analysis.param_bytes(),
            "activation_bytes": analysis.activation_bytes(batch_size),
        },
        "weights": weights.as_dict() if weights is not None else None,
        "ok": not any(d.is_error for d in diags),
        "diagnostics": [diagnostic_dict(graph, d) for d in diags],
    }


def render(report: dict) -> list[str]:
    rows = []
    for r in report["layers"]:
        shape = "(error)" if r["error"] else r["output_shape"]
        params = f"shares {r['shares']}" if r.get("shares") else grouped(r["params"])
        if r.get("frozen") and r["params"]:
            params += " (frozen)"
        rows.append([_INDENT * r["depth"] + r["name"], r["type"], shape, params,
                     human_count(r["macs"]) if r["macs"] else "-"])
    table = format_table(["Layer", "Type", "Output shape", "Param #", "MACs"], rows,
                         [False, False, False, True, True])
    t = report["totals"]
    n = report["batch_size"]
    macs = f"{human_count(t['macs_per_sample'])} per sample"
    if n > 1:
        macs += f", {human_count(t['macs_per_batch'])} per batch of {n}"
    lines = [f"Model: {report['name']} ({report['file']})", *table,
             f"Total params: {grouped(t['params'])} ({human_count(t['params'])})",
             f"Trainable params: {grouped(t['trainable'])}",
             f"Non-trainable params: {grouped(t['non_trainable'])}",
             weights_line(report.get("weights")),
             f"MACs: {macs}",
             f"Parameter memory: {human_bytes(t['param_bytes'])}",
             f"Activation memory (batch {n}): {human_bytes(t['activation_bytes'])}"]
    lines += [f"{d['severity']}: {d['message']}" for d in report["diagnostics"]]
    return lines


def weights_line(weights: dict | None) -> str:
    """What the graph starts from: its weights file (and whether it fits), or nothing."""
    if weights is None:
        return "Weights: none (training starts from a fresh initialisation)"
    if not weights["ok"]:
        return f"Weights: {weights['file']}: see the error below"
    fresh = weights.get("fresh") or []
    new = f"; new layers, freshly initialised: {', '.join(fresh)}" if fresh else ""
    return (f"Weights: {weights['file']} ({weights['tensors']} tensors, "
            f"{grouped(weights['values'])} values; they fit the graph{new})")


def run(args: argparse.Namespace) -> int:
    report = summarize(args.file, args.batch_size, args.trust)
    if args.json:
        print_json(report)
    else:
        print("\n".join(render(report)))
    return 0 if report["ok"] else 1
