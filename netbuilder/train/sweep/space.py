"""What a sweep varies: parameter strings parsed into dimensions, checked against the graph and
the training setup, and applied to a copy of both for one trial.

    conv1.out_channels=8,16,32      a node parameter, a list of values
    lr=1e-4..1e-2:log               a training setting, a range (log-uniform)
    epochs=1..3                     whole numbers when both ends are whole
    augmentation.flip=true,false    a nested training setting

A name ``node.param`` names a node of the graph (its value is checked by the layer's spec),
``block.node.param`` a node inside a block (``layer1.0.conv1.out_channels``: only that use of
a shared block definition changes); any other name is a ``TrainingConfig`` setting (checked by
the config). Every value in a list
and both ends of a range are checked before the first trial runs.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from ...errors import NetbuilderError
from ..config import ConfigError, TrainingConfig


class SweepError(NetbuilderError):
    """A sweep definition is wrong; the message names the parameter, objective or file."""


@dataclass(frozen=True)
class Dimension:
    """One thing a sweep varies: ``values`` (a list) or ``low``..``high`` (a range)."""

    name: str
    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def is_range(self) -> bool:
        return self.values is None

    def text(self) -> str:
        """The parameter string this dimension was parsed from (normalised)."""
        if self.values is not None:
            shown = (v if isinstance(v, str) else json.dumps(v) for v in self.values)
            return f"{self.name}={','.join(shown)}"
        return f"{self.name}={self.low:g}..{self.high:g}{':log' if self.log else ''}"

    def ends(self) -> tuple:
        """The values to check before running: every listed value, or both ends."""
        if self.values is not None:
            return self.values
        cast = int if self.integer else float
        return cast(self.low), cast(self.high)

    def suggest(self, trial) -> Any:
        """This dimension's value for an Optuna trial."""
        if self.values is not None:
            return trial.suggest_categorical(self.name, list(self.values))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)


