"""Running exported files as a fresh interpreter would, in this one (``run_standalone``)."""
from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path


def run_standalone(folder, script: str) -> str:
    """Run ``script`` (Python text that imports or runs the exported files in ``folder``) in
    this interpreter as a fresh one would run it in ``folder``; what it printed.

    torch is imported here already (a fresh interpreter's imports cost more than these
    checks): ``folder`` is the working folder and first on ``sys.path``, its modules are
    imported anew, netbuilder cannot be imported meanwhile, and ``sys.argv`` is given back
    after. A ``SystemExit`` other than 0 fails. That exported files run in a fresh
    interpreter is tested in tests/compile/test_codegen.py and tests/test_examples.py."""
    folder = Path(folder)
    local = {p.stem for p in folder.glob("*.py")}
    own = {k: sys.modules.pop(k) for k in list(sys.modules)
           if k == "netbuilder" or k.startswith("netbuilder.") or k in local}
    cwd, argv, out = os.getcwd(), sys.argv, io.StringIO()
    sys.path.insert(0, str(folder))
    os.chdir(folder)
    try:
        sys.modules["netbuilder"] = None  # any import of netbuilder fails
        with contextlib.redirect_stdout(out):
            exec(compile(script, str(folder / "script.py"), "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise AssertionError(f"the script exited with {exc.code!r}: {out.getvalue()[-2000:]}"
                                 ) from exc
    finally:
        os.chdir(cwd)
        sys.argv = argv
        sys.path.remove(str(folder))
        for name in [*local, "netbuilder"]:
            sys.modules.pop(name, None)
        sys.modules.update(own)
    return out.getvalue()
