"""The ``netbuilder`` command: subcommands (check, summary, export, ...) or the app launcher.

    netbuilder check FILE            diagnostics; exit 1 if any is an error
    netbuilder summary FILE          layers, shapes, parameters, MACs
    netbuilder export FILE -o OUT    standalone PyTorch source
    netbuilder draw FILE -o OUT      the network as a diagram (.svg, .pdf, .png)
    netbuilder train FILE            train headless into a run folder
    netbuilder predict RUN INPUT...  class probabilities, outputs or samples of a trained run
    netbuilder evaluate RUN          the task's metrics (and confusion matrix) on a data set
    netbuilder explain|embed|attack|dream|style RUN ...   look inside a run's trained model
    netbuilder [FILE] [--screenshot OUT.png] [--train SECONDS] [--version]   the editor

Subcommands are modules in ``netbuilder.commands`` (see its docstring), imported only when
used, so ``netbuilder check`` never loads Qt and ``--version`` loads neither Qt nor torch.
Every failure is one line on stderr and a non-zero exit status, never a traceback
(``NETBUILDER_DEBUG=1`` shows it).
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import keyword
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from .commands.common import positive_float
from .errors import NetbuilderError

# NOTE: add a subcommand by writing netbuilder/commands/<name>.py and listing it here.
SUBCOMMANDS: tuple[str, ...] = ("check", "summary", "export", "draw", "train", "sweep", "import",
                                "predict", "evaluate", "explain", "embed", "attack", "dream",
                                "style")

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: a bug, not the user's input
EXIT_INTERRUPTED = 130


def command_module(name: str) -> ModuleType:
    """The module of subcommand ``name`` (a keyword such as ``import`` lives in ``import_``)."""
    module = f"{name}_" if keyword.iskeyword(name) else name
    return importlib.import_module(f"netbuilder.commands.{module}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netbuilder`` console script; returns the exit status."""
    return _guarded(_dispatch, sys.argv[1:] if argv is None else list(argv))


