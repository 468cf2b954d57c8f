"""Runs exported ``train.py`` scripts one after another in this one interpreter.

The parity test's driver: each script runs as ``python train.py ARGS`` would, from its own
folder, with that folder's ``model`` and ``recipe`` modules, but torch, numpy and scikit-learn
are imported once for all of them (on a busy machine the imports take far longer than the
training). Protocol::

    python run_scripts.py RESULTS.json  < one job a line: {"dir": FOLDER, "argv": [...]}

It imports torch while the jobs are still being written, runs each job as its line arrives,
and rewrites RESULTS.json after every script: ``{FOLDER: {"rc": EXIT_STATUS, "error":
TRACEBACK_OR_EMPTY}}``. It ends at the end of its input.
"""
import json
import os
import runpy
import sys
import traceback
from pathlib import Path

import torch  # noqa: F401  (every script needs it: imported while the jobs are exported)


def _forget(folder: Path) -> None:
    """Drop the modules the previous script imported from its folder (model, recipe)."""
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().parent == folder:
            del sys.modules[name]


def run(folder: Path, argv: list) -> dict:
    """Run ``folder/train.py ARGV`` here as ``__main__``; its exit status and any traceback."""
    before = sys.argv, os.getcwd()
    sys.argv = ["train.py", *argv]
    sys.path.insert(0, str(folder))
    os.chdir(folder)
    try:
        runpy.run_path(str(folder / "train.py"), run_name="__main__")
        return {"rc": 0, "error": ""}
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return {"rc": code, "error": "" if exc.code is None or isinstance(exc.code, int)
                else str(exc.code)}
    except BaseException:  # noqa: BLE001 (reported to the test, which shows the trace)
        return {"rc": 1, "error": traceback.format_exc()}
    finally:
        sys.path.remove(str(folder))
        _forget(folder)
        sys.argv = before[0]
        os.chdir(before[1])


def main() -> None:
    out = Path(sys.argv[1]).resolve()
    results: dict = {}
    for line in sys.stdin:
        job = json.loads(line)
        folder = Path(job["dir"]).resolve()
        results[job["dir"]] = run(folder, job["argv"])
        out.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
