"""Inputs, outputs, dense layers, reshaping, activations and merges."""
from __future__ import annotations

from . import import_rules as imp
from . import shapes
from . import subtitles as sub
from .define import Code, P, Port, RankRule, activation, layer, module_call
from .spec import call

# --- Inputs and outputs -----------------------------------------------------------------------

_GROUP = P("group", "str", "", "Part of the tuple argument (or result) of this name, with "
           "the other nodes naming it, in order (an LSTM's state (h, c)); empty, or a name no "
           "other node shares: on its own")

layer("Input", "Input/Output", "Where data enters the network; shape excludes the batch dimension.",
      (P("shape", "shape", (1, 28, 28),
         "Sample shape without the batch dimension, e.g. (1, 28, 28)"),
       P("dtype", "choice", "float32", "Data type: float32 for signals, int64 for token ids",
         choices=("float32", "int64")),
       P("batch_dim", "int", 0, "Where the batch lies in the tensor: 0 (batch first), or 1 for "
         "sequence-first tokens (T, N) and recurrent states (layers, N, hidden)", min=0,
         max=8),
       _GROUP),
      inputs=(), forward=lambda ctx: [], aliases=("data", "placeholder", "source"), short="input",
      source=True, boundary="input", subtitle=sub.input_shape, no_macs=True, probe="never")

layer("Output", "Input/Output", "A value the network returns (one per Output node, in order).",
      (_GROUP,), forward=lambda ctx: [f"{ctx.out} = {ctx.x}"], outputs=(),
      aliases=("result", "sink"),
      short="output", boundary="output", passes_values=True, no_macs=True, input_dtype="any",
      probe="never")

# --- Dense and shape -------------------------------------------------------------------------

layer("Linear", "Dense", "Fully connected layer: y = x·Wᵀ + b over the last dimension.",
      (P("out_features", "int", 10, "Number of output units", min=1, max=1_000_000),
       P("bias", "bool", True, "Learn an additive bias"),
       P("over_last", "bool", False, "Take inputs of any rank, over their last dimension "
         "(channels-last images (N, H, W, C)); off, an image is refused (a Flatten missing)")),
      init=lambda c: call("nn.Linear", (c.shape[-1], c.params["out_features"]),
                          {"bias": c.params["bias"]}, {"bias": True}),
      aliases=("dense", "fully connected", "fc", "affine", "perceptron"), short="fc", weight=True,
      rank=RankRule((1, 2), "(N, features)", lambda r: "add a Flatten before it",
                    unless="over_last"),
      subtitle=sub.param("out_features", "→{}"), shape_rule=shapes.linear, probe="auto",
      torch_class="torch.nn.Linear", from_module=imp.linear,
      weight_functions=("torch.nn.functional.linear",), from_weights=imp.linear_weights)

layer("Flatten", "Shape", "Flattens dimensions start_dim..end_dim into one.",
      (P("start_dim", "int", 1, "First dimension to flatten (0 is the batch)", min=1, max=8),
       P("end_dim", "int", -1, "Last dimension to flatten (-1: the last)", min=-1, max=8)),
      init=lambda c: call("nn.Flatten", (), {"start_dim": c.params["start_dim"],
                                              "end_dim": c.params["end_dim"]},
                          {"start_dim": 1, "end_dim": -1}),
      aliases=("vectorize", "ravel"), short="flatten", no_macs=True, passes_values=True,
      shape_rule=shapes.flatten, input_dtype="any", probe="never", torch_class="torch.nn.Flatten",
      from_module=imp.flatten)

layer("Unflatten", "Shape", "Splits the features dimension into the given shape.",
      (P("shape", "shape", (1, 8, 8), "Shape that dimension 1 becomes"),),
      init=lambda c: call("nn.Unflatten", (1, c.params["shape"])),
      aliases=("unflatten", "to image"), short="unflatten", no_macs=True, passes_values=True,
      input_dtype="any",
      subtitle=lambda p: f"→{sub.shape(p['shape'])}", shape_check=shapes.unflatten_fits,
      torch_class="torch.nn.Unflatten", from_module=imp.unflatten)

layer("Reshape", "Shape", "Reshapes each sample to the given shape (-1 infers one dimension).",
      (P("shape", "shape", (-1,), "Target sample shape; one entry may be -1", min=-1),),
      init=lambda c: call("Reshape", (c.params["shape"],)), helpers=("Reshape",),
      aliases=("view", "resize tensor"), short="reshape", no_macs=True, passes_values=True,
      input_dtype="any",
      subtitle=lambda p: f"→{sub.shape(p['shape'])}", shape_check=shapes.reshape_fits,
      probe="never", torch_class="netbuilder.layers.modules.Reshape",
      from_module=lambda m: {"shape": tuple(m.shape)})

layer("Identity", "Shape", "Passes its input through unchanged (a placeholder or a named tap).",
      init=lambda c: "nn.Identity()", aliases=("pass", "noop", "skip"), short="identity",
      same_shape=True, no_macs=True, input_dtype="any", passes_values=True,
      torch_class="torch.nn.Identity",
      from_module=lambda m: {})

