"""A clean process that forks training runs on request, for the kill tests.

It imports netbuilder and torch once and never computes with torch itself, so a fork of it is
safe (no thread pools to inherit) and starts a run in milliseconds. Protocol, one JSON line
each way on stdin/stdout:

    {"warm": GRAPH_FILE}             →  {}                one epoch here, so that every lazy
                                                          import is done before the forks
    {"run": GRAPH_FILE, "out": DIR}  →  {"pid": PID}      fork a child that trains into DIR
    {"wait": PID}                    →  {"pid": PID, "status": N}   reap it (after a kill)
"""
import json
import os
import sys

import torch

from netbuilder.graph import load
from netbuilder.train import train


def main() -> None:
    torch.set_num_threads(1)
    for line in sys.stdin:
        cmd = json.loads(line)
        if "warm" in cmd:
            train(load(cmd["warm"]), {**load(cmd["warm"]).training, "epochs": 1})
            reply = {}
        elif "run" in cmd:
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    train(load(cmd["run"]), out_dir=cmd["out"])
                except BaseException:  # noqa: BLE001 (the exit status says it failed)
                    code = 1
                os._exit(code)
            reply = {"pid": pid}
        else:
            _, status = os.waitpid(cmd["wait"], 0)
            reply = {"pid": cmd["wait"], "status": status}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
