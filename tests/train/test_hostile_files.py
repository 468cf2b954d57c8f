"""A graph file is data from a stranger: hostile text in any of its fields is refused with a
netbuilder error, or exported as inert data. Generated files always compile, run, and never
execute what the file holds (the payloads would create a marker file).

The fields are enumerated from a saved graph's JSON, so new fields are covered by themselves:
every scalar (its value), every object key, and a new key in every object (option tables).
``NETBUILDER_HOSTILE_EXAMPLES=200`` runs the property-based test with more examples.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netbuilder as nb
from netbuilder.cli import main as cli_main
from netbuilder.commands.check import check_file
from netbuilder.errors import NetbuilderError
from netbuilder.graph import group

EXAMPLES = int(os.environ.get("NETBUILDER_HOSTILE_EXAMPLES", "3"))
MARK = "MARKER_PATH"  # replaced by the marker file's path before use

# What ends a string, a line, a docstring, a subscript or a call in generated source.
BREAKERS = ('"', "'", '"""', "'''", "\\", "\\'", '\\"', "\n", "\r\n", "\u2028", "\u2029",
            "\x85", "\ud800", "\udfff", "\x00", ")", "]", "}", "#", "{", "\t", "\u202e")
CODE = f"open({MARK!r}, 'w').close()"
SHAPES = (
    "{b}; {code}; {b}",
    "{b}\n{code}\n{b}",
    "{b})\n{code}\n#",
    "{b}]); {code} #",
    "{b}, **{{}}); {code} #",
    "x{b}=1, **{{}}) or {code} or ({b}",
    "{b}{b}{b}\n__import__('os').system('touch ' + {mark!r})\n{b}{b}{b}",
    "{b}}}; {code} #{{",
)


def hostile(shape: str, breaker: str) -> str:
    return shape.format(b=breaker, code=CODE, mark=MARK)


def base_file(folder: Path) -> dict:
    """A saved graph with every kind of field set: a block, options in every option table,
    a schedule, early stopping, meta; small enough to train for one epoch in seconds."""
    g = nb.Graph("spirals")
    chain = [g.add("Input", "point", shape=(2,)), g.add("Linear", "hidden1", out_features=16),
             g.add("ReLU", "relu1"), g.add("Linear", "hidden2", out_features=16),
             g.add("ReLU", "relu2"),
             g.add("Module", "drop", target="torch.nn:Dropout", arguments='{"p": 0.1}'),
             g.add("Linear", "scores", out_features=2), g.add("Output", "logits")]
    for a, b in zip(chain, chain[1:]):
        g.connect(a, b)
    group(g, chain[3:5], "Block", "trunk")
    g.training = {
        "dataset": "spirals", "dataset_options": {"n_samples": 64, "classes": 2, "seed": 1},
        "task": "classify", "task_options": {}, "loss": "cross_entropy", "optimizer": "adam",
        "lr": 0.003, "optimizer_options": {"eps": 1e-8, "betas": [0.9, 0.999]},
        "schedule": "step", "schedule_options": {"step_size": 1, "gamma": 0.5},
        "warmup_steps": 1, "batch_size": 16, "epochs": 1, "val_split": 0.25, "seed": 0,
        "device": "cpu", "precision": "fp32", "normalization": "standard",
        "augmentation": {}, "probe": ["hidden1"], "grad_clip": 1.0,
        "early_stopping": {"metric": "val_loss", "patience": 2, "mode": "min"},
    }
    g.meta = {"description": "spirals", "author": "someone", "tags": ["mlp"]}
    path = folder / "base.json"
    g.save(path)
    return json.loads(path.read_text())


