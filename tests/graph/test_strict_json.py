"""The reader is as strict as the writer: what JSON or a round trip cannot hold is refused with
one error naming the file and the JSON path; whatever loads can be saved and loads the same."""
from __future__ import annotations

import copy
import json
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netbuilder as nb
from netbuilder.graph import from_json, graph_to_dict, load, to_json
from netbuilder.graph.strict_json import MAX_DEPTH, field_path


def _doc() -> dict:
    g = nb.Graph("strict")
    x = g.add("Input", "x", shape=(3, 8, 8))
    c = g.add("Conv2d", "conv", out_channels=4)
    d = g.add("Dropout", "drop", p=0.25)
    g.connect(x, c)
    g.connect(c, d)
    return graph_to_dict(g)


def _text(**replace: str) -> str:
    """The valid document's text with JSON fragments swapped in (``old=new``)."""
    text = json.dumps(_doc())
    for old, new in replace.values():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


_DEEP = json.dumps(_doc())[:-1] + ', "meta": {"a": ' + "[" * 150 + "]" * 150 + "}}"
_LIMIT = sys.get_int_max_str_digits()

HOSTILE = [
    ("nan", _text(a=('"p": 0.25', '"p": NaN')), "nodes[2].params.p",
     "NaN is not a JSON number"),
    ("infinity", _text(a=('"p": 0.25', '"p": Infinity')), "nodes[2].params.p",
     "Infinity is not a JSON number"),
    ("minus-infinity", _text(a=('"pos": [0.0, 0.0]', '"pos": [0.0, -Infinity]')),
     "nodes[0].pos[1]", "-Infinity is not a JSON number"),
    ("overflowing-float", _text(a=('"p": 0.25', '"p": 1e999')), "nodes[2].params.p",
     "1e999 is too large for a 64-bit float"),
    ("duplicate-param", _text(a=('"p": 0.25', '"p": 0.25, "p": 0.5')), "nodes[2].params.p",
     'the key "p" appears twice in one object'),
    ("duplicate-top-key", _text(a=('"name": "strict"', '"name": "a", "name": "b"')), "name",
     'the key "name" appears twice'),
    ("escaped-surrogate-value", _text(a=('"name": "conv"', '"name": "c\\ud800v"')),
     "nodes[1].name", "lone surrogate (U+D800)"),
    ("escaped-surrogate-key", _text(a=('"p": 0.25', '"\\udfff": 1, "p": 0.25')),
     'nodes[2].params["\\udfff"]', "lone surrogate (U+DFFF)"),
    ("raw-surrogate", _text(a=('"name": "drop"', '"name": "d\ud834"')), "nodes[2].name",
     "lone surrogate (U+D834)"),
    ("huge-integer", _text(a=('"out_channels": 4', '"out_channels": ' + "9" * (_LIMIT + 1))),
     "nodes[1].params.out_channels", f"an integer of {_LIMIT + 1} digits is longer than"),
    ("deep-nesting", _DEEP, "meta.a" + "[0]" * (MAX_DEPTH - 2),
     f"nest deeper than {MAX_DEPTH} levels"),
    ("nan-as-the-whole-file", "NaN", None, "NaN is not a JSON number"),
]


