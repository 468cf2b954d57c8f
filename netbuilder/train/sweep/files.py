"""Sweep files: the command line's options, written down (JSON or TOML).

    # lenet.sweep.toml
    name = "channels-lr"
    strategy = "tpe"
    trials = 16
    jobs = 2
    objectives = ["val_accuracy:max", "params:min"]
    [params]
    "conv1.out_channels" = [8, 16, 32]
    lr = "1e-4..1e-2:log"
"""
from __future__ import annotations

import json
from pathlib import Path

from .space import SweepError

KEYS = ("name", "strategy", "trials", "jobs", "objectives", "params", "seed")


def load_sweep_file(path: str | Path) -> dict:
    """The settings in a sweep file, with ``params`` as parameter strings; SweepError names the
    file and the bad key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SweepError(f"{p}: cannot read the sweep file ({exc.strerror})") from None
    try:
        if p.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as exc:
        kind = "TOML" if p.suffix.lower() == ".toml" else "JSON"
        raise SweepError(f"{p}: not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise SweepError(f"{p}: a sweep file holds an object of settings")
    for key in data:
        if key not in KEYS:
            raise SweepError(f"{p}: unknown key {key!r}; the keys are: {', '.join(KEYS)}")
    params = data.get("params", {})
    if isinstance(params, dict):
        data["params"] = [_param_text(p, k, v) for k, v in params.items()]
    elif not (isinstance(params, list) and all(isinstance(s, str) for s in params)):
        raise SweepError(f"{p}: 'params' maps names to lists or ranges "
                         f"({{\"lr\": \"1e-4..1e-2:log\"}}), or lists parameter strings")
    objectives = data.get("objectives", [])
    if isinstance(objectives, str):
        data["objectives"] = [objectives]
    return data


def _param_text(path: Path, name: str, value) -> str:
    if isinstance(value, str):
        return f"{name}={value}"
    if isinstance(value, list) and value:
        return f"{name}={','.join(json.dumps(v) if not isinstance(v, str) else v for v in value)}"
    raise SweepError(f"{path}: params.{name} must be a list of values or a range string "
                     f"such as \"1e-4..1e-2:log\", not {value!r}")
