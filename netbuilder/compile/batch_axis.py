"""Where a wire's batch axis lies: first, as netbuilder draws networks, or where an Input
declares it (``batch_dim``: sequence-first tokens ``(T, N)``, a recurrent state
``(layers, N, hidden)``).

Shapes in the analysis exclude the batch wherever it lies; a layer downstream of such an Input
runs on meta tensors with the batch put back at its axis, and the batch is found again in its
result by its size, ``SEQ_BATCH``, which no other dimension is taken to have.
"""
from __future__ import annotations

SEQ_BATCH = 7  # the batch of a meta run where some input's batch is not first


def input_error(node) -> str | None:
    """Why an Input's ``batch_dim`` does not fit its shape; None when it does."""
    axis, rank = int(node.params.get("batch_dim", 0)), len(node.params["shape"])
    if axis > rank:
        return (f"{node.label}: batch_dim {axis} lies outside its sample shape "
                f"{tuple(node.params['shape'])} (at most {rank}: after its last dimension)")
    return None


def place(shape: tuple, axis: int, batch: int) -> tuple:
    """``shape`` with the batch put back at ``axis``."""
    return (*shape[:axis], batch, *shape[axis:])


def found(outs: list) -> list[int | None]:
    """Each result's batch axis: the first dimension of size ``SEQ_BATCH``, else the first
    that holds whole batches (``view(-1, vocabulary)`` of ``(T, N, vocabulary)`` merges the
    sequence into the batch, as a language model's loss wants it); None when it is gone."""
    def axis(o):
        dims = list(o.shape)
        return next((k for k, d in enumerate(dims) if d == SEQ_BATCH),
                    next((k for k, d in enumerate(dims) if d and d % SEQ_BATCH == 0), None))
    return [axis(o) for o in outs]


def lost_error(node, outs: list) -> str:
    shapes = ", ".join(str(tuple(o.shape)) for o in outs)
    return (f"{node.label} merges or drops the batch axis (its result has {shapes} for a batch "
            f"of {SEQ_BATCH}): keep the batch a dimension of its own")


def removed(shape: tuple, axis: int) -> tuple:
    return (*shape[:axis], *shape[axis + 1:])


__all__ = ["SEQ_BATCH", "found", "input_error", "lost_error", "place", "removed"]
