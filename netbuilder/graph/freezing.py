"""What a graph's training keeps fixed or shares: weight sharing between nodes, the
per-node trainable switch (freezing), the graph's weights and per-layer penalties.

A mixin of ``Graph`` (model.py).
"""
from __future__ import annotations

from ..errors import ParamError
from .sharing import check_share, sharing_group
from .weights import GraphWeights


class Freezing:
    """``Graph``'s sharing, freezing and weights."""

    def share(self, node_id: str, target: str | None) -> None:
        """Make ``node_id`` use the module of ``target`` (weight sharing; it takes the target's
        parameters), or a module of its own again (None)."""
        n = self.node(node_id)
        old = n.shares
        if target == old:
            return
        if target is not None:
            check_share(self, node_id, target)
            # NOTE: settings first, while the node is still alone: undoing the link then
            # restores its own settings without reaching the owner through the link.
            self._align(node_id, target)
        n.shares = target
        n.version += 1
        self._touch()
        self.sharing_changed.emit(node_id, old, target)
        self.changed.emit()

    def set_trainable(self, node_id: str, trainable: bool) -> None:
        """Freeze (False) or unfreeze a node; a block's switch covers everything inside it.
        Nodes sharing one module switch together (one module, one set of parameters)."""
        if not isinstance(trainable, bool):
            raise ParamError(f"trainable is true or false, not {trainable!r}", node=node_id,
                             field="trainable")
        self.node(node_id)
        members = [m for m in sharing_group(self, node_id)
                   if self.node(m).trainable != trainable]
        if not members:
            return
        for m in members:
            self.node(m).trainable = trainable
            self.node(m).version += 1
        self._touch()
        for m in members:
            self.trainable_changed.emit(m, trainable)
        self.changed.emit()

    def is_frozen(self, node_id: str) -> bool:
        """Whether the node's parameters stay fixed in training: its own switch, or that of
        a block it lies in."""
        if not self.node(node_id).trainable:
            return True
        if self.parent is not None:
            outer, block = self.parent
            return block in outer and outer.is_frozen(block)
        return False

    def set_weights(self, weights: GraphWeights | None) -> None:
        """Give the graph its weights (``GraphWeights``), or take them away (None)."""
        self.weights = weights
        self.weights_changed.emit()

    def _align(self, node_id: str, target: str) -> None:
        n, t = self.node(node_id), self.node(target)
        own = {p.name for p in n.spec.params if p.per_call}
        changed = {k: v for k, v in t.params.items() if n.params.get(k) != v and k not in own}
        if changed:
            n.params = {**t.params, **{k: n.params.get(k) for k in own}}
            n.version += 1
            self._touch()
            for k, v in changed.items():
                self.param_changed.emit(node_id, k, v)

    def regularizers(self) -> list[tuple[str, float, float]]:
        """``(node name, l1, l2)`` for weight layers with a penalty (read by training)."""
        out = []
        for n in self._nodes.values():
            if n.spec.weight_layer and (n.params.get("l1") or n.params.get("l2")):
                out.append((n.name, n.params["l1"], n.params["l2"]))
        return out
