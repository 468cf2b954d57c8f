"""Layers of two inputs or two outputs: bilinear forms, similarities and distances, bags of
embeddings, single recurrent steps (cells), the transformer decoder and the whole Transformer."""
from __future__ import annotations

from . import import_rules as imp
from . import subtitles as sub
from .define import P, Port, RankRule, attrs, ff_params, layer, refusal
from .spec import call

_VECTORS = RankRule((1,), "(N, features)", lambda r: "add a Flatten before it")
_PAIR = (Port("x1", doc="First tensor"), Port("x2", doc="Second tensor, the same shape"))

layer("Bilinear", "Dense", "Bilinear form y = x1ᵀ·A·x2 + b of two inputs (feature interactions).",
      (P("out_features", "int", 10, "Number of output units", min=1, max=1_000_000),
       P("bias", "bool", True, "Learn an additive bias")),
      init=lambda c: call("nn.Bilinear", (c.in_shapes[0][-1], c.in_shapes[1][-1],
                                          c.params["out_features"]),
                          {"bias": c.params["bias"]}, {"bias": True}),
      forward=lambda c: [f"{c.out} = self.{c.name}({c.in_vars[0]}, {c.in_vars[1]})"],
      inputs=(Port("in1", doc="First input (N, in1_features)"),
              Port("in2", doc="Second input (N, in2_features)")),
      aliases=("bilinear", "tensor product", "outer product layer"), short="bilinear",
      weight=True, rank=_VECTORS, torch_class="torch.nn.Bilinear",
      # NOTE: FlopCounterMode does not count torch.bilinear: the MACs are declared here.
      shape_rule=lambda p, shapes: ((p["out_features"],),
                                    shapes[0][-1] * shapes[1][-1] * p["out_features"]),
      from_module=lambda m: {"out_features": m.out_features, "bias": m.bias is not None})

layer("CosineSimilarity", "Merge", "Cosine of the angle between two inputs along a dimension.",
      (P("dim", "int", 1, "Dimension compared (1: features/channels)", min=-8, max=8),
       P("eps", "float", 1e-8, "Guards against division by zero", min=0.0, max=1.0)),
      init=lambda c: call("nn.CosineSimilarity", (), {
          "dim": c.params["dim"], "eps": c.params["eps"]}, {"dim": 1, "eps": 1e-8}),
      forward=lambda c: [f"{c.out} = self.{c.name}({c.in_vars[0]}, {c.in_vars[1]})"],
      inputs=_PAIR, aliases=("cosine", "similarity", "siamese"), short="cos",
      torch_class="torch.nn.CosineSimilarity", from_module=attrs("dim", "eps"))

layer("PairwiseDistance", "Merge", "p-norm distance between two inputs, row by row (siamese).",
      (P("p", "float", 2.0, "The norm degree (2: Euclidean)", min=0.0, max=1e6),
       P("eps", "float", 1e-6, "Added to the difference to avoid a zero norm", min=0.0,
         max=1.0),
       P("keepdim", "bool", False, "Keep the compared dimension (size 1)")),
      init=lambda c: call("nn.PairwiseDistance", (), {
          k: c.params[k] for k in ("p", "eps", "keepdim")},
          {"p": 2.0, "eps": 1e-6, "keepdim": False}),
      forward=lambda c: [f"{c.out} = self.{c.name}({c.in_vars[0]}, {c.in_vars[1]})"],
      inputs=_PAIR, aliases=("distance", "euclidean distance", "siamese", "contrastive"),
      short="dist", torch_class="torch.nn.PairwiseDistance", no_macs=True,
      subtitle=lambda p: f"L{sub.num(p['p'])}",
      from_module=lambda m: {"p": float(m.norm), "eps": float(m.eps), "keepdim": bool(m.keepdim)},
      functions=("torch.pairwise_distance", "torch.nn.functional.pairwise_distance"),
      from_call=imp.pairwise_call)

layer("EmbeddingBag", "Dense",
      "Sums, averages or maxes the embeddings of each bag of token ids (fast text models).",
      (P("num_embeddings", "int", 1000, "Vocabulary size (ids 0..n-1)", min=1, max=10_000_000),
       P("embedding_dim", "int", 64, "Size of each vector", min=1, max=65536),
       P("mode", "choice", "mean", "How a bag's vectors combine", choices=("mean", "sum", "max")),
       P("padding_idx", "int", None, "Id whose vector stays zero and is left out (none: no "
                                     "padding)", min=0, optional=True)),
      init=lambda c: call("nn.EmbeddingBag", (c.params["num_embeddings"],
                                              c.params["embedding_dim"]), {
          "mode": c.params["mode"], "padding_idx": c.params["padding_idx"]},
          {"mode": "mean", "padding_idx": None}),
      inputs=(Port("in", integer=True, doc="Bags of token ids (N, bag size), int64"),),
      aliases=("bag of words", "embedding bag", "fasttext"), short="bag", weight=True,
      rank=RankRule((1,), "(N, bag size) of token ids"), torch_class="torch.nn.EmbeddingBag",
      input_dtype="int64", probe="never", subtitle=lambda p: (
          f"{p['num_embeddings']}→{p['embedding_dim']} {p['mode']}"),
      from_module=attrs("num_embeddings", "embedding_dim", "mode", "padding_idx"))

# --- Recurrent cells: one time step -----------------------------------------------------------

_H = Port("h", optional=True, doc="The previous hidden state (zeros when not wired)")


