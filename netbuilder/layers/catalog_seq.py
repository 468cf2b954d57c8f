"""Recurrent layers, attention, transformers, generative primitives and blocks."""
from __future__ import annotations

from . import import_rules as imp
from . import shapes
from . import subtitles as sub
from .define import P, Port, RankRule, layer, refusal
from .spec import call

_SEQ = RankRule((2,), "(N, time, features)", lambda r: (
    "recurrent and attention layers need a sequence: add a Reshape before it to make "
    "(time, features)"))


def _recurrent(type_: str, doc: str, aliases: tuple, short: str, elman: bool = False,
               cell: bool = False):
    params = (
        P("hidden_size", "int", 64, "Units in the hidden state", min=1, max=65536),
        P("num_layers", "int", 1, "Stacked recurrent layers", min=1, max=64),
        P("bidirectional", "bool", False, "Also read the sequence backwards (doubles features)"),
        P("dropout", "float", 0.0, "Dropout between stacked layers", min=0.0, max=1.0),
        P("output", "choice", "last", "Return every step, or only the last step",
          choices=("last", "sequence")),
    )
    if elman:
        params += (P("nonlinearity", "choice", "tanh", "Activation of the hidden state",
                     choices=("tanh", "relu")),)
    params += (P("state", "bool", False, "Also return the final state (outputs h_n" +
                 (", c_n" if cell else "") + "); the initial one is wired in, or zeros"),)
    defaults = {"num_layers": 1, "bidirectional": False, "dropout": 0.0, "nonlinearity": "tanh"}
    keys = [k for k in defaults if k != "nonlinearity" or elman]

    def init(c):
        kw = {k: c.params[k] for k in keys}
        kw["batch_first"] = c.batch_first  # NOTE: sequence-first when an Input says so
        return call(f"nn.{type_}", (c.shape[-1], c.params["hidden_size"]), kw, defaults)

    def forward(c):
        state = c.in_vars[1:]
        given = "" if not state else f", ({', '.join(state)})" if cell else f", {state[0]}"
        final = "_" if not c.params.get("state") else \
            f"({c.out_vars[1]}, {c.out_vars[2]})" if cell else c.out_vars[1]
        lines = [f"{c.out}, {final} = self.{c.name}({c.x}{given})"]
        if cell and len(state) == 1:
            return [f"{c.out} = " + refusal("it takes the state as h and c together: wire "
                                            "both, or neither (zeros)")]
        if c.params["output"] == "last" and not c.batch_first:
            lines.append(f"{c.out} = {c.out}[-1]")
        elif c.params["output"] == "last" and c.params["bidirectional"]:
            # NOTE: the backward direction ends at step 0, not at step -1: its last state is
            # out[:, 0, H:]. Taking out[:, -1] would give it one step of context.
            h = c.params["hidden_size"]
            lines += ["# the forward direction's last step, and the backward one's (at t = 0)",
                      f"{c.out} = torch.cat([{c.out}[:, -1, :{h}], {c.out}[:, 0, {h}:]], dim=1)"]
        elif c.params["output"] == "last":
            lines.append(f"{c.out} = {c.out}[:, -1]")
        return lines

    state_in = (Port("h", optional=True, doc="The initial hidden state (layers, N, hidden); "
                      "zeros when not wired"),) + ((Port("c", optional=True, doc=(
                          "The initial cell state (wire h and c together)")),) if cell else ())
    state_out = (Port("h_n", doc="The final hidden state (with 'state' on)"),) + (
        (Port("c_n", doc="The final cell state (with 'state' on)"),) if cell else ())
    layer(type_, "Recurrent", doc, params, init=init, forward=forward, aliases=aliases,
          inputs=(Port("in", doc="The sequence (N, time, features)"), *state_in),
          outputs=(Port("out"), *state_out),
          output_count=lambda p: 1 + (len(state_out) if p.get("state") else 0),
          short=short, rank=_SEQ, weight=True, subtitle=sub.recurrent(type_),
          torch_class=f"torch.nn.{type_}", from_module=imp.recurrent,
          torch_call="recurrent_with_cell" if cell else "recurrent")


_recurrent("RNN", "Elman recurrent network: h_t = tanh(W·x_t + U·h_{t-1} + b).",
           ("elman", "simple rnn", "recurrent"), "rnn", elman=True)
_recurrent("LSTM", "Long short-term memory: gated recurrence that keeps long-range memory.",
           ("long short-term memory", "recurrent", "sequence"), "lstm", cell=True)
_recurrent("GRU", "Gated recurrent unit: a lighter LSTM with update and reset gates.",
           ("gated recurrent unit", "recurrent", "sequence"), "gru")

layer("MultiheadAttention", "Attention",
      "Self-attention: every step attends to every step with several heads.",
      (P("num_heads", "int", 4, "Heads (must divide the feature size)", min=1, max=1024),
       P("dropout", "float", 0.0, "Dropout on attention weights", min=0.0, max=1.0),
       P("bias", "bool", True, "Learn projection biases")),
      init=lambda c: call("nn.MultiheadAttention", (c.shape[-1], c.params["num_heads"]), {
          "dropout": c.params["dropout"], "bias": c.params["bias"], "batch_first": True},
          {"dropout": 0.0, "bias": True}),
      forward=lambda c: [f"{c.out}, _ = self.{c.name}({c.x}, {c.x}, {c.x}, need_weights=False)"],
      aliases=("self attention", "attention", "mha", "transformer"), short="attn", rank=_SEQ,
      subtitle=sub.param("num_heads", "{} heads"), torch_class="torch.nn.MultiheadAttention",
      torch_call="self_attention",
      from_module=imp.attention)