def gui_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netbuilder-gui`` script: the launcher, without subcommands."""
    return _guarded(_launch, sys.argv[1:] if argv is None else list(argv))


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] not in SUBCOMMANDS:
        _reject_unknown_command(argv[0])
    if argv and argv[0] in SUBCOMMANDS:
        module = command_module(argv[0])
        parser = argparse.ArgumentParser(prog=f"netbuilder {module.NAME}",
                                         description=module.HELP[:1].upper() + module.HELP[1:])
        module.add_arguments(parser)
        return int(module.run(parser.parse_args(argv[1:])) or 0)
    return _launch(argv)


def _launcher_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:<10} {command_module(name).HELP}" for name in SUBCOMMANDS)
    parser = argparse.ArgumentParser(
        prog="netbuilder", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Design neural networks by drawing them. Without a command, opens the "
                    "editor (on FILE if given).",
        epilog=f"commands (netbuilder COMMAND --help for their options):\n{listing}")
    parser.add_argument("file", nargs="?", metavar="FILE", help="graph file to open (.json)")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the window to a PNG file and quit")
    parser.add_argument("--train", type=positive_float, metavar="SECONDS",
                        help="start training and let it run this long before the screenshot")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def _launch(argv: list[str]) -> int:
    args = _launcher_parser().parse_args(argv)
    if args.version:
        from . import __version__

        print(f"netbuilder {__version__}")
        return 0
    if args.file is not None and not Path(args.file).exists():
        _reject_unknown_command(args.file)
        raise _Usage(f"{args.file}: file not found")
    if args.screenshot is None and _no_display():
        raise _Usage("there is no display to open the editor on (DISPLAY and WAYLAND_DISPLAY "
                     "are not set); render it with --screenshot OUT.png, or use a command: "
                     f"netbuilder {{{','.join(SUBCOMMANDS)}}} FILE")
    missing_libraries = _missing_xcb_libraries()
    if missing_libraries:
        print(f"netbuilder: the window needs {' '.join(missing_libraries)} "
              f"(apt install {' '.join(XCB_PACKAGES.values())})", file=sys.stderr)
        return EXIT_ERROR
    try:
        from .ui.app import run_app
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing.startswith("netbuilder.ui"):
            return _fail(EXIT_USAGE, "the desktop editor is not part of this installation "
                                     f"({missing} is missing); the command line works: "
                                     f"netbuilder {{{','.join(SUBCOMMANDS)}}} FILE")
        if missing.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"):
            return _fail(EXIT_USAGE, f"the desktop editor needs {missing.split('.')[0]}, which "
                                     "is not installed: pip install PySide6-Essentials pyqtgraph")
        raise
    return int(run_app(args.file, screenshot=args.screenshot, train_seconds=args.train) or 0)


def _no_display() -> bool:
    # Qt aborts the whole process (no exception to catch) when it finds no display.
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


# The libraries Qt's xcb platform plugin loads that a fresh Debian or Ubuntu lacks, by the
# Debian package that brings each (README: "the window on a fresh Debian").
XCB_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1", "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def _load_library(soname: str) -> None:
    """Load a shared library (raises OSError when the system has none by that name)."""
    import ctypes

    ctypes.CDLL(soname)


def _missing_xcb_libraries() -> list[str]:
    """The packages whose libraries Qt's xcb plugin would fail to load, when it is the
    platform Qt will pick; [] otherwise.

    NOTE: Qt aborts the process with a page about plugins when the xcb plugin cannot load
    (Qt 6.5 and later need libxcb-cursor0, which fresh systems lack): say it in one line first.
    """
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or not os.environ.get("DISPLAY"):
        return []
    first = platform.split(";")[0].split(":")[0]  # "xcb:arg=1;wayland": xcb, then wayland
    if first != "xcb" and (platform or os.environ.get("WAYLAND_DISPLAY")):
        return []  # another platform (offscreen, wayland) was chosen
    missing = []
    for soname, package in XCB_PACKAGES.items():
        try:
            _load_library(soname)
        except OSError:
            missing.append(package)
    return missing


def _reject_unknown_command(word: str) -> None:
    """A first word that is no file but looks like a command name is a mistyped command."""
    if word.startswith("-") or word in SUBCOMMANDS or Path(word).suffix or Path(word).exists():
        return
    close = difflib.get_close_matches(word, SUBCOMMANDS, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise _Usage(f"unknown command {word!r}{hint} (commands: {', '.join(SUBCOMMANDS)}; "
                 f"or give a graph file to open it in the editor)")


class _Usage(NetbuilderError):
    """The command line itself is wrong (exit status 2, like argparse)."""


def _fail(status: int, message: str) -> int:
    print(f"netbuilder: error: {message}", file=sys.stderr)
    return status


def _guarded(run: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run a command; turn every failure into one line on stderr and an exit status."""
    from .commands.common import one_line

    debug = os.environ.get("NETBUILDER_DEBUG") == "1"
    for stream in (sys.stdout, sys.stderr):
        # a name from a graph file may hold a lone surrogate: printed escaped, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return run(argv)
    except SystemExit as exc:  # argparse: --help, or a usage error it already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_ERROR)
    except KeyboardInterrupt:
        print("netbuilder: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `netbuilder summary f.json | head`: the reader left; not an error
        _silence_stdout()
        return 0
    except Exception as exc:  # noqa: BLE001 (the one place that turns every failure into a line)
        if debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, _Usage):
            return _fail(EXIT_USAGE, one_line(str(exc)))
        if isinstance(exc, NetbuilderError):  # (bad input files: 2, see InputError)
            return _fail(getattr(exc, "exit_status", EXIT_ERROR), one_line(str(exc)))
        if isinstance(exc, OSError):
            where = f"{exc.filename}: " if exc.filename else ""
            return _fail(EXIT_ERROR, f"{where}{exc.strerror or one_line(str(exc))}")
        hint = "" if debug else " (NETBUILDER_DEBUG=1 shows the traceback)"
        return _fail(EXIT_INTERNAL, f"unexpected {type(exc).__name__}: {one_line(str(exc))}; "
                                    f"this is a bug in netbuilder, please report it{hint}")


def _silence_stdout() -> None:
    # Python flushes stdout at exit and would complain about the closed pipe a second time.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
