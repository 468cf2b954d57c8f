"""Shared test set-up: Qt runs offscreen (no display needed), set before Qt is first imported;
a run folder of LeNet-5 trained one epoch, for the tests that look inside a trained network."""
import os
from importlib import resources
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def lenet_run(tmp_path_factory) -> Path:
    """A run folder: the LeNet-5 example trained one epoch on the built-in digits (seed 0)."""
    import torch

    import netbuilder as nb
    from netbuilder.train.config import TrainingConfig
    from netbuilder.train.trainer import train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    try:
        g = nb.load(Path(str(resources.files("netbuilder") / "resources" / "examples"
                             / "lenet5.json")))
        out = tmp_path_factory.mktemp("lenet_run")
        train(g, TrainingConfig.from_graph(g).replace(epochs=1, device="cpu"),
              emit=lambda _e: None, out_dir=out)
    finally:
        torch.set_num_threads(threads)
    return out
