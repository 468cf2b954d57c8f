#!/usr/bin/env bash
# Build the desktop bundle with PyInstaller into build/ and run it offscreen:
#   --version, a screenshot of an example, the welcome page, a live training run (the worker is
#   a spawned copy of the bundle) and exports (the generator reads modules.py as data; ONNX).
# Prints how long it took and how big the bundle is. Not part of the default test run.
#
#   packaging/smoke_test.sh            (PY=path/to/python to use another environment;
#                                       SKIP_BUILD=1 to test the bundle already built)
# The pictures it takes are left in build/smoke/ to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DIST=build/dist
APP="$DIST/netbuilder/netbuilder"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SHOTS=build/smoke
mkdir -p "$SHOTS"
export QT_QPA_PLATFORM=offscreen NETBUILDER_SETTINGS_DIR="$WORK/settings" \
    NETBUILDER_RUNS_DIR="$WORK/runs"

step() { printf '\n== %s\n' "$*"; }
fail() { echo "SMOKE TEST FAILED: $*" >&2; exit 1; }

t0=$(date +%s)
step "PyInstaller"
"$PY" -m PyInstaller --version >/dev/null 2>&1 || "$PY" -m pip install --quiet "pyinstaller>=6.0"
"$PY" -m PyInstaller --version

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    step "build the bundle into $DIST/netbuilder"
    "$PY" -m PyInstaller packaging/netbuilder.spec --noconfirm --log-level WARN \
        --distpath "$DIST" --workpath build/pyinstaller
fi
t_built=$(date +%s)
[[ -x "$APP" ]] || fail "no executable at $APP"

# The examples the bundle carries (found the way the app finds them).
EXAMPLES=$(find "$DIST/netbuilder" -path '*netbuilder/resources/examples' -type d | head -1)
[[ -f "$EXAMPLES/lenet5.json" ]] || fail "the bundle has no examples (looked for lenet5.json)"
[[ -n $(find "$DIST/netbuilder" -path '*netbuilder/layers/modules.py') ]] \
    || fail "the bundle lacks netbuilder/layers/modules.py"

step "--version"
want="netbuilder $("$PY" -c 'import netbuilder; print(netbuilder.__version__)')"
got=$(cd "$WORK" && "$OLDPWD/$APP" --version)
echo "$got"
[[ "$got" == "$want" ]] || fail "--version printed '$got', expected '$want'"

step "--screenshot of an example"
(cd "$WORK" && "$OLDPWD/$APP" "$OLDPWD/$EXAMPLES/lenet5.json" --screenshot "$WORK/lenet5.png")

step "--screenshot of the welcome page"
(cd "$WORK" && "$OLDPWD/$APP" --screenshot "$WORK/welcome.png")

step "--train: a live run in a spawned worker"
(cd "$WORK" && "$OLDPWD/$APP" "$OLDPWD/$EXAMPLES/mlp_spirals.json" --train 4 \
    --screenshot "$WORK/training.png")
metrics=$(find "$WORK/runs" -name metrics.jsonl | head -1)
[[ -s "$metrics" ]] || fail "the training run wrote no metrics (did the worker process start?)"
echo "the worker trained $(wc -l < "$metrics") epoch(s): $(tail -1 "$metrics" | cut -c1-100)"

step "export (codegen copies helper modules from modules.py)"
"$APP" export "$EXAMPLES/transformer_tiny.json" -o "$WORK/transformer_tiny.py"
grep -q "class PositionalEncoding" "$WORK/transformer_tiny.py" \
    || fail "the exported code lacks the PositionalEncoding helper from modules.py"

step "export --onnx (torch.onnx needs the onnx package in the bundle)"
"$APP" export "$EXAMPLES/lenet5.json" --onnx "$WORK/lenet5.onnx"
(($(stat -c %s "$WORK/lenet5.onnx") > 10000)) || fail "the ONNX file is missing or empty"

step "check the pictures"
"$PY" - "$WORK" <<'PYEOF'
import sys
from pathlib import Path
from PIL import Image

for name in ("lenet5", "welcome", "training"):
    path = Path(sys.argv[1]) / f"{name}.png"
    image = Image.open(path).convert("RGB")
    colours = len(image.resize((200, 125)).getcolors(maxcolors=200 * 125))
    print(f"{name}.png: {image.size[0]}x{image.size[1]}, {colours} colours, "
          f"{path.stat().st_size // 1024} KB")
    if image.size != (1600, 1000) or colours < 300:
        sys.exit(f"SMOKE TEST FAILED: {name}.png looks blank or has the wrong size")
PYEOF
cp "$WORK"/{lenet5,welcome,training}.png "$SHOTS/"
t_end=$(date +%s)

step "result"
echo "build: $((t_built - t0)) s; runs: $((t_end - t_built)) s; total: $((t_end - t0)) s"
echo "bundle: $(du -sh "$DIST/netbuilder" | cut -f1) in $(find "$DIST/netbuilder" -type f | wc -l) files ($DIST/netbuilder)"
echo "SMOKE TEST PASSED"
