"""Shape operations: view, permute, transpose, squeeze, expand, repeat, indexing, chunk,
split and stack, emitted as the Tensor method calls a PyTorch engineer writes.

NOTE: each keeps the batch as dimension 0. A target shape leaves the batch out and the code
takes it from the tensor (``x.view(x.shape[0], -1, 8)``), so it holds for any batch size.
"""
from __future__ import annotations

import math
import re

from .define import P, Port, layer
from .index_text import check_keeps_batch, index_source, parse_index
from .ops_common import (
    MANY,
    MAX_PARTS,
    PART_PORTS,
    args_text,
    from_input,
    sample_dim,
    shape_text,
)
from .spec import fmt

_CAT = "Shape ops"


def _view(c) -> list[str]:
    target, total = c.params["shape"], math.prod(c.shape)
    known = math.prod(d for d in target if d != -1)
    if (total % known if -1 in target else known != total):
        raise ValueError(f"{shape_text(c.shape)} holds {total} values per sample, which do "
                         f"not fit {shape_text(target)}: the sizes must multiply to {total}")
    return [f"{c.out} = {c.x}.view({c.x}.shape[0], {args_text(target)})"]


layer("View", _CAT, "Reshapes each sample (the batch is kept, one size may be -1); the input "
      "must be contiguous (after a transpose, use Reshape).",
      (P("shape", "shape", (-1,), "Sample shape without the batch; one entry may be -1",
         min=-1),),
      forward=_view, aliases=("reshape", "view as", "resize tensor"), short="view",
      no_macs=True, subtitle=lambda p: shape_text(p["shape"]),
      functions=("view", "Tensor.view"),
      from_call=lambda b: ({"shape": tuple(b["shape"][1:])}, [b["input"]]))


def _permute(c) -> list[str]:
    dims, rank = c.params["dims"], len(c.shape) + 1
    dims = dims if isinstance(dims, tuple) else (dims,)
    norm = [d % rank if -rank <= d < rank else None for d in dims]
    if sorted(d for d in norm if d is not None) != list(range(rank)) or None in norm:
        raise ValueError(f"dims = {fmt(dims)} must order all {rank} dimensions of "
                         f"{shape_text(c.shape)} (0 to {rank - 1}), each once")
    if norm[0] != 0:
        raise ValueError(f"dims = {fmt(dims)} moves the batch: keep 0 first, as in "
                         f"{fmt((0, *range(rank - 1, 0, -1)))}")
    return [f"{c.out} = {c.x}.permute({args_text(dims)})"]


layer("Permute", _CAT, "Reorders dimensions (the batch, 0, stays first): x.permute(0, 2, 1).",
      (P("dims", "ints", (0, 2, 1), "New order of all dimensions, starting with 0 (the batch)",
         min=-9, max=8),),
      forward=_permute, aliases=("transpose dims", "reorder axes", "channels last"),
      short="permute", no_macs=True, subtitle=lambda p: fmt(p["dims"]),
      functions=("permute", "torch.permute", "Tensor.permute"),
      from_call=lambda b: ({"dims": tuple(b["dims"])}, [b["input"]]))


def _transpose(c) -> list[str]:
    a = sample_dim(c.params["dim0"], c.shape, "dim0")
    if a == sample_dim(c.params["dim1"], c.shape, "dim1"):
        raise ValueError("dim0 and dim1 name the same dimension: the swap would do nothing")
    return [f"{c.out} = {c.x}.transpose({c.params['dim0']}, {c.params['dim1']})"]


layer("Transpose", _CAT, "Swaps two dimensions: x.transpose(1, 2) turns (N, C, T) into (N, T, C).",
      (P("dim0", "int", 1, "First dimension (not 0, the batch)", min=-8, max=8),
       P("dim1", "int", 2, "Second dimension", min=-8, max=8)),
      forward=_transpose, aliases=("swap axes", "swapaxes", "transpose dims"), short="transpose",
      no_macs=True, subtitle=lambda p: f"{p['dim0']} ↔ {p['dim1']}",
      functions=("transpose", "torch.transpose", "Tensor.transpose", "torch.swapaxes",
                 "Tensor.swapaxes", "torch.swapdims", "Tensor.swapdims"),
      from_call=from_input("dim0", "dim1"))


def _squeeze(c) -> list[str]:
    dim = c.params["dim"]
    if dim is None:
        ones = tuple(i + 1 for i, s in enumerate(c.shape) if s == 1)
        if not ones:
            raise ValueError(f"{shape_text(c.shape)} has no dimension of size 1 to remove")
        return [f"{c.out} = {c.x}.squeeze({fmt(ones) if len(ones) > 1 else ones[0]})"]
    d = sample_dim(dim, c.shape)
    if c.shape[d - 1] != 1:
        raise ValueError(f"dim {dim} of {shape_text(c.shape)} has size {c.shape[d - 1]}, not "
                         f"1: nothing to squeeze")
    return [f"{c.out} = {c.x}.squeeze({dim})"]


