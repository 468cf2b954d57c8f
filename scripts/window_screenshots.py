"""Take the documentation's screenshot matrix in a real window and keep the pictures small.

    python scripts/window_screenshots.py [PYTEST ARGS...]      e.g. -k welcome

Runs ``tests/ui/test_screenshot_matrix.py`` with ``--xwindow --screenshots`` (Xvfb and openbox
started for the run, Qt's xcb platform), writing ``docs/images/window/<view>-<W>x<H>-<theme>.png``,
then stores each picture without alpha and, above ``LIMIT`` bytes, with a 256-colour palette.
Exits with pytest's status: a clipped title or an empty panel fails the run (after every picture).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "window"
LIMIT = 64 * 1024


def shrink(path: Path) -> None:
    """Re-encode ``path`` as RGB (no alpha channel), as a palette image when still large."""
    image = Image.open(path).convert("RGB")
    image.save(path, optimize=True)
    if path.stat().st_size > LIMIT:
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                       dither=Image.Dither.NONE).save(path, optimize=True)


def main(argv: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NETBUILDER_SCREENSHOT_DIR": str(OUT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
               "--xwindow", "--screenshots", "tests/ui/test_screenshot_matrix.py", *argv]
    status = subprocess.run(command, cwd=ROOT, env=env).returncode
    pictures = sorted(OUT.glob("*.png"))
    for path in pictures:
        shrink(path)
    total = sum(p.stat().st_size for p in pictures)
    print(f"{len(pictures)} pictures in {OUT.relative_to(ROOT)}, {total / 2**20:.1f} MiB")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
