"""How a run ended, in the words the training panel says: finished, stopped or failed."""
from __future__ import annotations

import json
from pathlib import Path

from ...train import events as ev

FINISHED, STOPPED, FAILED = "finished", "stopped", "failed"


def verdict(e, *, killed_on_stop: bool, began: bool, run_dir: Path | None
            ) -> tuple[str, str, str]:
    """(status, message, level) for the run's terminal event ``e`` (Finished or Failed).
    ``killed_on_stop``: the process was ended because it did not stop in time after Stop;
    ``began``: it had taken a training step."""
    if isinstance(e, ev.Failed) and killed_on_stop:
        # The user's Stop, not a failure. The last checkpoint (if any) is intact.
        if not began:
            return STOPPED, "Stopped before training began", "info"
        return STOPPED, ("Stopped: the step in progress did not end at once, so the training "
                         f"process was ended; {kept_weights(run_dir)}"), "info"
    if isinstance(e, ev.Failed):
        where = f" at step {e.step}" if e.step else ""
        hint = ""
        if "exit code -9" in e.message:  # SIGKILL from outside: usually the OOM killer
            hint = (" — the system killed it, most often because memory ran out: lower "
                    "the batch size or the model's size")
        return FAILED, f"The run failed{where}: {e.message}{hint}", "error"
    status = STOPPED if e.summary.get("status") == "stopped" else FINISHED
    return status, finish_text(e.summary, status), "info"


def kept_weights(run_dir: Path | None) -> str:
    """What a run ended mid-step keeps: its last checkpoint, if it wrote one."""
    try:
        state = json.loads((run_dir / "checkpoint.json").read_text(encoding="utf-8"))
        return f"its checkpoint after epoch {int(state['epoch'])} is kept"
    except (OSError, TypeError, ValueError, KeyError):
        return "it had saved no checkpoint yet, so no weights are kept"


def finish_text(summary: dict, status: str) -> str:
    what = "Stopped" if status == STOPPED else "Finished"
    parts = [f"{what} after {summary.get('epochs_done', 0)} epochs"]
    best, monitor = summary.get("best_value"), summary.get("monitor")
    if best is not None and monitor:
        shown = f"{100 * best:.1f}%" if "accuracy" in monitor else f"{best:.4g}"
        parts.append(f"best {monitor.replace('_', ' ')} {shown} at epoch "
                     f"{summary.get('best_epoch')}")
    if summary.get("samples_per_s"):
        parts.append(f"{summary['samples_per_s']:,.0f} samples/s")
    return " · ".join(parts)
