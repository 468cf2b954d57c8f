"""What an fx node is in graph terms (``Value``), and the wiring every importer step shares:
fresh node ids and names, adding a node, finding the graph port of a tensor argument."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx

from ..errors import NetbuilderError
from ..layers import get_spec
from .fx_names import assigned_name, describe, node_name


@dataclass
class Value:
    """What an fx node produced, in graph terms."""

    # tensor | rnn | rnn_seq | rnn_hidden | rnn_hn | rnn_part | mha | tuple | noise | helper | bad
    kind: str
    node: str | None = None
    port: str | None = None
    ports: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)


BAD = Value("bad")
HELPER = Value("helper")


class Wiring:
    """Value bookkeeping and node wiring of one graph under construction (the ``Builder``'s
    base: ``self.s`` the session, ``self.g`` the graph, ``self.values`` the fx node values)."""

    # --- small helpers ---------------------------------------------------------------------

    def new_id(self) -> str:
        nid = f"n{self._next}"
        self._next += 1
        return nid

    def name_for(self, wanted: str) -> str:
        base = node_name(wanted)
        taken = {n.name for n in self.g.nodes()}
        name, i = base, 1
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        return name

    def add(self, type_: str, name: str, params: dict, fxn: fx.Node, **kw) -> str | None:
        try:
            return self.g.add(type_, self.name_for(name), id=self.new_id(), **kw, **params)
        except NetbuilderError as exc:
            self.s.problem(f"{type_} '{name}': {exc}", fxn)
            return None

    def tensor(self, arg: Any, fxn: fx.Node) -> tuple[str, str] | None:
        """``(node, port)`` of a tensor argument; None (reported) when it is not one."""
        v = arg if isinstance(arg, Value) else \
            self.values.get(arg) if isinstance(arg, fx.Node) else None
        if v is None:
            what = describe(fxn, self.module)
            self.s.problem(f"{what} with the constant {arg!r} as an input", fxn)
            return None
        if v.kind == "rnn_seq":
            self.rnn_usage.setdefault(v.node, {}).setdefault("sequence", fxn)
            return (v.node, "out")
        if v.kind == "tensor":
            return (v.node, v.port)
        if v.kind == "rnn_part":
            self.s.problem("a part of a bidirectional recurrent output: only both directions' "
                           "final states, concatenated, have a layer (output 'last')", fxn)
        elif v.kind == "noise":
            self.s.problem("torch.rand other than as uniform noise in [-1, 1] "
                           "(torch.rand(...) * 2 - 1)", fxn)
        elif v.kind != "bad":
            self.s.problem(f"{describe(fxn, self.module)} on a value that is not a tensor", fxn)
        return None

    def tuple_part(self, arg: fx.Node, index: int, fxn: fx.Node) -> tuple[str, str] | None:
        """``(node, port)`` of part ``index`` of the tuple ``arg`` (a block's outputs)."""
        v = self.values.get(arg, BAD)
        if v.kind == "tuple" and -len(v.ports) <= index < len(v.ports):
            return (v.node, v.ports[index])
        if v.kind != "bad":
            self.s.problem(f"{describe(fxn, self.module)} on a tuple no node returns as its "
                           f"outputs", fxn)
        return None

    def connect_all(self, nid: str, fxn: fx.Node, inputs: list, ports: list | None = None
                    ) -> bool:
        srcs = [self.tensor(a, fxn) for a in inputs]
        if any(s is None for s in srcs):
            return False
        seen = set()
        for i, (src, port) in enumerate(srcs):
            dst_port = ports[i] if ports else None
            if (src, port, dst_port) in seen:
                self.s.problem(f"{describe(fxn, self.module)} uses the same tensor twice "
                               f"(x + x): compute it once with a layer instead", fxn)
                return False
            seen.add((src, port, dst_port))
            self.g.connect(src, nid, port, dst_port)
        return True

    def layer(self, fxn: fx.Node, type_: str, params: dict, inputs: list, name: str | None = None,
              ports: list | None = None) -> Value:
        if any(self.values.get(a) is BAD for a in inputs if isinstance(a, fx.Node)):
            return BAD
        rule = get_spec(type_).rank
        x = self.rec.values.get(inputs[0]) if inputs and isinstance(inputs[0], fx.Node) else None
        if rule is not None and rule.unless and isinstance(x, torch.Tensor) and \
                x.dim() - 1 not in rule.ranks:  # torch's layer takes this rank: say so
            params = {**params, rule.unless: True}
        nid = self.add(type_, name or assigned_name(fxn) or fxn.name, params, fxn)
        if nid is None or not self.connect_all(nid, fxn, inputs, ports):
            return BAD
        outputs = get_spec(type_).outputs_for(params)  # a stateful LSTM: out, h_n, c_n
        value = self.rec.values.get(fxn)
        if len(outputs) > 1 and isinstance(value, (tuple, list)):  # chunk, split: one per part
            return Value("tuple", nid, ports=[o.name for o in outputs[:len(value)]])
        return Value("tensor", nid, outputs[0].name)
