"""Training tests: one intra-op thread (opt in with ``pytestmark``), and helpers beside them."""
import sys
from pathlib import Path

import pytest

# train_helpers sits beside the tests; with --import-mode=importlib its folder is not on
# sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread: the short runs are timed for one core, and two threads fight over a
    busy machine's cores."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def train_example(tmp_path_factory, one_thread):
    """``train_example(stem, epochs)`` → ``(graph, config, result, events)``: the bundled example
    trained on the CPU from seed 0, its run folder under a fresh temporary folder."""
    import torch
    from train_helpers import EXAMPLES

    import netbuilder as nb
    from netbuilder.train.config import TrainingConfig
    from netbuilder.train.trainer import train

    def run(stem: str, epochs: int):
        torch.manual_seed(0)
        g = nb.load(str(EXAMPLES / f"{stem}.json"))
        cfg = TrainingConfig.from_graph(g).replace(epochs=epochs, device="cpu")
        events: list = []
        result = train(g, cfg, emit=events.append, out_dir=tmp_path_factory.mktemp(stem))
        return g, cfg, result, events

    return run