def _cell(type_: str, doc: str, aliases: tuple, lstm: bool = False, elman: bool = False):
    params = (P("hidden_size", "int", 64, "Units in the hidden state", min=1, max=65536),
              P("bias", "bool", True, "Learn biases"))
    if elman:
        params += (P("nonlinearity", "choice", "tanh", "Activation of the hidden state",
                     choices=("tanh", "relu")),)
    defaults = {"bias": True, "nonlinearity": "tanh"}
    keys = [p.name for p in params[1:]]

    def forward(c):
        state = ""
        if len(c.in_vars) > 1:
            rest = ", ".join(c.in_vars[1:])
            state = f", ({rest})" if lstm else f", {rest}"
        outs = f"{c.out}, {c.out_vars[1]}" if lstm else c.out
        if lstm and len(c.in_vars) == 2:
            return [f"{outs} = " + refusal("it takes the state as h and c together: wire both, "
                                           "or neither (zeros)")]
        return [f"{outs} = self.{c.name}({c.x}{state})"]

    layer(type_, "Recurrent", doc, params,
          init=lambda c: call(f"nn.{type_}", (c.shape[-1], c.params["hidden_size"]),
                              {k: c.params[k] for k in keys}, defaults),
          forward=forward, weight=True, rank=_VECTORS, aliases=aliases,
          short=type_.lower().replace("cell", "_cell"),
          inputs=(Port("in", doc="This step's input (N, features)"), _H) + (
              (Port("c", optional=True, doc="The previous cell state (wire h and c together)"),)
              if lstm else ()),
          outputs=(Port("h", doc="The new hidden state"),) + (
              (Port("c", doc="The new cell state"),) if lstm else ()),
          torch_class=f"torch.nn.{type_}", from_module=attrs("hidden_size", *keys[1:]) if elman
          else lambda m: {"hidden_size": m.hidden_size, "bias": m.bias})


_cell("RNNCell", "One step of an Elman RNN: h' = tanh(W·x + U·h + b).",
      ("rnn step", "elman cell"), elman=True)
_cell("LSTMCell", "One step of an LSTM: new hidden and cell states from the input and (h, c).",
      ("lstm step", "lstm cell"), lstm=True)
_cell("GRUCell", "One step of a GRU: a new hidden state from the input and h.",
      ("gru step", "gru cell"))

# --- Transformers -----------------------------------------------------------------------------

_SEQ = RankRule((2,), "(N, time, features)", lambda r: (
    "transformers need a sequence: add a Reshape before it to make (time, features)"))
_FF = (P("dim_feedforward", "int", 256, "Hidden units of the feed-forward parts", min=1,
         max=1_000_000),
       P("dropout", "float", 0.1, "Dropout rate", min=0.0, max=1.0),
       P("activation", "choice", "relu", "Feed-forward activation", choices=("relu", "gelu")),
       P("norm_first", "bool", False, "LayerNorm before each part (pre-norm)"))
_FF_DEFAULTS = {"dim_feedforward": 2048, "dropout": 0.1, "activation": "relu",
                "norm_first": False}
_NHEAD = P("nhead", "int", 4, "Attention heads (must divide the feature size)", min=1, max=1024)


def _two(c) -> list[str]:
    return [f"{c.out} = self.{c.name}({c.in_vars[0]}, {c.in_vars[1]})"]


layer("TransformerDecoderLayer", "Attention",
      "Self-attention on the target, attention to the encoder's memory, then a feed-forward "
      "network (each with a residual and LayerNorm).",
      (_NHEAD, *_FF),
      init=lambda c: call("nn.TransformerDecoderLayer", (c.shape[-1], c.params["nhead"]), {
          **{k: c.params[k] for k in _FF_DEFAULTS}, "batch_first": True}, _FF_DEFAULTS),
      forward=_two, inputs=(Port("tgt", doc="The target sequence (N, T, features)"),
                            Port("memory", doc="The encoder's output (N, S, features)")),
      aliases=("transformer decoder", "decoder layer", "cross attention"), short="decoder",
      rank=_SEQ, torch_class="torch.nn.TransformerDecoderLayer", from_module=ff_params)

layer("Transformer", "Attention",
      "The whole encoder-decoder Transformer (Attention Is All You Need): src and tgt in, the "
      "decoded target out.",
      (_NHEAD,
       P("num_encoder_layers", "int", 2, "Encoder layers", min=1, max=256),
       P("num_decoder_layers", "int", 2, "Decoder layers", min=1, max=256), *_FF),
      init=lambda c: call("nn.Transformer", (c.shape[-1], c.params["nhead"]), {
          **{k: c.params[k] for k in ("num_encoder_layers", "num_decoder_layers",
                                      *_FF_DEFAULTS)}, "batch_first": True},
          {**_FF_DEFAULTS, "num_encoder_layers": 6, "num_decoder_layers": 6}),
      forward=_two, inputs=(Port("src", doc="The source sequence (N, S, features)"),
                            Port("tgt", doc="The target sequence (N, T, features)")),
      aliases=("transformer", "seq2seq", "encoder decoder", "attention is all you need"),
      short="transformer", rank=_SEQ, torch_class="torch.nn.Transformer",
      from_module=lambda m: {**ff_params(m.decoder.layers[0]),
                             "num_encoder_layers": len(m.encoder.layers),
                             "num_decoder_layers": len(m.decoder.layers)})