@pytest.mark.parametrize("name,text,field,fragment", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_json_is_refused_naming_file_and_path(tmp_path, name, text, field, fragment):
    path = tmp_path / "hostile.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    with pytest.raises(nb.FileFormatError) as err:
        load(path)
    e = err.value
    if name == "raw-surrogate":  # a surrogate encoded as bytes is not UTF-8 at all
        assert "not UTF-8 text (byte 0xED at offset" in str(e) and e.field is None
        with pytest.raises(nb.FileFormatError) as err:
            from_json(text, "clipboard")  # text handed over directly keeps its surrogate
        e = err.value
        assert str(e).startswith("clipboard: ")
    else:
        assert str(e).startswith(f"{path}: ")
    assert e.field == field
    assert fragment in str(e), str(e)
    assert str(e).encode("utf-8")  # the message itself holds no surrogate


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    text = json.dumps(_doc())
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert graph_to_dict(load(path)) == _doc()
    assert graph_to_dict(from_json("\ufeff" + text)) == _doc()


def test_paired_surrogate_escapes_and_nesting_at_the_limit_are_fine():
    d = _doc()
    text = json.dumps(d).replace('"conv"', '"c\\ud83d\\ude00"', 1)
    assert from_json(text).node("n2").name == "c\U0001F600"
    d["meta"] = {"a": json.loads("[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2))}
    g = from_json(json.dumps(d))
    assert from_json(to_json(g)).meta == d["meta"]


@pytest.mark.parametrize("edit,field,fragment", [
    (lambda d: d["nodes"][1]["params"].update(name="x"), "nodes[1].params.name",
     "Conv2d 'conv' has no parameter 'name'"),
    (lambda d: d["nodes"][1]["params"].update(id=3), "nodes[1].params.id", "no parameter 'id'"),
    (lambda d: d["nodes"][0].update(pos=[10 ** 400, 0]), "nodes[0].pos", "two finite numbers"),
    (lambda d: d["nodes"][2]["params"].update(p=10 ** 400), "nodes[2].params.p",
     "Dropout 'drop': p = "),
])
def test_values_python_cannot_take_are_file_errors_not_tracebacks(edit, field, fragment):
    d = _doc()
    edit(d)
    with pytest.raises(nb.FileFormatError) as err:
        from_json(json.dumps(d), "f.json")
    assert err.value.field == field and fragment in str(err.value)


def test_odd_node_ids_load():
    d = _doc()
    d["nodes"][2]["id"] = "n²"
    d["nodes"][1]["id"] = "n" + "7" * (_LIMIT + 10)
    for e in d["edges"]:
        e["src"] = {"n2": d["nodes"][1]["id"], "n3": "n²"}.get(e["src"], e["src"])
        e["dst"] = {"n2": d["nodes"][1]["id"], "n3": "n²"}.get(e["dst"], e["dst"])
    g = from_json(json.dumps(d))
    assert g.node("n²").name == "drop"
    assert g.add("ReLU") == "n2"  # the ids that are no "n<number>" leave the counter alone


def test_field_paths_quote_keys_that_are_no_identifiers():
    assert field_path(["nodes", 3, "params", "p"]) == "nodes[3].params.p"
    assert field_path(["meta", "a b", 0]) == 'meta["a b"][0]'
    assert field_path([]) is None


# --- property: whatever loads can be saved and loads the same ---------------------------------

_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6) |
            st.sampled_from(["NaN", "1e999", "\\ud800", "9" * (_LIMIT + 1), '"p"']))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) |
                       st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=6)


def _places(d: dict) -> list[tuple[dict | list, object]]:
    """Every (container, key or index) in the document, where a value can be put."""
    out = []

    def visit(v):
        if isinstance(v, dict):
            for k in list(v):
                out.append((v, k))
                visit(v[k])
        elif isinstance(v, list):
            for i in range(len(v)):
                out.append((v, i))
                visit(v[i])
    visit(d)
    return out


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_whatever_loads_saves_and_loads_the_same(data):
    d = copy.deepcopy(_doc())
    d["meta"] = {}
    for _ in range(data.draw(st.integers(1, 3))):
        places = _places(d)
        container, key = data.draw(st.sampled_from(places))
        value = data.draw(_VALUES)
        if isinstance(container, dict) and data.draw(st.booleans()):
            key = data.draw(st.text(max_size=4))  # a new (or duplicate-named) field
        container[key] = value
    text = json.dumps(d, allow_nan=True, ensure_ascii=data.draw(st.booleans()))
    for raw in ("NaN", "1e999", "\\ud800"):  # the string forms above, also as bare tokens
        if data.draw(st.booleans()):
            text = text.replace(f'"{raw}"', raw)
    try:
        g = from_json(text, "fuzz.json")
    except nb.FileFormatError as exc:
        assert str(exc).startswith("fuzz.json: ") and str(exc).encode("utf-8")
        return
    saved = to_json(g)
    saved.encode("utf-8")  # strict: no lone surrogate reached the file
    again = from_json(saved)
    assert graph_to_dict(again) == graph_to_dict(g)
    assert to_json(again) == saved


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet=st.sampled_from(list('{}[]":,0123456789.eE-+ \\uNaInfty\ud800a')),
               max_size=40))
def test_any_text_is_a_graph_or_one_file_error(text):
    try:
        from_json(text, "any.json")
    except nb.FileFormatError as exc:
        assert str(exc).startswith("any.json: ")
