"""Checks for generative graphs: what is missing from a GAN, a VAE or an autoencoder.

These are about the *drawing* (which blocks exist, what feeds what), not shapes of single layers
(analysis reports those). A half-drawn GAN still compiles, so its gaps are warnings, unless the
training needs that structure: the training task hands down its ``needs`` (``Task.graph_needs``,
words of ``NEEDS``), and the gaps they name become errors. No task is named here.
"""
from __future__ import annotations

import math
from collections.abc import Collection

from ..graph import Diagnostic, Graph, Node, fmt_shape
from .analysis import Analysis, analyze

# What a training may need of the drawing.
NEEDS = {
    "gan": "Noise → Generator → Discriminator, the Discriminator also fed the real data",
    "reconstruction": "an output shaped like the Input (Encoder → Decoder)",
    "latent": "a Reparameterize node sampling the code (mu, logvar)",
}


def gen_checks(graph: Graph, analysis: Analysis | None = None,
               needs: Collection[str] = ()) -> list[Diagnostic]:
    """Diagnostics about generator/discriminator, encoder/decoder and Reparameterize wiring;
    the gaps of the structures in ``needs`` (keys of ``NEEDS``) are errors."""
    unknown = sorted(set(needs) - set(NEEDS))
    if unknown:
        raise ValueError(f"unknown graph needs {', '.join(unknown)}; the needs are "
                         f"{', '.join(NEEDS)}")
    if not len(graph):
        return []
    analysis = analysis or analyze(graph)
    out = _gan(graph, analysis, "error" if "gan" in needs else "warning")
    out += _vae(graph, analysis)
    out += _reconstruction(graph, analysis, needs)
    return out


def blocks(graph: Graph, role: str) -> list[Node]:
    """Block nodes of ``graph`` with this role ("generator", "discriminator", ...)."""
    return [n for n in graph.nodes() if n.inner is not None and n.spec.block_role == role]


def _sources(graph: Graph, node_id: str, port: str | None = None) -> list[Node]:
    return [graph.node(e.src) for e in graph.in_edges(node_id)
            if port is None or e.dst_port == port]


def _data_input(graph: Graph) -> Node | None:
    ins = [graph.node(i) for i in graph.inputs()]
    return ins[0] if ins else None


def _input_phrase(graph: Graph) -> str:
    data = _data_input(graph)
    return f"Input '{data.name}'" if data else "an Input with the data's shape"


# --- GAN --------------------------------------------------------------------------------------


def _gan(graph: Graph, analysis: Analysis, severity: str) -> list[Diagnostic]:
    gens, discs = blocks(graph, "generator"), blocks(graph, "discriminator")
    noises = [n for n in graph.nodes() if n.is_drawn_source]
    out: list[Diagnostic] = []
    for z in noises:
        if not graph.out_edges(z.id):
            out.append(Diagnostic("warning", z.id, f"{z.label} feeds nothing: wire it into a "
                                                   f"Generator block"))
    if not gens and not discs:
        if noises and severity == "error":
            out.append(Diagnostic("error", None, "The GAN needs a Generator block fed by the "
                                                 "Noise: add one from the palette (Blocks)"))
        return out
    data = _input_phrase(graph)
    for g in gens:
        feeders = _sources(graph, g.id)
        if not feeders:
            out.append(Diagnostic(severity, g.id, f"{g.label} needs noise: add a Noise node "
                                                  f"(Generative) and wire it into the Generator"))
        elif severity == "error" and not any(f.is_drawn_source for f in feeders):
            out.append(Diagnostic("warning", g.id, f"{g.label} is fed by "
                                  f"{', '.join(f.label for f in feeders)}, not by a Noise node: "
                                  f"a GAN's generator draws from noise"))
    if gens and not discs:
        out.append(Diagnostic(severity, gens[0].id,
                              f"The GAN needs a Discriminator block fed by the Generator's output "
                              f"and by the real data ({data}): add a Discriminator (Blocks), "
                              f"wire {gens[0].label} into it and {data} into its 'real' port"))
    if discs and not gens:
        out.append(Diagnostic(severity, discs[0].id,
                              f"The GAN needs a Generator block: add Noise → Generator and wire "
                              f"the Generator into {discs[0].label}"))
    for d in discs:
        out += _discriminator(graph, analysis, d, gens, data, severity)
    return out


