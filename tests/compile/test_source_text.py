"""Text from a graph file reaches generated source only as a literal or as escaped prose."""
from __future__ import annotations

import pytest

from netbuilder.compile.naming import literal, quoted

HOSTILE = ['"""', "'''", 'it\'s "x"', "back\\slash\\", "\\N{BULLET}", "a\nb\r\nc",
           "sep\u2028\u2029\x85", "lone\ud800\udfff", "nul\x00", "bidi\u202e", 'end"', "x'"]


@pytest.mark.parametrize("text", HOSTILE)
def test_quoted_text_is_the_repr_inside_a_docstring_and_a_comment(text):
    q = quoted(text)
    ns: dict = {}
    exec(compile(f'"""Graph {q}."""\nD = __doc__\n# {q}\n', "m.py", "exec"), ns)
    assert ns["D"] == f"Graph {text!r}."  # nothing in it came alive as an escape
    assert q.isascii() or all(c.isprintable() for c in q)
    assert "\n" not in q and "\r" not in q
    q.encode("utf-8")  # a lone surrogate would fail here


@pytest.mark.parametrize("text", HOSTILE)
def test_quoted_text_at_a_docstrings_end_cannot_close_it(text):
    ns: dict = {}
    exec(compile(f'"""{quoted(text)}"""\nD = __doc__\n', "m.py", "exec"), ns)
    assert ns["D"] == repr(text)


def test_long_text_is_cut_to_the_width():
    assert quoted("abc", 10) == "'abc'"
    q = quoted("x" * 200, 30)
    assert len(q) <= 30 and q.endswith("...'")
    q = quoted("\ud800" * 50, 30)  # escapes count in the width
    assert len(q) <= 30 and q.startswith("'\\\\ud800")


@pytest.mark.parametrize("value", [*HOSTILE, 3, 2.5, True, None, [1, "a\n"], ("x",),
                                   {"k'\"": ["\u2028"]}, float("inf")])
def test_literal_evaluates_to_the_value(value):
    src = literal(value)
    assert src.isascii() and "\n" not in src
    assert eval(src, {}) == value  # noqa: S307 (the point: it is a literal)


def test_literal_refuses_what_json_cannot_hold():
    with pytest.raises(TypeError, match="not a JSON value"):
        literal(object())