def parse_value(text: str) -> Any:
    """``"16"`` → 16, ``"1e-3"`` → 0.001, ``"true"`` → True, ``"adam"`` → "adam"."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_param(text: str) -> Dimension:
    """``"name=a,b,c"`` or ``"name=low..high[:log]"`` → a Dimension; SweepError otherwise."""
    name, sep, spec = str(text).partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name:
        raise SweepError(f"sweep parameter {text!r}: expected NAME=VALUES, such as "
                         f"conv1.out_channels=8,16,32 or lr=1e-4..1e-2:log")
    if not spec:
        raise SweepError(f"sweep parameter {name!r} has no values after '='")
    if ".." in spec:
        return _parse_range(name, spec)
    values = [parse_value(v) for v in spec.split(",")]
    if any(v == "" for v in values):
        raise SweepError(f"sweep parameter {name!r}: an empty value in {spec!r}")
    if len(set(map(json.dumps, values))) != len(values):
        raise SweepError(f"sweep parameter {name!r} lists a value twice: {spec!r}")
    if not all(v is None or isinstance(v, (bool, int, float, str)) for v in values):
        raise SweepError(f"sweep parameter {name!r}: values must be numbers, true/false or "
                         f"words, not {spec!r}")
    return Dimension(name, values=tuple(values))


def _parse_range(name: str, spec: str) -> Dimension:
    body, _, option = spec.partition(":")
    if option not in ("", "log"):
        raise SweepError(f"sweep parameter {name!r}: unknown range option {option!r} "
                         f"(only ':log' is known)")
    low_text, _, high_text = body.partition("..")
    ends = []
    for end in (low_text, high_text):
        value = parse_value(end)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise SweepError(f"sweep parameter {name!r}: the range {spec!r} needs two numbers, "
                             f"LOW..HIGH, and {end.strip() or 'nothing'!r} is not a number")
        ends.append(value)
    low, high = ends
    if not low < high:
        raise SweepError(f"sweep parameter {name!r}: the range {spec!r} must go from low to "
                         f"high ({low:g} is not below {high:g})")
    if option == "log" and low <= 0:
        raise SweepError(f"sweep parameter {name!r}: a log range needs positive ends, not "
                         f"{spec!r}")
    integer = all(isinstance(v, int) for v in ends)
    return Dimension(name, low=low, high=high, log=option == "log", integer=integer)


def parse_params(texts) -> list[Dimension]:
    dims = [d if isinstance(d, Dimension) else parse_param(d) for d in texts]
    seen: set[str] = set()
    for d in dims:
        if d.name in seen:
            raise SweepError(f"sweep parameter {d.name!r} is given twice")
        seen.add(d.name)
    return dims


_CONFIG_FIELDS = tuple(TrainingConfig.__dataclass_fields__)


def apply(graph, config: TrainingConfig, values: dict) -> tuple[Any, TrainingConfig]:
    """A copy of ``graph`` and ``config`` with ``values`` (name → value) set; SweepError names
    the parameter and the node or setting when a value is refused."""
    from ...graph import from_json, to_json

    g = from_json(to_json(graph))
    changes: dict = {}
    for name, value in values.items():
        head, dot, rest = name.partition(".")
        target = node_at(g, name) if dot and _node_named(g, head) is not None else None
        if target is not None:
            inner, node_id, param = target
            node = inner.node(node_id)
            known = [p.name for p in node.spec.params]
            if param not in known:
                raise SweepError(f"sweep parameter {name!r}: {node.spec.type} node "
                                 f"{name.rpartition('.')[0]!r} has no parameter {param!r}; "
                                 f"its parameters are: {', '.join(known)}")
            try:
                inner.set_param(node_id, param, value)
            except NetbuilderError as exc:
                raise SweepError(f"sweep parameter {name!r}: value {value!r} is refused by "
                                 f"node {name.rpartition('.')[0]!r}: {exc}") from None
        elif head in _CONFIG_FIELDS:
            if dot:
                nested = changes.setdefault(head, _as_dict(getattr(config, head)))
                if not isinstance(nested, dict):
                    raise SweepError(f"sweep parameter {name!r}: the setting {head!r} has no "
                                     f"parts to set")
                nested[rest] = value
            else:
                changes[head] = value
        else:
            raise SweepError(f"sweep parameter {name!r}: no node named {head!r} in graph "
                             f"'{g.name}' and no training setting {head!r} (settings: "
                             f"{', '.join(_CONFIG_FIELDS)})")
    try:
        config = config.replace(**changes)
    except ConfigError as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items() if k.split(".")[0] in changes)
        raise SweepError(f"sweep parameters {shown}: {exc}") from None
    return g, config


def node_at(g, name: str) -> tuple[Any, str, str]:
    """``(graph, node id, parameter)`` of a dotted name: node names from the top level down
    through blocks (``layer1.0.conv1``), then the parameter (``out_channels``).

    NOTE: inside a block whose definition several block nodes use, only the use the path
    names changes (its inner graph then differs from the others'; it compiles as its own)."""
    *names, param = name.split(".")
    graph, where = g, f"graph '{g.name}'"
    for depth, part in enumerate(names):
        node_id = _node_named(graph, part)
        if node_id is None:
            raise SweepError(f"sweep parameter {name!r}: no node named {part!r} in {where}")
        if depth + 1 < len(names):
            inner = graph.node(node_id).inner
            if inner is None:
                raise SweepError(f"sweep parameter {name!r}: node "
                                 f"{'.'.join(names[:depth + 1])!r} is not a block, so it has "
                                 f"no node {names[depth + 1]!r} inside")
            graph, where = inner, f"block {'.'.join(names[:depth + 1])!r}"
    return graph, node_id, param


def block_uses(g, name: str) -> tuple[str, int] | None:
    """``(definition, number of uses)`` of the innermost shared block definition along a
    dotted sweep name, or None when the named node is in no block used more than once."""
    from ...graph.blockdefs import uses_of

    found, graph = None, g
    for part in name.split(".")[:-2]:
        node_id = _node_named(graph, part)
        if node_id is None or graph.node(node_id).inner is None:
            return found
        node = graph.node(node_id)
        if node.definition is not None:
            n = len(uses_of(g, node.definition))
            if n > 1:
                found = (node.definition, n)
        graph = node.inner
    return found


def sweep_scope(g, name: str) -> str:
    """What a dotted sweep name changes, said for a person when it is inside a shared block
    ("" otherwise)."""
    shared = block_uses(g, name)
    if shared is None:
        return ""
    definition, n = shared
    others = n - 1
    rest = f"the other {others} uses keep their value" if others > 1 else \
        "the other use keeps its value"
    return f"only this use of {definition} varies; {rest}"


def _node_named(graph, name: str) -> str | None:
    from ...errors import GraphError

    try:
        return graph.find(name)
    except GraphError:
        return None


def _as_dict(value: Any) -> Any:
    if value is None:  # an optional group that is off (early_stopping): set parts of a new one
        return {}
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return dict(value) if isinstance(value, dict) else value


def check_space(graph, config: TrainingConfig, dims: list[Dimension]) -> None:
    """Check every listed value and both ends of every range against the graph and config."""
    if not dims:
        raise SweepError("a sweep needs at least one parameter to vary (--param NAME=VALUES)")
    for d in dims:
        for value in d.ends():
            apply(graph, config, {d.name: value})


def grid_points(dims: list[Dimension]) -> list[dict]:
    """Every combination of the listed values, first parameter slowest."""
    import itertools

    ranged = [d.name for d in dims if d.is_range]
    if ranged:
        raise SweepError(f"a grid sweep needs lists of values, and {', '.join(ranged)} "
                         f"{'is a range' if len(ranged) == 1 else 'are ranges'}: list the "
                         f"values (lr=1e-4,1e-3,1e-2) or use --strategy random or tpe")
    names = [d.name for d in dims]
    return [dict(zip(names, combo)) for combo in itertools.product(*(d.values for d in dims))]
