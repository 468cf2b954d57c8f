"""What does a layer think is alike? A node's activations on many inputs, projected to 2-D."""
from __future__ import annotations

import os
import sys
import threading

import numpy as np
import torch

from ..predictor import PredictError
from . import PROJECTIONS
from .model import capture


@torch.no_grad()
def node_features(model: torch.nn.Module, layer: torch.nn.Module, x: torch.Tensor,
                  batch: int = 256) -> np.ndarray:
    """``layer``'s output for every input, flattened: (N, features)."""
    rows = []
    with capture([layer]) as seen:
        for i in range(0, len(x), batch):
            model(x[i:i + batch])
            out = seen[0]
            if not torch.is_tensor(out):
                raise PredictError("This node's output is not a tensor: pick a layer node")
            rows.append(out.detach().float().reshape(len(out), -1).cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


def project(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(N, D) → (N, 2) by PCA or t-SNE (t-SNE on the first 50 principal components, as is
    usual: the same neighbours, a fraction of the time)."""
    if method not in PROJECTIONS:
        raise PredictError(f"Unknown projection {method!r}; choose one of "
                           f"{', '.join(PROJECTIONS)}")
    n, d = features.shape
    if n < 3:
        raise PredictError(f"A 2-D projection needs at least 3 samples, not {n}")
    from sklearn.decomposition import PCA
    from threadpoolctl import threadpool_limits

    x = np.asarray(features, dtype=np.float32)
    if d < 2:
        return np.column_stack([x[:, 0] if d else np.zeros(n), np.zeros(n)]).astype(np.float32)
    # NOTE: for a few thousand points BLAS's and OpenMP's threads cost more than they bring: on
    # a busy machine their spin-waiting made the SVD of 360×120 take 7 s instead of milliseconds.
    with threadpool_limits(1 if n <= 5000 else None):
        if method == "pca":
            return PCA(n_components=2, random_state=seed).fit_transform(x).astype(np.float32)
        from sklearn.manifold import TSNE

        if d > 50:
            x = PCA(n_components=min(50, n), random_state=seed).fit_transform(x)
        # 350 iterations (250 of them sklearn's fixed early exaggeration) instead of its 1000:
        # on LeNet-5's 360 digits the same trustworthiness (0.992-0.993) and 5-NN accuracy of
        # the points (0.914-0.916) as 500 or 1000, in a third of the time; at 250 both drop.
        tsne = TSNE(n_components=2, perplexity=float(min(30, (n - 1) / 3)), init="pca",
                    max_iter=350, random_state=seed)
        return tsne.fit_transform(x).astype(np.float32)


_warming: threading.Thread | None = None


def warm_up(yielding: bool = False) -> None:
    """Import the projection library (scikit-learn) on a background thread, once.

    NOTE: importing scikit-learn costs about 3 s of processor time (scipy.stats mostly), more
    than the t-SNE of a few hundred points; a view or command that will project soon calls
    this first, so the import overlaps its model loading and waiting instead of the wait.
    ``yielding``: at a low priority (``yield_to_training``), for a view beside a training run;
    not for a command that will wait for it."""
    global _warming
    if _warming is None:
        _warming = threading.Thread(target=_import_projections, args=(yielding,),
                                    name="import sklearn", daemon=True)
        _warming.start()


def _import_projections(yielding: bool) -> None:
    if yielding:
        yield_to_training()
    import sklearn.decomposition  # noqa: F401
    import sklearn.manifold  # noqa: F401


def yield_to_training(niceness: int = 10) -> bool:
    """Lower the calling thread's scheduling priority (Linux: nice +10; elsewhere nothing) so
    that a projection made while a run trains takes the processor only when training leaves
    it idle: on a 2-core machine a t-SNE each epoch must not slow the epochs. True if done."""
    if not sys.platform.startswith("linux"):
        return False  # only Linux gives each thread its own nice value
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        if now < niceness:  # (never raise it back: that needs privileges)
            os.setpriority(os.PRIO_PROCESS, tid, niceness)
    except OSError:
        return False
    return True


def embed_run(run_dir, node: str, method: str = "pca", limit: int = 1000,
              weights: str = "weights.safetensors"
              ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(points (N, 2), labels or None, the raw inputs) of the first ``limit`` validation
    samples at ``node`` of the run's current weights: one frame of the live embedding view."""
    from .model import RunModel

    run = RunModel(run_dir, weights)
    x, y = run.validation(limit=limit)
    points = project(node_features(run.net, run.node(node), x), method)
    return points, None if y is None else y.numpy(), x.numpy()
