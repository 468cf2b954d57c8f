"""Shared modules (weight sharing): a node may use the module of another node of its type.

Both nodes call the same attribute in the generated code (``self.encoder(x1)``,
``self.encoder(x2)``), the parameters count once, and a parameter edit on either applies to
both. A block may share a block whose inner graph has the same ports (a siamese tower
called on two images): one instance, called twice. NOTE: links are one level deep: the
owner shares nothing, and a node that others share cannot share in turn, so a group is an
owner and the nodes that name it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import GraphError

if TYPE_CHECKING:
    from .model import Graph


def check_share(g: Graph, node_id: str, target: str) -> None:
    """Raise GraphError (naming the node and field ``shares``) unless ``node_id`` may use the
    module of ``target``."""
    n = g.node(node_id)

    def fail(why: str) -> GraphError:
        return GraphError(f"{n.label} cannot share the module of {why}", node=node_id,
                          field="shares")

    if not isinstance(target, str) or target not in g:
        raise fail(f"node {target!r}: there is no such node in this graph")
    t = g.node(target)
    if target == node_id:
        raise fail("itself")
    if n.is_boundary or n.spec.source or (n.inner is None) != (t.inner is None):
        raise fail(f"{t.label}: only layers share modules, and blocks blocks (not inputs or "
                   f"outputs)")
    if n.inner is not None and (len(n.inner.inputs()), len(n.inner.outputs())) != \
            (len(t.inner.inputs()), len(t.inner.outputs())):
        raise fail(f"{t.label}: a block shares only a block with as many inputs and outputs")
    if t.type != n.type:
        raise fail(f"{t.label}: a node shares only a layer of its own type ({n.type})")
    if t.shares is not None:
        raise fail(f"{t.label}, which itself shares {g.node(t.shares).label}: share "
                   f"{g.node(t.shares).label} directly")
    sharers = sharers_of(g, node_id)
    if sharers:
        raise fail(f"{t.label}: {g.node(sharers[0]).label} shares {n.label}'s module")


def sharers_of(g: Graph, node_id: str) -> list[str]:
    """Nodes that use ``node_id``'s module."""
    return [m.id for m in g.nodes() if m.shares == node_id]


def sharing_group(g: Graph, node_id: str) -> list[str]:
    """``node_id`` and every node that shares a module with it (the owner first)."""
    owner = g.node(node_id).shares or node_id
    return [owner, *sharers_of(g, owner)]