def fields(data, path=()) -> list[tuple]:
    """``(path, op)`` for every place a file can hold text: ``value`` of each scalar, ``key``
    of each object entry, ``insert`` of a new entry into each object."""
    out = []
    if isinstance(data, dict):
        out.append((path, "insert"))
        for k, v in data.items():
            out.append((path + (k,), "key"))
            out += fields(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += fields(v, path + (i,))
    else:
        out.append((path, "value"))
    return out


def mutate(data, field: tuple, text: str):
    """A copy of ``data`` with ``text`` put into ``field``."""
    data = json.loads(json.dumps(data))
    path, op = field
    if op == "insert":
        parent = _at(data, path)
        parent[text] = text
        return data
    parent = _at(data, path[:-1])
    if op == "value":
        parent[path[-1]] = text
    else:  # the key: same value under a hostile name, order kept
        items = [(text if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
    return data


def _at(data, path):
    for p in path:
        data = data[p]
    return data


def attempt(data: dict, folder: Path, marker: Path, run: bool) -> str:
    """Check and export the file ``data``; the outcome in words. Asserts that what is written
    compiles (and, with ``run``, runs) and that the marker never appears."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data).replace(MARK, str(marker).replace("\\", "/"))
    path = folder / "graph.json"
    path.write_text(text, encoding="utf-8")
    try:
        report = check_file(str(path))
    except NetbuilderError:
        outcome = "refused on load"
        report = None
    assert not marker.exists()
    if report is None:
        return outcome
    project = folder / "project"
    status = cli_main(["export", str(path), "--project", str(project), "--no-weights"])
    assert not marker.exists()
    if status != 0:
        assert not project.exists() or not list(project.glob("*.py")), "a refused export wrote"
        return "refused by check and export"
    written = sorted(project.glob("*.py"))
    assert "model.py" in [p.name for p in written]
    for p in written:
        compile(p.read_bytes(), str(p), "exec")  # bytes: a surrogate would fail to encode first
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "\u2028" not in readme and "\x00" not in readme
    outcome = ("refused by check, model exported" if not report["ok"] else
               "exported" if (project / "train.py").exists() else "exported without train.py")
    if run:
        _run_project(project)
    assert not marker.exists()
    return outcome


def _run_project(project: Path) -> None:
    """model.py and train.py (one epoch of a few samples), as a fresh interpreter without
    netbuilder runs them (``run_standalone``: here, the imports paid once)."""
    from standalone import run_standalone

    steps = ["import runpy, sys", "runpy.run_path('model.py', run_name='__main__')"]
    if (project / "train.py").exists():
        steps += ["sys.argv = ['train.py', '--epochs', '1', '--limit', '48', '--device', 'cpu']",
                  "runpy.run_path('train.py', run_name='__main__')"]
    run_standalone(project, "\n".join(steps))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return base_file(tmp_path_factory.mktemp("base"))


def test_every_field_holds_hostile_text_as_data(base, tmp_path):
    """Each field in turn gets a hostile string (each of them, with more examples asked for);
    all that is accepted goes into one file, exported and run."""
    marker = tmp_path / "marker"
    texts = [hostile(SHAPES[0], '"""'), hostile(SHAPES[1], "\u2028\ud800'")]
    all_fields = fields(base)
    assert len(all_fields) > 100  # nodes, params, edges, the block, training, meta
    outcomes: dict[str, int] = {}
    accepted = []
    for i, field in enumerate(all_fields):
        # by default one string per field, in turn: the sweep stays within a minute
        for j, text in enumerate(texts if EXAMPLES > 8 else [texts[i % 2]]):
            outcome = attempt(mutate(base, field, text), tmp_path / f"f{i}_{j}", marker,
                              run=False)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcome == "exported without train.py":
                print("no train.py:", field)
            if outcome == "exported" and field[1] != "insert":
                accepted.append((field, text))
    print(f"{len(all_fields)} fields, {sum(outcomes.values())} hostile files: {outcomes}")
    assert outcomes.get("exported", 0) > 10  # names and meta are text the file may hold
    together = base
    for k, (field, text) in enumerate(accepted):  # names stay unique; a renamed key goes
        try:
            together = mutate(together, field, f"{text}{k}")
        except (KeyError, IndexError, TypeError):
            continue
    assert attempt(together, tmp_path / "together", marker, run=True) == "exported"


def test_known_injections_are_refused_by_check_train_and_export(base, tmp_path, capsys):
    """The holes once found: an optimizer option key, dataset options in the docstring, the
    early stopping metric in a subscript."""
    marker = tmp_path / "marker"
    cases = {
        "optimizer_options.x": ("optimizer_options", {f"x=1, **{{}}) or {CODE} or (y": 1}),
        "dataset_options.label_column": ("dataset_options", {"label_column": f'"""\n{CODE}\n'}),
        "early_stopping.metric": ("early_stopping",
                                  {"metric": f'val_loss"] or {CODE} or metrics["loss'}),
    }
    for name, (key, value) in cases.items():
        data = json.loads(json.dumps(base).replace(MARK, str(marker)))
        data["training"][key] = value
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps(data))
        assert cli_main(["check", str(path)]) == 1
        out = capsys.readouterr().out
        assert f"error: training.{name.split('.')[0]}." in out, out
        # the model is still exported: the training script is what the setting would reach
        assert cli_main(["export", str(path), "--project", str(tmp_path / key)]) == 0
        err = capsys.readouterr().err
        assert err.startswith(f"netbuilder: warning: train.py was not written: training."
                              f"{name.split('.')[0]}."), err
        assert not (tmp_path / key / "train.py").exists()
        assert cli_main(["train", str(path), "--out", str(tmp_path / f"run-{key}"),
                         "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"netbuilder: error: training.{name.split('.')[0]}."), err
        assert not marker.exists()


def test_a_bad_option_names_the_field_and_what_is_accepted(base, tmp_path, capsys):
    data = json.loads(json.dumps(base))
    data["training"]["optimizer_options"] = {"foo": 1}
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data))
    assert cli_main(["check", str(path)]) == 1
    assert ("error: training.optimizer_options.foo: adam has no option 'foo'; it accepts "
            "amsgrad, betas, eps") in capsys.readouterr().out
    data["training"]["optimizer_options"] = {}
    data["training"]["early_stopping"]["metric"] = "val_psnr"
    path.write_text(json.dumps(data))
    assert cli_main(["check", str(path)]) == 1
    assert ("error: training.early_stopping.metric: the classify task reports no metric "
            "'val_psnr'; early stopping may watch train_accuracy, train_loss, train_top5, "
            "val_accuracy, val_loss, val_top5") in capsys.readouterr().out


@st.composite
def hostile_texts(draw):
    if draw(st.booleans()):
        return hostile(draw(st.sampled_from(SHAPES)), draw(st.sampled_from(BREAKERS)))
    parts = st.one_of(st.sampled_from(BREAKERS), st.text(max_size=6),
                      st.just(CODE), st.just("__import__('os')"))
    return "".join(draw(st.lists(parts, min_size=1, max_size=6)))


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 8,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_text_anywhere_is_refused_or_inert(base, tmp_path_factory, data):
    """Random fields, random hostile text: refused, or exported and run without effect."""
    folder = tmp_path_factory.mktemp("hostile")
    all_fields = fields(base)
    field = data.draw(st.sampled_from(all_fields), label="field")
    text = data.draw(hostile_texts(), label="text")
    outcome = attempt(mutate(base, field, text), folder, folder / "marker", run=True)
    print(f"hostile outcome: {outcome} at {field}")  # counted in reports (pytest -s)
