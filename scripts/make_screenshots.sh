#!/usr/bin/env bash
# Make the pictures of docs/ (README.md, docs/user-guide.md) again, with the app's own
# screenshot option. Needs no display. Each picture is kept under 300 KB (PNGs that come out
# bigger are re-encoded with a 256-colour palette).
#
#   scripts/make_screenshots.sh            all of them (NB=path/to/netbuilder: another command)
#   scripts/make_screenshots.sh welcome-dark training      only those
set -euo pipefail
cd "$(dirname "$0")/.."
NB=${NB:-.venv/bin/netbuilder}
PY=${PY:-.venv/bin/python}
OUT=docs/images
EX=netbuilder/resources/examples
LIMIT=$((300 * 1024))
mkdir -p "$OUT"
# Fresh settings: no recent files, default layout and theme (the pictures must not show yours).
SETTINGS=$(mktemp -d)
trap 'rm -rf "$SETTINGS"' EXIT
export QT_QPA_PLATFORM=offscreen NETBUILDER_SETTINGS_DIR="$SETTINGS"

ONLY=" $* "
shot() {  # shot NAME THEME [netbuilder arguments...]
    local name=$1 theme=$2
    shift 2
    [[ "$ONLY" == "  " || "$ONLY" == *" $name "* ]] || return 0
    echo "$OUT/$name.png"
    NETBUILDER_THEME=$theme "$NB" "$@" --screenshot "$OUT/$name.png"
    if (($(stat -c %s "$OUT/$name.png") > LIMIT)); then
        "$PY" - "$OUT/$name.png" <<'PYEOF'
import sys
from PIL import Image

path = sys.argv[1]
image = Image.open(path).convert("RGB")
image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
    path, optimize=True)
PYEOF
    fi
    (($(stat -c %s "$OUT/$name.png") <= LIMIT)) || { echo "$name.png is over 300 KB" >&2; exit 1; }
}

shot welcome-light light
shot welcome-dark dark
shot lenet5 light "$EX/lenet5.json"
shot resnet-dark dark "$EX/resnet_small.json"
shot training light "$EX/lenet5.json" --train 40
ls -l "$OUT"/*.png
