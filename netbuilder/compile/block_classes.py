"""One class for many uses of a block: constructor arguments for what differs between them.

The ``__init__`` text of each use (each repetition of a repeated block too) is generated as
usual; where the texts differ only in literals (``nn.Conv2d(64, 128, ...)`` against
``nn.Conv2d(128, 256, ...)``), each differing literal becomes an argument of one class, named
after the parameter it fills (``out_channels``, ``stride``). Literals that vary together become
one argument. Texts that differ in more than literals need classes of their own.

NOTE: working on the generated text keeps the class right whatever the graph holds: a value
inferred from shapes (``in_channels``) varies between uses exactly like a parameter.
"""
from __future__ import annotations

import inspect
import io
import tokenize
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..layers import modules as helper_modules
from .naming import Namespace

_LITERAL_NAMES = ("True", "False", "None")
_SKIP = (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER,
         tokenize.COMMENT)


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    return [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type not in _SKIP]


def _is_literal(t: tokenize.TokenInfo) -> bool:
    return t.type in (tokenize.NUMBER, tokenize.STRING) or (
        t.type == tokenize.NAME and t.string in _LITERAL_NAMES)


def skeleton(text: str) -> tuple:
    """The text with its literals masked: uses with equal skeletons share one class."""
    return tuple("#" if _is_literal(t) else t.string for t in _tokens(text))


@dataclass
class Generalized:
    """The shared text with argument names in it, the ``__init__`` parameters after ``self``,
    and the constructor arguments of each use."""

    text: str
    signature: list[str]
    calls: list[str]
    names: list[str]


def generalize(texts: list[str], hint: Callable[[str | None, str | None], str | None],
               classes: dict[str, list[str]]) -> Generalized:
    """``texts`` (equal skeletons) as one text with arguments. ``hint(attribute, parameter)``
    may name an argument (a block definition's own names); ``classes`` gives the argument
    names of classes generated before (a block inside a block)."""
    toks = [_tokens(t) for t in texts]
    first = toks[0]
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(first):
        if _is_literal(t):
            vec = tuple(ts[i].string for ts in toks)
            if len(set(vec)) > 1:
                groups.setdefault(vec, []).append(i)
    names = Namespace()
    required, optional = [], []
    replace: dict[int, str] = {}
    for vec, idxs in groups.items():
        attr, param, keyword = _context(first, idxs[0], classes)
        name = names.create(vec, hint(attr, param) or param or "value")
        for i in idxs:
            replace[i] = name
        if keyword:
            default = Counter(vec).most_common(1)[0][0]
            optional.append((name, vec, default))
        else:
            required.append((name, vec))
    text = _substitute(texts[0], first, replace)
    signature = [n for n, _ in required] + [f"{n}={d}" for n, _, d in optional]
    calls = []
    for k in range(len(texts)):
        args = [vec[k] for _, vec in required]
        args += [f"{n}={vec[k]}" for n, vec, d in optional if vec[k] != d]
        calls.append(", ".join(args))
    return Generalized(text, signature, calls, [n for n, _ in required] +
                       [n for n, _, _ in optional])


def _substitute(text: str, toks: list[tokenize.TokenInfo], replace: dict[int, str]) -> str:
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    out = text
    for i in sorted(replace, reverse=True):  # from the end: earlier offsets stay valid
        (r0, c0), (r1, c1) = toks[i].start, toks[i].end
        a, b = starts[r0 - 1] + c0, starts[r1 - 1] + c1
        out = out[:a] + replace[i] + out[b:]
    return out


def _context(toks, i: int, classes: dict) -> tuple[str | None, str | None, bool]:
    """``(attribute, parameter, is keyword)`` of the literal at ``i``: the ``self.<attr> =``
    line it is on and the parameter it fills (``stride=2``, or a call's n-th positional)."""
    attr = None
    for j in range(i, 2, -1):
        if toks[j - 3].string == "self" and toks[j - 2].string == "." and \
                toks[j].string == "=" and toks[j - 1].type == tokenize.NAME:
            attr = toks[j - 1].string
            break
    j, depth, pos = i - 1, 0, 0
    if toks[j].string == "=" and j > 0 and toks[j - 1].type == tokenize.NAME:
        return attr, toks[j - 1].string, True
    while j >= 0:  # the bracket the literal is in, and its place among the arguments
        s = toks[j].string
        if s in (")", "]"):
            depth += 1
        elif s in ("(", "["):
            if depth == 0:
                break
            depth -= 1
        elif s == "," and depth == 0:
            pos += 1
        j -= 1
    if j <= 0:
        return attr, None, False
    before = toks[j - 1]
    if before.string == "=" and j > 1 and toks[j - 2].type == tokenize.NAME:
        return attr, toks[j - 2].string, True  # an element of kernel_size=(3, 3)
    if before.type != tokenize.NAME or toks[j].string != "(":
        return attr, None, False
    dotted = [before.string]
    k = j - 2
    while k > 0 and toks[k].string == "." and toks[k - 1].type == tokenize.NAME:
        dotted.insert(0, toks[k - 1].string)
        k -= 2
    return attr, _positional_name(dotted, pos, classes), False


def _positional_name(dotted: list[str], pos: int, classes: dict) -> str | None:
    if len(dotted) == 1 and dotted[0] in classes:
        names = classes[dotted[0]]
        return names[pos] if pos < len(names) else None
    scope = {"nn": nn, "torch": torch}
    obj = scope.get(dotted[0]) or getattr(helper_modules, dotted[0], None)
    for part in dotted[1:]:
        obj = getattr(obj, part, None)
    if obj is None:
        return None
    try:
        params = [p for p in inspect.signature(obj).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return None
    return params[pos].name if pos < len(params) else None


def drop_defaults(text: str, kept: dict) -> str:
    """Leave out again the keyword values that equal their defaults (``keeping_defaults``
    wrote them so that uses compare value by value) unless they became arguments."""
    if not kept:
        return text
    toks = _tokens(text)
    calls: list[str | None] = []
    spans = []
    i = 0
    while i < len(toks):
        s = toks[i].string
        if s in ("(", "["):
            dotted = None
            if s == "(" and i and toks[i - 1].type == tokenize.NAME:
                parts, k = [toks[i - 1].string], i - 2
                while k > 0 and toks[k].string == "." and toks[k - 1].type == tokenize.NAME:
                    parts.insert(0, toks[k - 1].string)
                    k -= 2
                dotted = ".".join(parts)
            calls.append(dotted)
        elif s in (")", "]"):
            calls.pop()
        elif s == "," and calls and calls[-1] is not None and i + 2 < len(toks) and \
                toks[i + 2].string == "=" and toks[i + 1].type == tokenize.NAME:
            texts = kept.get((calls[-1], toks[i + 1].string))
            end, depth = i + 3, 0  # the value runs to the next , or ) at this depth
            while end < len(toks) and not (depth == 0 and toks[end].string in (",", ")")):
                t = toks[end].string
                depth += (t in ("(", "[")) - (t in (")", "]"))
                end += 1
            value = _span(text, toks[i + 3], toks[end - 1])
            if texts and value in texts:
                spans.append((toks[i], toks[end - 1]))
        i += 1
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    for a, b in reversed(spans):
        lo = starts[a.start[0] - 1] + a.start[1]
        hi = starts[b.end[0] - 1] + b.end[1]
        text = text[:lo] + text[hi:]
    return text


def _span(text: str, a: tokenize.TokenInfo, b: tokenize.TokenInfo) -> str:
    lines = text.split("\n")
    if a.start[0] == b.end[0]:
        return lines[a.start[0] - 1][a.start[1]:b.end[1]]
    return ""