layer("Squeeze", _CAT, "Removes a dimension of size 1 (all of them, the batch excepted, when "
      "dim is not set).",
      (P("dim", "int", None, "Dimension to remove (none: every size-1 sample dimension)",
         min=-8, max=8, optional=True),),
      forward=_squeeze, aliases=("drop axis", "remove dimension"), short="squeeze",
      no_macs=True, functions=("squeeze", "torch.squeeze", "Tensor.squeeze"),
      from_call=from_input("dim"))


def _unsqueeze(c) -> list[str]:
    sample_dim(c.params["dim"], c.shape, extra=1)
    return [f"{c.out} = {c.x}.unsqueeze({c.params['dim']})"]


layer("Unsqueeze", _CAT, "Inserts a dimension of size 1: x.unsqueeze(1).",
      (P("dim", "int", 1, "Position of the new dimension (not 0, the batch)", min=-9, max=9),),
      forward=_unsqueeze, aliases=("add axis", "new axis", "expand dims"), short="unsqueeze",
      no_macs=True, functions=("unsqueeze", "torch.unsqueeze", "Tensor.unsqueeze"),
      from_call=from_input("dim"))

_SIZE = re.compile(r"^(batch|-1|\d{1,9})$")


def expand_sizes(text: str) -> list[str]:
    """``"batch, -1, 64"`` -> ``["batch", "-1", "64"]``, each entry checked."""
    sizes = [s.strip() for s in text.strip().strip("()[]").split(",") if s.strip()]
    bad = [s for s in sizes if not _SIZE.fullmatch(s) or s == "0" or s.lstrip("0") == ""]
    if not sizes or bad:
        raise ValueError(f"sizes {text!r}: each size is 'batch', -1 (keep) or a positive "
                         f"integer, as in 'batch, -1, -1'")
    return sizes


def _expand(c) -> list[str]:
    sizes, rank = expand_sizes(c.params["sizes"]), len(c.shape) + 1
    if len(sizes) != rank:
        raise ValueError(f"sizes {c.params['sizes']!r} has {len(sizes)} entries but "
                         f"{shape_text(c.shape)} has {rank} dimensions (with the batch)")
    if sizes[0] not in ("batch", "-1"):
        raise ValueError(f"sizes {c.params['sizes']!r}: the first size is the batch: 'batch' "
                         f"(to the batch of 'like') or -1 (kept)")
    if "batch" in sizes and len(c.in_vars) < 2:
        raise ValueError("'batch' takes the batch size of the tensor on 'like': wire it")
    like = c.in_vars[1] if len(c.in_vars) > 1 else ""
    args = [f"{like}.shape[0]" if s == "batch" else repr(int(s)) for s in sizes]
    return [f"{c.out} = {c.x}.expand({', '.join(args)})"]


layer("Expand", _CAT, "Broadcasts size-1 dimensions without copying: a class token "
      "(1, 1, D) expanded to the batch with 'batch, -1, -1'.",
      (P("sizes", "str", "batch, -1, -1", "A size per dimension, the batch first: 'batch' "
         "(of the tensor on 'like'), -1 (kept) or a number"),),
      inputs=(Port("in"), Port("like", optional=True, doc="Tensor whose batch size 'batch' "
                                                            "means")),
      forward=_expand, aliases=("broadcast", "expand to batch", "tile view"), short="expand",
      no_macs=True, subtitle=lambda p: p["sizes"], functions=("expand", "Tensor.expand"),
      from_call=lambda b: ({"sizes": ", ".join(str(s) for s in b["size"])}, [b["input"]]))


def _repeat(c) -> list[str]:
    reps, rank = c.params["repeats"], len(c.shape) + 1
    reps = reps if isinstance(reps, tuple) else (reps,)
    if len(reps) != rank or reps[0] != 1:
        raise ValueError(f"repeats = {fmt(reps)} needs one count per dimension of "
                         f"{shape_text(c.shape)} ({rank}), the batch's first and 1")
    return [f"{c.out} = {c.x}.repeat({args_text(reps)})"]


layer("Repeat", _CAT, "Tiles the tensor: x.repeat(1, 2, 1) doubles dimension 1 (a copy).",
      (P("repeats", "ints", (1, 2, 1), "A count per dimension, 1 for the batch first",
         min=1, max=1_000_000),),
      forward=_repeat, aliases=("tile", "replicate"), short="repeat", no_macs=True,
      subtitle=lambda p: fmt(p["repeats"]), functions=("repeat", "Tensor.repeat"),
      from_call=lambda b: ({"repeats": tuple(b["repeats"])}, [b["input"]]))


def _index(c) -> list[str]:
    text = c.params["index"]
    items = parse_index(text)
    check_keeps_batch(items, c.shape, text)
    return [f"{c.out} = {c.x}{index_source(items)}"]


layer("Index", _CAT, "Indexing and slicing as in Python: '[:, 0]' takes the first step, "
      "'[..., 1:3]' a slice, '[:, None]' adds a dimension.",
      (P("index", "str", "[:, 0]", "Subscript with ':', integers, slices, None and '...'; "
         "the batch (first) stays whole"),),
      forward=_index, aliases=("slice", "select", "getitem", "take first", "class token"),
      short="index", no_macs=True, subtitle=lambda p: p["index"],
      functions=("getitem", "operator.getitem"),
      from_call=lambda b: ({"index": index_source(
          b["index"] if isinstance(b["index"], tuple) else (b["index"],))}, [b["input"]]))