layer("TransformerEncoderLayer", "Attention",
      "Self-attention plus a feed-forward network, each with a residual and LayerNorm.",
      (P("nhead", "int", 4, "Attention heads (must divide the feature size)", min=1, max=1024),
       P("dim_feedforward", "int", 256, "Hidden units of the feed-forward part", min=1,
         max=1_000_000),
       P("dropout", "float", 0.1, "Dropout rate", min=0.0, max=1.0),
       P("activation", "choice", "relu", "Feed-forward activation", choices=("relu", "gelu")),
       P("norm_first", "bool", False, "LayerNorm before each part (pre-norm)")),
      init=lambda c: call("nn.TransformerEncoderLayer", (c.shape[-1], c.params["nhead"]), {
          **{k: c.params[k] for k in ("dim_feedforward", "dropout", "activation", "norm_first")},
          "batch_first": True},
          {"dim_feedforward": 2048, "dropout": 0.1, "activation": "relu", "norm_first": False}),
      aliases=("transformer", "encoder layer", "bert"), short="encoder", rank=_SEQ,
      subtitle=lambda p: f"{p['nhead']} heads ff{p['dim_feedforward']}",
      torch_class="torch.nn.TransformerEncoderLayer", from_module=imp.encoder_layer)

layer("PositionalEncoding", "Attention",
      "Adds position information to a sequence (sinusoidal or learned).",
      (P("kind", "choice", "sinusoidal", "Fixed sinusoids or a learned table",
         choices=("sinusoidal", "learned")),
       P("max_len", "int", 512, "Longest sequence supported", min=1, max=1_000_000)),
      init=lambda c: call("PositionalEncoding", (c.shape[-1],), {
          "max_len": c.params["max_len"], "kind": c.params["kind"]}),
      helpers=("PositionalEncoding",), aliases=("position embedding", "positional embedding"),
      short="posenc", rank=_SEQ, subtitle=sub.param("kind"), no_macs=True,
      shape_check=shapes.sequence_length,
      torch_class="netbuilder.layers.modules.PositionalEncoding",
      from_module=lambda m: {"kind": m.kind, "max_len": m.table.shape[0]})

# --- Generative primitives -------------------------------------------------------------------

layer("RBM", "Generative",
      "Restricted Boltzmann machine; its forward is the mean-field hidden activation p(h|v).",
      (P("n_hidden", "int", 64, "Hidden units", min=1, max=1_000_000),
       P("cd_k", "int", 1, "Gibbs steps of contrastive divergence", min=1, max=1000)),
      init=lambda c: call("RBM", (c.shape[-1], c.params["n_hidden"]), {"k": c.params["cd_k"]},
                          {"k": 1}),
      helpers=("RBM",), aliases=("restricted boltzmann machine", "boltzmann", "dbn"),
      short="rbm", rank=RankRule((1,), "(N, visible units)", lambda r: "add a Flatten before it"),
      subtitle=lambda p: f"→{p['n_hidden']} CD-{p['cd_k']}", pretrained_layerwise=True,
      torch_class="netbuilder.layers.modules.RBM",
      from_module=lambda m: {"n_hidden": m.weight.shape[0], "cd_k": m.k})

layer("Reparameterize", "Generative",
      "VAE sampling z = μ + σ·ε from mean and log-variance; records the KL term for the loss.",
      inputs=(Port("mu", doc="Mean of q(z|x)"), Port("logvar", doc="Log-variance of q(z|x)")),
      init=lambda c: "Reparameterize()",
      forward=lambda c: [f"{c.out} = self.{c.name}({c.in_vars[0]}, {c.in_vars[1]})"],
      helpers=("Reparameterize",), aliases=("vae", "sampling", "latent", "reparameterization"),
      short="z", rank=RankRule((1,), "(N, latent)"), no_macs=True, samples_latent=True,
      shape_check=shapes.same_pair, torch_class="netbuilder.layers.modules.Reparameterize",
      from_module=lambda m: {})

# --- Blocks (an inner graph compiled to its own class; ports come from its Input/Output nodes) --

# NOTE: ports a block spec declares come after its inner ports. Input k of them is a second call
# of the same block (shared weights) on that wire; its result is output k. A GAN's Discriminator
# scores the generator's samples on its own input and the real data on "real".
_SHARED_PORTS = {"Discriminator": (
    (Port("real", optional=True, doc="Real data (the Input), scored by the same weights"),),
    (Port("real_score", doc="The discriminator's score of the real data"),))}

# Sony NNC's RepeatStart/End: the block applied N times in sequence (nn.Sequential of N).
_REPEAT = P("repeat", "int", 1, "How many times the block is applied in sequence (×N); "
                "after the first, each must keep the shape", min=1, max=1000)

for _type, _role, _doc, _aliases in (
    ("Block", "", "A group of layers compiled to its own module class.", ("group", "subgraph",
                                                                          "module")),
    ("Encoder", "encoder", "Block that maps data to a code (autoencoders, VAEs).",
     ("encoder", "compress")),
    ("Decoder", "decoder", "Block that maps a code back to data (autoencoders, VAEs).",
     ("decoder", "reconstruct")),
    ("Generator", "generator", "Block that maps noise to samples (GANs).", ("gan", "generator")),
    ("Discriminator", "discriminator", "Block that scores samples as real or fake (GANs).",
     ("gan", "critic")),
):
    layer(_type, "Blocks", _doc, (_REPEAT,), inputs=_SHARED_PORTS.get(_type, ((), ()))[0],
          outputs=_SHARED_PORTS.get(_type, ((), ()))[1], aliases=_aliases,
          short=_role or "block", block_role=_role)
