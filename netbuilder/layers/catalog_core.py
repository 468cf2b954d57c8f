"""Inputs, outputs, dense layers, reshaping, activations and merges."""
from __future__ import annotations

from .define import Code, P, Port, RankRule, activation, attrs, layer, module_call
from .spec import call

# --- Inputs and outputs -----------------------------------------------------------------------

layer("Input", "Input/Output", "Where data enters the network; shape excludes the batch dimension.",
      (P("shape", "shape", (1, 28, 28),
         "Sample shape without the batch dimension, e.g. (1, 28, 28)"),
       P("dtype", "choice", "float32", "Data type: float32 for signals, int64 for token ids",
         choices=("float32", "int64"))),
      inputs=(), forward=lambda ctx: [], aliases=("data", "placeholder", "source"), short="input",
      source=True)

layer("Output", "Input/Output", "A value the network returns (one per Output node, in order).",
      forward=lambda ctx: [f"{ctx.out} = {ctx.x}"], outputs=(), aliases=("result", "sink"),
      short="output")

# --- Dense and shape -------------------------------------------------------------------------

layer("Linear", "Dense", "Fully connected layer: y = x·Wᵀ + b over the last dimension.",
      (P("out_features", "int", 10, "Number of output units", min=1, max=1_000_000),
       P("bias", "bool", True, "Learn an additive bias")),
      init=lambda c: call("nn.Linear", (c.shape[-1], c.params["out_features"]),
                          {"bias": c.params["bias"]}, {"bias": True}),
      aliases=("dense", "fully connected", "fc", "affine", "perceptron"), short="fc", weight=True,
      torch_class="torch.nn.Linear",
      from_module=lambda m: {"out_features": m.out_features, "bias": m.bias is not None},
      rank=RankRule((1, 2), "(N, features)", lambda r: "add a Flatten before it"))

layer("Flatten", "Shape", "Flattens dimensions start_dim..end_dim into one.",
      (P("start_dim", "int", 1, "First dimension to flatten (0 is the batch)", min=1, max=8),
       P("end_dim", "int", -1, "Last dimension to flatten (-1: the last)", min=-1, max=8)),
      init=lambda c: call("nn.Flatten", (), {"start_dim": c.params["start_dim"],
                                              "end_dim": c.params["end_dim"]},
                          {"start_dim": 1, "end_dim": -1}),
      aliases=("vectorize", "ravel"), short="flatten", no_macs=True,
      torch_class="torch.nn.Flatten", from_module=attrs("start_dim", "end_dim"))

layer("Unflatten", "Shape", "Splits the features dimension into the given shape.",
      (P("shape", "shape", (1, 8, 8), "Shape that dimension 1 becomes"),),
      init=lambda c: call("nn.Unflatten", (1, c.params["shape"])),
      aliases=("unflatten", "to image"), short="unflatten", no_macs=True,
      torch_class="torch.nn.Unflatten",
      from_module=lambda m: {"shape": tuple(m.unflattened_size)})

layer("Reshape", "Shape", "Reshapes each sample to the given shape (-1 infers one dimension).",
      (P("shape", "shape", (-1,), "Target sample shape; one entry may be -1", min=-1),),
      init=lambda c: call("Reshape", (c.params["shape"],)), helpers=("Reshape",),
      aliases=("view", "resize tensor"), short="reshape")

layer("Identity", "Shape", "Passes its input through unchanged (a placeholder or a named tap).",
      init=lambda c: "nn.Identity()", aliases=("pass", "noop", "skip"), short="identity",
      same_shape=True, no_macs=True, torch_class="torch.nn.Identity", from_module=lambda m: {})

