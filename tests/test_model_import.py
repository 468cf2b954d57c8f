"""Importing a model file in a child process (``netbuilder.model_import``): the user's file runs
there, and whatever it does (exit, parse the command line, crash, hang, raise, wait for input)
comes back as one ``ModelImportError`` naming the file, and the line where Python knows it."""
from __future__ import annotations

import json
import textwrap
import threading

import pytest

from netbuilder.errors import ModelImportError
from netbuilder.model_import import import_in_child, parse_args_json, parse_shape

TINY = textwrap.dedent('''
    import torch
    from torch import nn


    class Tiny(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.fc1 = nn.Linear(4, hidden)
            self.fc2 = nn.Linear(hidden, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))
''')

# (file text, a time limit, what the message must say; {file} is the file's path)
HOSTILE = {
    "sys.exit": ("import sys\n\nsys.exit(3)\n", 60,
                 ["{file}:3 (`sys.exit(3)`) calls sys.exit(3) when it runs",
                  'belongs under `if __name__ == "__main__":`']),
    "argparse": ("import argparse\n\nparser = argparse.ArgumentParser()\n"
                 "parser.add_argument('--data', required=True)\nargs = parser.parse_args()\n", 60,
                 ["{file}:5 (`args = parser.parse_args()`) calls sys.exit(2) when it runs"]),
    "exception": ("def load():\n    raise ValueError('no weights here')\n\n\nload()\n", 60,
                  ["{file}:2 (`raise ValueError('no weights here')`) fails when it runs: "
                   "ValueError: no weights here"]),
    "syntax": ("def broken(:\n    pass\n", 60, ["{file}:1 (`def broken(:`) fails when it runs: "
                                               "SyntaxError"]),
    "input": ("name = input('model? ')\n", 60, ["{file}:1 (`name = input('model? ')`) fails "
                                                "when it runs: EOFError"]),
    "abort": ("import os\n\nos.abort()\n", 60,
              ["{file} crashed the process importing it (SIGABRT) while it ran",
               "netbuilder itself is unaffected"]),
    "os._exit": ("import os\n\nos._exit(0)\n", 60,
                 ["{file} ended the process importing it (exit status 0) while it ran"]),
    "hang": ("while True:\n    pass\n", 3,
             ["{file} did not finish importing within 3 s and was stopped",
              "--timeout SECONDS"]),
}


@pytest.mark.parametrize("mode", HOSTILE)
def test_a_hostile_file_gives_one_clear_error_naming_it(tmp_path, mode):
    text, limit, wanted = HOSTILE[mode]
    path = tmp_path / "hostile.py"
    path.write_text(text + "\n\nclass Net:\n    pass\n")
    with pytest.raises(ModelImportError) as info:
        import_in_child(path, "Net", timeout=limit)
    message = str(info.value)
    for want in wanted:
        assert want.format(file=path) in message
    assert "netbuilder/" not in message and "Traceback" not in message


def test_a_failing_constructor_points_at_its_line(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(TINY + "\n\nclass Broken(Tiny):\n    def __init__(self):\n"
                           "        super().__init__()\n        raise RuntimeError('no')\n")
    line = (TINY + "\n\nclass Broken(Tiny):\n    def __init__(self):\n        super().__init__()"
            ).count("\n") + 2
    with pytest.raises(ModelImportError, match=rf"Broken\(\) fails: RuntimeError: no at "
                                               rf"{path}:{line} \(`raise RuntimeError\('no'\)`\)"):
        import_in_child(path, "Broken")


def test_the_child_sends_back_the_graph_file_text_and_a_report(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(TINY)
    result = import_in_child(path, "Tiny", {"hidden": 5}, [(4,)], "small")
    assert (result.class_name, result.nodes, result.params) == ("Tiny", 3, 4 * 5 + 5 + 5 * 2 + 2)
    assert json.loads(result.text)["name"] == "small"
    graph = result.graph
    assert graph.node(graph.find("fc1")).params["out_features"] == 5
    assert [tuple(graph.node(i).params["shape"]) for i in graph.inputs()] == [(4,)]


def test_cancel_stops_the_child(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text("import time\n\ntime.sleep(600)\n")
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(ModelImportError, match=rf"The import of {path} was cancelled"):
        import_in_child(path, "Net", timeout=120, cancel=cancel)


def test_a_missing_file_is_named_without_starting_a_child(tmp_path):
    with pytest.raises(ModelImportError, match=r"nope\.py: file not found"):
        import_in_child(tmp_path / "nope.py", "Net")


def test_shapes_and_arguments_are_parsed_without_a_child():
    assert parse_shape("(1, 28, 28)") == (1, 28, 28) == parse_shape("1x28x28")
    assert parse_args_json('{"hidden": 64}') == {"hidden": 64}
    with pytest.raises(ModelImportError, match="'1,0' is not an input shape"):
        parse_shape("1,0")
    with pytest.raises(ModelImportError, match="--args must be a JSON object"):
        parse_args_json("[1]")
