"""A graph from ``torch.export.unflatten`` with its pytree bookkeeping taken out.

A submodule whose call signature is preserved (an LSTM cell called as ``cell(x, (h, c))``) is
called in the unflattened graph on ``tree_unflatten(leaves, spec)`` and answers through
``tree_flatten_spec(out, spec)``. Both are rewritten here into what the source said: the call
takes its nested arguments (``(x, (h, c))``) and the flat results become indexing of its
output (``out[0]``, ``out[1]``), which the builder reads like any traced call.
"""
from __future__ import annotations

import operator
from typing import Any

import torch.fx._pytree as fx_pytree
import torch.utils._pytree as pytree
from torch import fx


def _spec(gm: Any, node: Any):
    return getattr(gm, node.target) if isinstance(node, fx.Node) else node


def _item(structure: Any, n: fx.Node) -> Any:
    """What ``structure[index]`` of the getitem ``n`` is, for a structure of fx nodes."""
    return structure[n.args[1]]


def simplify(gm: Any, graph: fx.Graph) -> None:
    """Rewrite ``graph`` (of the unflattened module ``gm``) in place; the ``_spec_*``
    attributes it read are left unused."""
    for n in list(graph.nodes):
        if n.op != "call_function":
            continue
        if n.target is pytree.tree_unflatten:
            leaves, spec = n.args
            _replace_items(n, pytree.tree_unflatten(list(leaves), _spec(gm, spec)))
        elif n.target is fx_pytree.tree_flatten_spec:
            out, spec = n.args
            paths = _leaf_paths(_spec(gm, spec))
            with graph.inserting_after(out):
                leaves = [out if not path else _index(graph, out, path) for path in paths]
            _replace_items(n, leaves)
    for n in reversed(list(graph.nodes)):  # the bookkeeping left without users
        if not n.users and (n.op == "get_attr" or n.target in (
                pytree.tree_unflatten, fx_pytree.tree_flatten_spec)):
            graph.erase_node(n)
    graph.lint()


def _index(graph: fx.Graph, node: fx.Node, path: tuple) -> fx.Node:
    for i in path:
        node = graph.call_function(operator.getitem, (node, i))
    return node


def _leaf_paths(spec) -> list[tuple]:
    """The index path of each leaf of ``spec`` (a tuple of a tuple: ``(1, 0)``)."""
    if spec.is_leaf():
        return [()]
    out = []
    for i, child in enumerate(spec.children()):
        out += [(i, *p) for p in _leaf_paths(child)]
    return out


def _replace_items(n: fx.Node, structure: Any) -> None:
    """Each ``n[i]`` (and ``n[i][j]``) becomes the matching part of ``structure``; a user
    other than indexing takes the structure itself."""
    for user in list(n.users):
        if user.op == "call_function" and user.target is operator.getitem and \
                user.args[0] is n:
            part = _item(structure, user)
            if isinstance(part, fx.Node):
                user.replace_all_uses_with(part)
            else:
                _replace_items(user, part)
            user.graph.erase_node(user)
        else:
            user.replace_input_with(n, structure) if isinstance(structure, fx.Node) else \
                _substitute(user, n, structure)


def _substitute(user: fx.Node, old: fx.Node, structure: Any) -> None:
    def swap(a):
        return structure if a is old else a

    user.args = fx.node.map_aggregate(user.args, swap)
    user.kwargs = fx.node.map_aggregate(user.kwargs, swap)
