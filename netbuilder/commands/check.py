"""``netbuilder check FILE...``: the graph's diagnostics; exit 1 if any is an error."""
from __future__ import annotations

import argparse
import sys

from .common import (
    add_trust_argument,
    diagnostic_dict,
    grouped,
    load_graph,
    one_line,
    plural,
    print_json,
)

NAME = "check"
HELP = "list a graph file's problems (exit status 1 if there is an error)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="graph file(s) (.json)")
    parser.add_argument("--json", action="store_true",
                        help="machine-readable output (an object; a list for several files)")
    add_trust_argument(parser)


def check_file(path: str, trust: bool = False) -> dict:
    """The report of one file: what ``--json`` prints for it."""
    from ..graph import Diagnostic
    from ..graph.trust import untrusted_warnings
    from ..train.memory import settings_memory_warning
    from ..train.tasks import graph_check
    from ..train.validation import training_problem

    graph = load_graph(path, trust)
    diags = graph_check(graph)  # the gaps the graph's training task cannot train with: errors
    diags += untrusted_warnings(graph)
    problem = training_problem(graph)  # the settings train and export would refuse
    if problem is not None:
        diags.append(Diagnostic("error", None, problem))
    from ..compile.weights import weights_status

    weights = weights_status(graph)
    if weights is not None and weights.problem is not None:
        diags.append(Diagnostic("error", None, weights.problem))
    analysis = graph.analyze()
    errors = sum(d.is_error for d in diags)
    found = [diagnostic_dict(graph, d) for d in diags]
    memory = settings_memory_warning(analysis.total_params, graph.training)
    if memory is not None:
        found.append({"severity": "warning", "node": None, "node_name": None, "message": memory})
    return {
        "file": path, "name": graph.name, "ok": errors == 0, "errors": errors,
        "warnings": sum(d["severity"] == "warning" for d in found),
        "nodes": len(graph), "parameters": analysis.total_params,
        "trainable": analysis.total_trainable,
        "frozen": analysis.total_params - analysis.total_trainable,
        "weights": weights.as_dict() if weights is not None else None,
        "diagnostics": found,
    }


def _print_report(report: dict) -> None:
    for d in report["diagnostics"]:
        print(f"{d['severity']}: {d['message']}")
    size = f"{plural(report['nodes'], 'node')}, {grouped(report['parameters'])} parameters"
    if report.get("frozen"):
        size += f": trainable {grouped(report['trainable'])} / frozen {grouped(report['frozen'])}"
    weights = report.get("weights")
    if weights and weights["ok"]:
        size += f"; weights {weights['file']} ({weights['tensors']} tensors)"
    if report["ok"]:
        extra = f" with {plural(report['warnings'], 'warning')}" if report["warnings"] else ""
        print(f"{report['file']}: OK{extra} ({size})")
    else:
        found = plural(report["errors"], "error")
        if report["warnings"]:
            found += f", {plural(report['warnings'], 'warning')}"
        print(f"{report['file']}: {found} ({size})")


def run(args: argparse.Namespace) -> int:
    from ..errors import NetbuilderError

    reports, status = [], 0
    for path in args.files:
        if len(args.files) == 1:
            report = check_file(path, args.trust)  # a bad file: one line on stderr from the CLI
        else:
            try:
                report = check_file(path, args.trust)
            except NetbuilderError as exc:  # report it and go on with the other files
                print(f"netbuilder: error: {one_line(str(exc))}", file=sys.stderr)
                reports.append({"file": path, "ok": False, "errors": 1, "warnings": 0,
                                "diagnostics": [{"severity": "error", "node": None,
                                                 "node_name": None,
                                                 "message": one_line(str(exc))}]})
                status = 1
                continue
        reports.append(report)
        status = max(status, 0 if report["ok"] else 1)
        if not args.json:
            _print_report(report)
    if args.json:
        print_json(reports[0] if len(args.files) == 1 else reports)
    return status