def _discriminator(graph: Graph, analysis: Analysis, d: Node, gens: list[Node], data: str,
                   severity: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    main_ports = [p.name for p in graph.input_ports(d.id) if p.name != "real"]
    fed = [s for s in _sources(graph, d.id) if any(
        e.src == s.id and e.dst_port in main_ports for e in graph.in_edges(d.id))]
    if gens and not any(s.id in {g.id for g in gens} for s in fed):
        out.append(Diagnostic(severity, d.id, f"{d.label} must be fed by the Generator's output: "
                                              f"wire {gens[0].label} into its input"))
    real = _sources(graph, d.id, "real")
    used_real = any(e.src_port == "real_score" for e in graph.out_edges(d.id))
    if not real:
        # An empty 'real' port with 'real_score' wired cannot compile: always an error.
        why = " (its 'real_score' output needs it)" if used_real else ""
        out.append(Diagnostic("error" if used_real else severity, d.id,
                              f"The GAN needs a Discriminator block fed by the Generator's output "
                              f"and by the real data ({data}): wire {data} into the 'real' port "
                              f"of {d.label}{why}"))
    elif not real[0].is_input:
        out.append(Diagnostic("warning", d.id, f"The 'real' port of {d.label} is fed by "
                                               f"{real[0].label}: it should receive the real data "
                                               f"({data})"))
    shape = analysis.shape(d.id)
    if shape is not None and math.prod(shape) != 1:
        out.append(Diagnostic(severity, d.id,
                              f"{d.label} outputs {fmt_shape(shape)} but a discriminator gives "
                              f"one score per sample: end it with Flatten → Linear(out_features"
                              f"=1) → Sigmoid"))
    return out


# --- VAE --------------------------------------------------------------------------------------


def _vae(graph: Graph, analysis: Analysis) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for z in [n for n in graph.nodes() if n.spec.samples_latent]:
        wired = {e.dst_port: e for e in graph.in_edges(z.id)}
        if len(wired) < 2:
            missing = " and ".join(p for p in ("mu", "logvar") if p not in wired)
            out.append(Diagnostic("error", z.id,
                                  f"{z.label} needs both mu and logvar wired ({missing} is "
                                  f"missing): add two Linear layers from the encoder, one into "
                                  f"'mu' and one into 'logvar'"))
            continue
        mu, logvar = wired["mu"], wired["logvar"]
        if (mu.src, mu.src_port) == (logvar.src, logvar.src_port):
            out.append(Diagnostic("error", z.id,
                                  f"{z.label} receives the same tensor as mu and logvar: give "
                                  f"each its own Linear layer from the encoder"))
        if not graph.out_edges(z.id):
            out.append(Diagnostic("warning", z.id,
                                  f"{z.label} feeds nothing: a VAE decodes z with a Decoder "
                                  f"block back to the data's shape"))
    return out


# --- Autoencoders -----------------------------------------------------------------------------


def _reconstruction(graph: Graph, analysis: Analysis, needs: Collection[str]
                    ) -> list[Diagnostic]:
    encs, decs = blocks(graph, "encoder"), blocks(graph, "decoder")
    vae = any(n.spec.samples_latent for n in graph.nodes())
    out: list[Diagnostic] = []
    needed = "reconstruction" in needs
    if not needed and not vae:
        return out  # Encoder/Decoder blocks also make U-Nets and seq2seq: not our business
    severity = "error" if needed else "warning"
    if needed and encs and not decs:
        out.append(Diagnostic(severity, encs[0].id,
                              f"The autoencoder needs a Decoder block after {encs[0].label} "
                              f"(Encoder → [Reparameterize] → Decoder) that maps the code back "
                              f"to the data's shape"))
    if "latent" in needs and not vae:
        out.append(Diagnostic(severity, None,
                              "The VAE needs a Reparameterize node between the Encoder and the "
                              "Decoder, fed by two Linear layers (mu and logvar)"))
    data = _data_input(graph)
    outputs = graph.outputs()
    if data is None or not outputs:
        return out
    want = analysis.shape(data.id)
    got = analysis.shape(outputs[0]) if not graph.node(outputs[0]).is_output else \
        _output_shape(graph, analysis, outputs[0])
    if want is None or got is None or tuple(got) == tuple(want):
        return out
    where = decs[0].label if decs else "the last layer"
    if math.prod(got) == math.prod(want):
        fix = f"end {where} with an Unflatten/Reshape to {tuple(want)}"
    else:
        fix = f"make {where} produce {math.prod(want)} values per sample"
    out.append(Diagnostic(severity, outputs[0],
                          f"The reconstruction {fmt_shape(got)} must have the shape of "
                          f"Input '{data.name}' {fmt_shape(want)} to be compared with it: {fix}"))
    return out


def _output_shape(graph: Graph, analysis: Analysis, output_id: str) -> tuple | None:
    info = analysis.nodes.get(output_id)
    return info.in_shapes[0] if info and info.in_shapes else None


__all__ = ["NEEDS", "blocks", "gen_checks"]