def _parts(c, n: int, what: str) -> list[str]:
    if not 1 <= n <= MAX_PARTS:
        raise ValueError(f"{what} makes {n} parts; a node has at most {MAX_PARTS} outputs")
    outs = c.out_vars[:n]
    return outs


def _chunk(c) -> list[str]:
    d = sample_dim(c.params["dim"], c.shape)
    size, k = c.shape[d - 1], c.params["chunks"]
    parts = -(-size // -(-size // k)) if size else 0
    if parts != k:
        raise ValueError(f"dim {c.params['dim']} has size {size}, which chunk() cuts into "
                         f"{parts} parts, not {k}: choose a number of chunks that divides it")
    outs = _parts(c, k, "chunks")
    return [f"{', '.join(outs)} = {c.x}.chunk({k}, dim={c.params['dim']})"]


layer("Chunk", _CAT, "Cuts a tensor into equal parts along a dimension (outputs part0, "
      "part1, ...): "
      "q, k, v = x.chunk(3, dim=-1).",
      (P("chunks", "int", 2, f"Number of parts (2 to {MAX_PARTS})", min=2, max=MAX_PARTS),
       P("dim", "int", -1, "Dimension to cut (not 0, the batch)", min=-8, max=8)),
      outputs=PART_PORTS, output_count=lambda p: p["chunks"], forward=_chunk,
      aliases=("split equal", "qkv", "cut"),
      short="chunk", no_macs=True, subtitle=lambda p: f"{p['chunks']} along {p['dim']}",
      functions=("chunk", "torch.chunk", "Tensor.chunk"),
      from_call=from_input("chunks", "dim"))


def _split(c) -> list[str]:
    d = sample_dim(c.params["dim"], c.shape)
    size, split = c.shape[d - 1], c.params["split_size"]
    if isinstance(split, tuple):
        if sum(split) != size:
            raise ValueError(f"split_size {fmt(split)} adds up to {sum(split)} but dim "
                             f"{c.params['dim']} has size {size}")
        n = len(split)
    else:
        n = -(-size // split)
        if n != c.params["parts"]:
            raise ValueError(f"split_size {split} cuts dim {c.params['dim']} of size {size} into "
                             f"{n} parts, not {c.params['parts']}: set parts to {n}")
    outs = _parts(c, n, f"split_size {fmt(split)} of size {size}")
    return [f"{', '.join(outs)}{',' if n == 1 else ''} = "
            f"{c.x}.split({fmt(split)}, dim={c.params['dim']})"]


def _split_count(p: dict) -> int:
    """Split's outputs: one per listed size, else ``parts`` (the size of the dim is not known
    before analysis, and ports do not wait for it)."""
    split = p["split_size"]
    return len(split) if isinstance(split, tuple) else p["parts"]


def _split_from_call(bound: dict) -> tuple[dict, list]:
    """``x.split(n, dim)``: as many parts as the trace gave (``q, k, v = x.split(C, 2)``)."""
    params, inputs = from_input("dim", split_size="split_size_or_sections")(bound)
    if not isinstance(params.get("split_size"), tuple) and "_parts" in bound:
        params["parts"] = bound["_parts"]
    return params, inputs


layer("Split", _CAT, "Splits along a dimension into parts of a size, or of listed sizes "
      "(outputs part0, part1, ...).",
      (P("split_size", "ints", 1, "Size of each part, or a tuple of sizes that add up to the "
         "dimension", min=1, max=1_000_000),
       P("dim", "int", -1, "Dimension to split (not 0, the batch)", min=-8, max=8),
       P("parts", "int", 2, f"Outputs when split_size is one size (1 to {MAX_PARTS}; a tuple of "
         "sizes gives one per size)", min=1, max=MAX_PARTS)),
      outputs=PART_PORTS, output_count=_split_count, forward=_split,
      aliases=("split sizes", "separate", "unbind"),
      short="split", no_macs=True, subtitle=lambda p: f"{fmt(p['split_size'])} along {p['dim']}",
      functions=("split", "torch.split", "Tensor.split"),
      from_call=_split_from_call)


def _stack(c) -> list[str]:
    sample_dim(c.params["dim"], c.shape, extra=1)
    return [f"{c.out} = torch.stack([{', '.join(c.in_vars)}], dim={c.params['dim']})"]


layer("Stack", _CAT, "Stacks same-shaped tensors along a new dimension.",
      (P("dim", "int", 1, "Position of the new dimension (not 0, the batch)", min=-9, max=9),),
      inputs=MANY, forward=_stack, aliases=("stack tensors", "new axis join"), short="stack",
      no_macs=True, subtitle=lambda p: f"dim={p['dim']}",
      functions=("stack", "torch.stack"),
      from_call=lambda b: ({"dim": b.get("dim", 0)}, list(b["tensors"])))

__all__ = ["expand_sizes"]