layer("Embedding", "Dense", "Looks up a learned vector for each integer token id.",
      (P("num_embeddings", "int", 1000, "Vocabulary size (ids 0..n-1)", min=1, max=10_000_000),
       P("embedding_dim", "int", 64, "Size of each vector", min=1, max=65536),
       P("padding_idx", "int", None, "Id whose vector stays zero (none: no padding)", min=0,
         optional=True)),
      init=lambda c: call("nn.Embedding", (c.params["num_embeddings"], c.params["embedding_dim"]),
                          {"padding_idx": c.params["padding_idx"]}, {"padding_idx": None}),
      aliases=("lookup", "word vectors", "token embedding"), short="embed", weight=True,
      no_macs=True, torch_class="torch.nn.Embedding",
      from_module=attrs("num_embeddings", "embedding_dim", "padding_idx"))

# --- Activations -----------------------------------------------------------------------------

activation("ReLU", "Rectified linear unit: max(0, x).", aliases=("rectifier",))
activation("LeakyReLU", "ReLU with a small slope for negative inputs.",
           (P("negative_slope", "float", 0.01, "Slope for x < 0", min=0.0, max=1.0),),
           defaults={"negative_slope": 0.01}, short="lrelu")
activation("ELU", "Exponential linear unit.",
           (P("alpha", "float", 1.0, "Saturation value for negative inputs", min=0.0),),
           defaults={"alpha": 1.0})
activation("GELU", "Gaussian error linear unit (transformers).",
           (P("approximate", "choice", "none", "Exact or tanh approximation",
              choices=("none", "tanh")),), defaults={"approximate": "none"})
activation("SiLU", "Sigmoid-weighted linear unit x·σ(x) (swish).", aliases=("swish",))
activation("Sigmoid", "Logistic function 1/(1+e^-x), output in (0, 1).", aliases=("logistic",))
activation("Tanh", "Hyperbolic tangent, output in (-1, 1).")
activation("Softmax", "Normalizes to probabilities along a dimension.",
           (P("dim", "int", -1, "Dimension that sums to one", min=-8, max=8),), defaults={})
activation("LogSoftmax", "Log of softmax (pair with the NLL loss).",
           (P("dim", "int", -1, "Dimension that sums to one", min=-8, max=8),), defaults={},
           short="logsoftmax")

layer("PReLU", "Activation", "Leaky ReLU whose negative slope is learned.",
      (P("num_parameters", "choice", "one", "One slope, or one per channel",
         choices=("one", "per_channel")),
       P("init_slope", "float", 0.25, "Initial slope", min=0.0, max=1.0)),
      # NOTE: torch's PReLU keeps one slope per entry of dim 1, the first sample dimension:
      # channels of images, features of vectors.
      init=lambda c: call("nn.PReLU", (), {
          "num_parameters": 1 if c.params["num_parameters"] == "one" or not c.shape
          else c.shape[0],
          "init": c.params["init_slope"]}, {"num_parameters": 1, "init": 0.25}),
      aliases=("parametric relu",), same_shape=True, no_macs=True, torch_class="torch.nn.PReLU",
      from_module=lambda m: {"num_parameters": "one" if m.num_parameters == 1 else "per_channel",
                             "init_slope": float(m.init)})

# --- Merges ----------------------------------------------------------------------------------

_MANY = (Port("in", variadic=True, doc="Two or more tensors"),)


def _join(op: str):
    return lambda c: [f"{c.out} = {f' {op} '.join(c.in_vars)}"]


layer("Add", "Merge", "Element-wise sum of its inputs (residual connections).", inputs=_MANY,
      forward=_join("+"), aliases=("sum", "residual", "skip connection", "plus"), short="add")
layer("Multiply", "Merge", "Element-wise product of its inputs (gating).", inputs=_MANY,
      forward=_join("*"), aliases=("product", "gate", "hadamard"), short="mul")
layer("Concat", "Merge", "Concatenates its inputs along a dimension (channels by default).",
      (P("dim", "int", 1, "Dimension to join along (1: channels/features)", min=-8, max=8),),
      inputs=_MANY,
      forward=lambda c: [f"{c.out} = torch.cat([{', '.join(c.in_vars)}], dim={c.params['dim']})"],
      aliases=("concatenate", "inception", "join", "stack channels"), short="cat")

__all__ = ["Code", "module_call"]
