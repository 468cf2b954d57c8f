"""Importing a model file in a child process: the user's code runs there, never in netbuilder.

What ``netbuilder import`` and the editor's File → Import PyTorch model share. The child
(``python -m netbuilder.model_import RESULT``) reads the request as JSON on
its stdin, loads the file, builds and traces the model, and writes the graph file text and a
short report as JSON to RESULT. Only that text crosses back: nothing of the user's code is
unpickled here. A file that exits, crashes, hangs or raises gives one ``ModelImportError`` that
names it (and the line, when Python knows it).

    result = import_in_child("models.py", "LeNet", input_shapes=[(1, 28, 28)], timeout=60)
    graph = result.graph

NOTE: this module lives outside ``compile`` because importing anything there imports torch, and
the command line's process has no use for it: it must not import torch (nor ``compile``) at
module level. The child imports torch once, for the tracing (``compile.import_source``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import EXIT_ADVICE, ModelImportError, NetbuilderError

DEFAULT_TIMEOUT = 60.0  # seconds a file may take to load, build and trace
_POLL_S = 0.05
CHILD_FLAG = "--netbuilder-import-child"  # the bundle's program runs child_main with it
MODULE_WEIGHTS = "module"  # --weights module: the instance's own weights
WEIGHTS_FILE = "weights.safetensors"  # what the child writes beside its result


def parse_shape(text: str) -> tuple[int, ...]:
    """``"1,28,28"`` (or ``1x28x28``, ``(1, 28, 28)``) → ``(1, 28, 28)``."""
    parts = [p for p in re.split(r"[,x×\s()\[\]]+", text.strip()) if p]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise ModelImportError(f"{text!r} is not an input shape: give positive sizes without the "
                               f"batch dimension, e.g. 1,28,28")
    return shape


# --input-shape's dtype names -> the graph's Input dtypes
INPUT_DTYPES = {"float": "float32", "float32": "float32", "long": "int64", "int64": "int64"}


def parse_input(text: str) -> tuple[tuple[int, ...], str | None]:
    """``"35:long"`` → ``((35,), "int64")``; ``"1,28,28"`` → ``((1, 28, 28), None)`` (the
    dtype then follows the model: token ids where the input feeds an Embedding)."""
    shape_text, sep, dtype = text.strip().rpartition(":")
    if not sep:
        return parse_shape(text), None
    key = dtype.strip().lower()
    if key not in INPUT_DTYPES:
        raise ModelImportError(f"{text!r}: unknown dtype {dtype.strip()!r}; give one of "
                               f"{', '.join(INPUT_DTYPES)}, e.g. 35:long for 35 token ids")
    return parse_shape(shape_text), INPUT_DTYPES[key]


def parse_args_json(text: str | None) -> dict:
    """Constructor arguments from JSON (an object)."""
    if not text:
        return {}
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelImportError(f"--args is not valid JSON ({exc.msg} at character {exc.pos}): "
                               f"give an object such as '{{\"hidden\": 64}}'") from None
    if not isinstance(value, dict):
        raise ModelImportError("--args must be a JSON object such as '{\"hidden\": 64}'")
    return value


class ImportCancelled(ModelImportError):
    """The person stopped the import (``cancel`` was set)."""


@dataclass
class ImportResult:
    """What the child sends back: the graph file text and a short report."""

    text: str  # the graph file, as ``to_json`` writes it
    graph: Any  # that file read back (strictly, as any graph file is; without torch)
    class_name: str
    nodes: int  # nodes besides inputs and outputs
    params: int
    weights: bytes | None = None  # safetensors of the graph's state dict, when asked for
    # What became a placeholder and why, grouped, and the fallbacks tracing needed: one line
    # each ("  - ReLU6 ×35 in features.* → Module node (...) at models.py:12: `code`").
    report: list[str] = field(default_factory=list)

    def keep_weights(self, origin: str | os.PathLike) -> Any:
        """The graph, keeping the imported weights (``graph.weights``, from ``origin``) when
        there are any: what the command line saves and the editor opens."""
        if self.weights is not None:
            from .graph.weights import GraphWeights

            self.graph.weights = GraphWeights(data=self.weights, origin=str(origin))
        return self.graph


def import_in_child(path: str | os.PathLike, class_name: str, args: dict | None = None,
                    input_shapes=None, name: str | None = None, *,
                    timeout: float = DEFAULT_TIMEOUT,
                    cancel: threading.Event | None = None,
                    input_dtypes=None,
                    weights: str | os.PathLike | None = None) -> ImportResult:
    """Import ``class_name`` of the file ``path`` in a child process, within ``timeout``
    seconds (``cancel`` stops it early); ``input_dtypes``: one per input shape, "float32",
    "int64" or None (follow the model). Raises ``ModelImportError``.

    ``weights``: ``MODULE_WEIGHTS`` keeps the instance's own weights (its initialisation, or
    what its constructor loaded); a file (safetensors, or a weights-only ``.pt``/``.pth``)
    gives weights by the original model's keys. Either comes back as ``result.weights``,
    renamed for the graph and checked against it (the child writes safetensors: no pickle)."""
    p = Path(path)
    if not p.is_file():
        raise ModelImportError(f"{p}: file not found")
    if weights is not None and str(weights) != MODULE_WEIGHTS:
        if not Path(weights).is_file():
            raise ModelImportError(f"{weights}: weights file not found")
        weights = str(Path(weights).resolve())
    request = {"path": str(p), "class_name": class_name, "args": dict(args or {}),
               "input_shapes": [list(s) for s in input_shapes] if input_shapes else None,
               "name": name, "input_dtypes": list(input_dtypes) if input_dtypes else None,
               "weights": None if weights is None else str(weights)}
    folder = Path(tempfile.mkdtemp(prefix="netbuilder-import-"))
    try:
        code = _run_child(folder, json.dumps(request), timeout, cancel, p)
        return _read_result(folder, code, p)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_child(folder: Path, request: str, timeout: float, cancel, path: Path) -> int:
    """Run the child until it ends; its exit status (negative: the signal that ended it)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])  # where ``netbuilder`` is importable from
    env["PYTHONPATH"] = os.pathsep.join(x for x in (root, env.get("PYTHONPATH")) if x)
    # NOTE: torch's threads sleep while they wait instead of spinning: on a busy machine a
    # spinning thread burns its core for nothing (a ResNet-50 at 64×64 took 0.9 s of CPU
    # with two spinning threads, 0.12 s with passive ones, the same wall time).
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    (folder / "request.json").write_text(request, encoding="utf-8")
    with open(folder / "request.json", "rb") as stdin, open(folder / "out.txt", "wb") as out:
        # NOTE: a session of its own, so that a kill also ends what the user's code started.
        proc = subprocess.Popen(child_command(str(folder / "result")), stdin=stdin, stdout=out,
                                stderr=subprocess.STDOUT, env=env,
                                start_new_session=os.name == "posix")
        try:
            # What reading the result takes (the graph model, the layer catalog) loads while
            # the child works: on a second core, at no cost in time.
            from .graph import fileformat  # noqa: F401
            return _wait(proc, timeout, cancel, path)
        finally:
            _kill(proc)  # what the user's code started and left running; all on Ctrl+C


