"""What a sweep optimises: a training metric (``val_accuracy``), or a cost of the network
(``params``, ``macs`` from the graph's analysis, ``latency`` measured in milliseconds)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .space import SweepError

COSTS = ("params", "macs", "latency")
LATENCY_BATCH = 1
LATENCY_REPEATS = 20
_THREADS = threading.Lock()  # torch's thread count is global; parallel trials measure in turn


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str  # "min" | "max"

    @property
    def is_cost(self) -> bool:
        return self.name in COSTS

    def text(self) -> str:
        return f"{self.name}:{self.direction}"


def default_direction(name: str) -> str:
    """Costs and losses are minimised; accuracies maximised (say ``:min``/``:max`` otherwise)."""
    return "max" if "accuracy" in name else "min"


def parse_objective(text: str) -> Objective:
    """``"val_accuracy:max"``, ``"params:min"``, ``"latency"`` → an Objective."""
    name, _, direction = str(text).strip().partition(":")
    name = name.strip()
    if not name.isidentifier():
        raise SweepError(f"objective {text!r}: expected METRIC[:min|max], such as "
                         f"val_accuracy:max, params:min, macs:min or latency:min")
    direction = direction.strip() or default_direction(name)
    if direction not in ("min", "max"):
        raise SweepError(f"objective {text!r}: the direction is 'min' or 'max', not "
                         f"{direction!r}")
    return Objective(name, direction)


def parse_objectives(texts, config) -> list[Objective]:
    """The objectives given, or the task's monitored metric when none are."""
    if not texts:
        from ..tasks import get_task

        monitor = get_task(config.task).monitor
        return [Objective(monitor, default_direction(monitor))]
    objectives = [o if isinstance(o, Objective) else parse_objective(o) for o in texts]
    names = [o.name for o in objectives]
    if len(set(names)) != len(names):
        raise SweepError(f"an objective is given twice: {', '.join(names)}")
    return objectives


def costs(graph, wanted: list[Objective]) -> dict[str, float]:
    """The cost objectives of ``graph`` (parameters, MACs per sample, latency in ms)."""
    names = {o.name for o in wanted if o.is_cost}
    out: dict[str, float] = {}
    if names & {"params", "macs"}:
        analysis = graph.analyze()
        out["params"] = float(analysis.total_params)
        out["macs"] = float(analysis.total_macs)
    if "latency" in names:
        out["latency"] = measure_latency(graph)
    return {k: v for k, v in out.items() if k in names}


def measure_latency(graph, batch: int = LATENCY_BATCH, repeats: int = LATENCY_REPEATS) -> float:
    """Median milliseconds of one forward pass on the CPU, one thread (comparable between
    trials whatever else runs)."""
    import torch

    from ...compile.onnx_export import model_arguments

    model = graph.build().eval()
    _, args = model_arguments(graph, batch)
    with _THREADS:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            times = _time_calls(model, args, repeats)
        finally:
            torch.set_num_threads(threads)
    times.sort()
    return 1000.0 * times[len(times) // 2]


def _time_calls(model, args, repeats: int) -> list[float]:
    import torch

    times = []
    with torch.no_grad():
        model(*args)  # warm-up: first calls allocate
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(*args)
            times.append(time.perf_counter() - t0)
    return times


def metric_value(summary: dict, objective: Objective) -> float:
    """The training metric ``objective`` names, from a finished run's summary (last epoch)."""
    final = summary.get("final") or {}
    if objective.name not in final:
        known = ", ".join(sorted(k for k, v in final.items() if isinstance(v, (int, float))))
        raise SweepError(f"objective {objective.name!r} is not a metric of this training; the "
                         f"metrics are: {known or 'none (no epoch finished)'}, or one of "
                         f"{', '.join(COSTS)}")
    return float(final[objective.name])