layer("Embedding", "Dense", "Looks up a learned vector for each integer token id.",
      (P("num_embeddings", "int", 1000, "Vocabulary size (ids 0..n-1)", min=1, max=10_000_000),
       P("embedding_dim", "int", 64, "Size of each vector", min=1, max=65536),
       P("padding_idx", "int", None, "Id whose vector stays zero (none: no padding)", min=0,
         optional=True)),
      init=lambda c: call("nn.Embedding", (c.params["num_embeddings"], c.params["embedding_dim"]),
                          {"padding_idx": c.params["padding_idx"]}, {"padding_idx": None}),
      aliases=("lookup", "word vectors", "token embedding"), short="embed", weight=True,
      subtitle=lambda p: f"{p['num_embeddings']}→{p['embedding_dim']}", no_macs=True,
      input_dtype="int64", probe="never", torch_class="torch.nn.Embedding",
      from_module=imp.embedding, weight_functions=("torch.nn.functional.embedding",),
      from_weights=imp.embedding_weights)

# --- Activations -----------------------------------------------------------------------------

_F = "torch.nn.functional."  # where the importer finds the functional forms


activation("ReLU", "Rectified linear unit: max(0, x).", aliases=("rectifier",),
           output_range="nonnegative", from_call=imp.unary(),
           functions=(f"{_F}relu", "torch.relu", f"{_F}relu_", "torch.relu_", "Tensor.relu"))
activation("LeakyReLU", "ReLU with a small slope for negative inputs.",
           (P("negative_slope", "float", 0.01, "Slope for x < 0", min=0.0, max=1.0),),
           defaults={"negative_slope": 0.01}, short="lrelu",
           subtitle=lambda p: f"slope {sub.num(p['negative_slope'])}",
           functions=(f"{_F}leaky_relu",), from_call=imp.unary("negative_slope"))
activation("ELU", "Exponential linear unit.",
           (P("alpha", "float", 1.0, "Saturation value for negative inputs", min=0.0),),
           defaults={"alpha": 1.0}, subtitle=lambda p: f"α={sub.num(p['alpha'])}",
           functions=(f"{_F}elu",), from_call=imp.unary("alpha"))
activation("GELU", "Gaussian error linear unit (transformers).",
           (P("approximate", "choice", "none", "Exact or tanh approximation",
              choices=("none", "tanh")),), defaults={"approximate": "none"},
           subtitle=lambda p: "tanh approx." if p.get("approximate") != "none" else "",
           functions=(f"{_F}gelu",), from_call=imp.unary("approximate"))
activation("SiLU", "Sigmoid-weighted linear unit x·σ(x) (swish).", aliases=("swish",),
           functions=(f"{_F}silu",), from_call=imp.unary())
activation("Sigmoid", "Logistic function 1/(1+e^-x), output in (0, 1).", aliases=("logistic",),
           output_range="unit_interval", from_call=imp.unary(),
           functions=("torch.sigmoid", f"{_F}sigmoid", "Tensor.sigmoid"))
activation("Tanh", "Hyperbolic tangent, output in (-1, 1).", output_range="signed_unit",
           functions=("torch.tanh", f"{_F}tanh", "Tensor.tanh"), from_call=imp.unary())
activation("Softmax", "Normalizes to probabilities along a dimension.",
           (P("dim", "int", -1, "Dimension that sums to one", min=-8, max=8),), defaults={},
           subtitle=sub.param("dim", "dim={}"), same_shape=False, output_range="probabilities",
           shape_check=shapes.softmax_dim, from_module=imp.softmax,
           functions=(f"{_F}softmax", "torch.softmax", "Tensor.softmax"),
           from_call=imp.softmax_call)
activation("LogSoftmax", "Log of softmax (pair with the NLL loss).",
           (P("dim", "int", -1, "Dimension that sums to one", min=-8, max=8),), defaults={},
           short="logsoftmax", subtitle=sub.param("dim", "dim={}"), same_shape=False,
           output_range="log_probabilities", shape_check=shapes.softmax_dim,
           from_module=imp.softmax, from_call=imp.softmax_call,
           functions=(f"{_F}log_softmax", "torch.log_softmax", "Tensor.log_softmax"))

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
      from_module=imp.prelu)

# --- Merges ----------------------------------------------------------------------------------

_MANY = (Port("in", variadic=True, doc="Two or more tensors"),)


def _join(op: str):
    return lambda c: [f"{c.out} = {f' {op} '.join(c.in_vars)}"]


layer("Add", "Merge", "Element-wise sum of its inputs (residual connections).", inputs=_MANY,
      forward=_join("+"), aliases=("sum", "residual", "skip connection", "plus"), short="add",
      merge="elementwise", shape_rule=shapes.elementwise, no_macs=True, input_dtype="any",
      probe="never", from_call=imp.binary_call,
      functions=("operator.add", "operator.iadd", "torch.add", "Tensor.add"))
layer("Multiply", "Merge", "Element-wise product of its inputs (gating).", inputs=_MANY,
      forward=_join("*"), aliases=("product", "gate", "hadamard"), short="mul",
      merge="elementwise", shape_rule=shapes.elementwise, no_macs=True, input_dtype="any",
      probe="never", from_call=imp.binary_call,
      functions=("operator.mul", "operator.imul", "torch.mul", "Tensor.mul"))
layer("Concat", "Merge", "Concatenates its inputs along a dimension (channels by default).",
      (P("dim", "int", 1, "Dimension to join along (1: channels/features)", min=-8, max=8),),
      inputs=_MANY,
      forward=lambda c: [f"{c.out} = torch.cat([{', '.join(c.in_vars)}], dim={c.params['dim']})"],
      aliases=("concatenate", "inception", "join", "stack channels"), short="cat",
      merge="concat", shape_rule=shapes.concat, no_macs=True, input_dtype="any",
      subtitle=sub.param("dim", "dim={}"), probe="never", from_call=imp.cat_call,
      functions=("torch.cat", "torch.concat", "torch.concatenate"))

__all__ = ["Code", "module_call"]