def _wait(proc: subprocess.Popen, timeout: float, cancel, path: Path) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return proc.wait(_POLL_S)
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            raise ImportCancelled(f"The import of {path} was cancelled")
        if time.monotonic() > deadline:
            raise ModelImportError(
                f"{path} did not finish importing within {timeout:g} s and was stopped: does "
                f"it loop or wait for input when it runs? (a model that takes longer needs a "
                f"longer time limit: --timeout SECONDS)")


def child_command(result_path: str) -> list[str]:
    """The child's command line: this module run by the same Python, or, in the desktop
    bundle (a frozen program without ``-m``), the program itself with ``CHILD_FLAG``."""
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG, result_path]
    return [sys.executable, "-m", "netbuilder.model_import", result_path]


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass  # it has just ended by itself
    proc.wait()


def _read_result(folder: Path, code: int, path: Path) -> ImportResult:
    try:
        data = json.loads((folder / "result").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise ModelImportError(_ended_text(code, path, _tail(folder / "out.txt")))
    if not data.get("ok"):
        err = ModelImportError(str(data.get("error") or f"{path} could not be imported"))
        err.problems = [str(x) for x in data.get("problems") or []]
        raise err
    from .graph.fileformat import from_json

    try:
        text = str(data["text"])
        weights = (folder / WEIGHTS_FILE).read_bytes() if data.get("weights") else None
        return ImportResult(text, from_json(text), str(data["class_name"]), int(data["nodes"]),
                            int(data["params"]), weights,
                            [str(x) for x in data.get("report") or []])
    except (KeyError, TypeError, ValueError, OSError, NetbuilderError) as exc:
        raise ModelImportError(f"The import of {path} sent back an unreadable result "
                               f"({exc})") from None


def _ended_text(code: int, path: Path, tail: str) -> str:
    """Why a child that sent nothing back ended, naming the file."""
    said = f"; its last output: {tail}" if tail else ""
    if code < 0:
        try:
            how = signal.Signals(-code).name
        except ValueError:
            how = f"signal {-code}"
        return (f"{path} crashed the process importing it ({how}) while it ran{said}. "
                f"netbuilder itself is unaffected")
    return (f"{path} ended the process importing it (exit status {code}) while it ran, "
            f"e.g. with os._exit(){said}: {EXIT_ADVICE}")


def _tail(path: Path, limit: int = 300) -> str:
    """The last non-empty line of the child's output (a crash usually says why there)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 4096))
            lines = [x.strip() for x in f.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [x for x in lines if x]
    return lines[-1][-limit:] if lines else ""


# --- the child ---------------------------------------------------------------------------------

def _child(result_path: str) -> None:
    """Load, build and import what the request on stdin names; write the outcome as JSON."""
    request = json.load(sys.stdin)
    path = request["path"]
    # The user's file sees a command line of its own name only, and no input to wait for.
    sys.argv = [path]
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (for the process's life)
    try:
        outcome = {"ok": True, **_import(request, result_path)}
    except ModelImportError as exc:
        outcome = {"ok": False, "error": str(exc),
                   "problems": [str(p) for p in getattr(exc, "problems", None) or []]}
    except BaseException as exc:  # noqa: BLE001 (SystemExit and the like from the user's code)
        from .compile.import_source import failure_text

        outcome = {"ok": False, "error": failure_text(exc, path, "while it is imported")}
    from .graph.fileformat import atomic_write

    atomic_write(result_path, json.dumps(outcome))


def _import(request: dict, result_path: str) -> dict:
    from .compile.import_report import meta_lines
    from .compile.import_source import instantiate, load_class
    from .compile.importer import import_module
    from .graph.fileformat import to_json

    shapes = request.get("input_shapes")
    module = instantiate(load_class(request["path"], request["class_name"]),
                         request.get("args") or {})
    graph = import_module(module, input_shapes=[tuple(s) for s in shapes] if shapes else None,
                          name=request.get("name"), input_dtypes=request.get("input_dtypes"))
    nodes = sum(1 for n in graph.nodes() if not n.is_boundary)
    weights = request.get("weights")
    if weights is not None:
        from .graph.atomic import atomic_write

        data = _imported_weights(module, graph, weights, request["class_name"])
        atomic_write(Path(result_path).with_name(WEIGHTS_FILE), data)
    return {"text": to_json(graph), "class_name": request["class_name"], "nodes": nodes,
            "params": int(graph.analyze().total_params), "weights": weights is not None,
            "report": meta_lines(graph.meta.get("imported", {}))}


def _imported_weights(module, graph, source: str, class_name: str) -> bytes:
    """The weights the graph keeps, as safetensors: the module's own, or a file's (checked
    by the original's keys first, so that a message names keys the person knows)."""
    from .compile.importer import map_state_dict
    from .compile.weights import apply_weights, fit_weights, read_weights, to_safetensors
    from .errors import WeightsError

    if source == MODULE_WEIGHTS:
        original = module.state_dict()
    else:
        try:
            original = read_weights(source, source)
            fit = fit_weights(module.state_dict(), original)
            if not fit.ok:
                raise WeightsError(fit.message(f"{source} (for {class_name})"))
        except WeightsError as exc:
            raise ModelImportError(str(exc)) from None
    tensors = map_state_dict(original, graph)
    try:
        apply_weights(graph.build(), tensors, f"the weights of {class_name}")
    except WeightsError as exc:
        raise ModelImportError(str(exc)) from None
    return to_safetensors(tensors)


def child_main(result_path: str) -> None:
    """The child process's whole life: import, write the outcome, end."""
    _child(result_path)
    sys.stdout.flush()
    sys.stderr.flush()
    # NOTE: threads or atexit handlers of the user's code must not keep the child alive.
    os._exit(0)


if __name__ == "__main__":
    child_main(sys.argv[1])
