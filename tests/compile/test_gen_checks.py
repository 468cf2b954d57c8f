"""`check` explains what a GAN, a VAE or an autoencoder graph is missing; the graph's training
task hands down what it needs (``Task.graph_needs``), whose gaps are then errors."""
from __future__ import annotations

import pytest

import netbuilder as nb
from netbuilder.compile import gen_checks
from netbuilder.graph.templates import dense_encoder, make_autoencoder, make_gan, make_vae
from netbuilder.train.tasks import graph_check


def _messages(g: nb.Graph, severity: str | None = None) -> list[str]:
    return [d.message for d in graph_check(g) if severity is None or d.severity == severity]


def _block(g: nb.Graph, role: str) -> str:
    return next(n.id for n in g.nodes() if n.spec.block_role == role)


def _gan() -> nb.Graph:
    return make_gan("dense", (1, 8, 8), latent=4, hidden=(8, 8))


def test_complete_generative_graphs_have_nothing_to_report():
    cases = [(_gan(), None), (_gan(), "gan"), (make_gan("conv", (1, 16, 16), 8, 4, 4), "gan"),
             (make_vae("dense", (1, 8, 8), 4, 16), None),
             (make_vae("dense", (1, 8, 8), 4, 16), "vae"),
             (make_autoencoder("dense", (1, 8, 8), 4, (16,)), "autoencode")]
    for g, task in cases:
        g.training = {"task": task} if task else {}
        assert graph_check(g) == [], (g.name, task, graph_check(g))


def test_gan_without_real_data_says_what_to_wire():
    g = _gan()
    g.remove(g.find("p_real"))
    d = _block(g, "discriminator")
    g.disconnect(next(e for e in g.in_edges(d) if e.dst_port == "real"))
    want = ("The GAN needs a Discriminator block fed by the Generator's output and by the real "
            "data (Input 'image'): wire Input 'image' into the 'real' port of Discriminator "
            "'discriminator'")
    assert _messages(g, "warning") == [want]  # a half-drawn GAN still compiles
    g.training = {"task": "gan"}
    assert _messages(g, "error") == [want]
    diag = next(x for x in graph_check(g) if x.message == want)
    assert diag.node == d


def test_real_score_wired_without_real_data_is_an_error_whatever_the_task():
    g = _gan()
    d = _block(g, "discriminator")
    g.disconnect(next(e for e in g.in_edges(d) if e.dst_port == "real"))
    (msg,) = _messages(g, "error")
    assert msg.endswith("(its 'real_score' output needs it)")


def test_gan_without_discriminator():
    g = _gan()
    g.remove(g.find("p_real"))
    g.remove(g.find("p_fake"))
    g.remove(_block(g, "discriminator"))
    g.training = {"task": "gan"}
    (msg,) = _messages(g, "error")
    assert msg.startswith("The GAN needs a Discriminator block fed by the Generator's output "
                          "and by the real data (Input 'image'): add a Discriminator (Blocks)")


def test_generator_needs_noise_and_discriminator_needs_the_generator():
    g = _gan()
    gen, d = _block(g, "generator"), _block(g, "discriminator")
    g.disconnect(g.in_edges(gen)[0])
    g.disconnect(next(e for e in g.in_edges(d) if e.dst_port != "real"))
    msgs = _messages(g)
    assert "Generator 'generator' needs noise: add a Noise node (Generative) and wire it into " \
           "the Generator" in msgs
    assert "Discriminator 'discriminator' must be fed by the Generator's output: wire " \
           "Generator 'generator' into its input" in msgs
    assert "Noise 'z' feeds nothing: wire it into a Generator block" in msgs


def test_discriminator_must_give_one_score_per_sample():
    g = _gan()
    inner = g.node(_block(g, "discriminator")).inner
    inner.set_param(inner.find("score"), "out_features", 3)
    g.training = {"task": "gan"}
    assert "Discriminator 'discriminator' outputs (N, 3) but a discriminator gives one score " \
           "per sample: end it with Flatten → Linear(out_features=1) → Sigmoid" in \
           _messages(g, "error")


def test_reparameterize_needs_mu_and_logvar():
    g = make_vae("dense", (1, 8, 8), 4, 16)
    z = g.find("z")
    g.disconnect(next(e for e in g.in_edges(z) if e.dst_port == "logvar"))
    assert ("Reparameterize 'z' needs both mu and logvar wired (logvar is missing): add two "
            "Linear layers from the encoder, one into 'mu' and one into 'logvar'") in \
        _messages(g, "error")
    g.connect(g.find("mu"), z, dst_port="logvar")
    assert ("Reparameterize 'z' receives the same tensor as mu and logvar: give each its own "
            "Linear layer from the encoder") in _messages(g, "error")


def test_vae_task_without_reparameterize_and_autoencoder_without_decoder():
    g = make_autoencoder("dense", (1, 8, 8), 4, (16,))
    g.training = {"task": "vae"}
    assert any(m.startswith("The VAE needs a Reparameterize node") for m in _messages(g, "error"))
    h = nb.Graph("enc_only")
    x = h.add("Input", "image", shape=(1, 8, 8))
    e = h.add("Encoder", "encoder", inner=dense_encoder((1, 8, 8), (16,), 4))
    h.connect(x, e)
    h.connect(e, h.add("Output", "code"))
    assert graph_check(h) == []  # an encoder alone is fine (a feature extractor)...
    h.training = {"task": "autoencode"}
    msgs = _messages(h, "error")  # ...but not as an autoencoder
    assert any(m.startswith("The autoencoder needs a Decoder block after Encoder 'encoder'")
               for m in msgs)
    assert "The reconstruction (N, 4) must have the shape of Input 'image' (N, 1, 8, 8) to be " \
           "compared with it: make the last layer produce 64 values per sample" in msgs


def test_reconstruction_with_the_right_size_but_wrong_shape_suggests_a_reshape():
    g = make_vae("dense", (1, 8, 8), 4, 16)
    dec = g.node(_block(g, "decoder")).inner
    dec.remove(dec.find("to_image"))
    dec.connect(next(n.id for n in dec.nodes() if n.type == "Sigmoid"), dec.outputs()[0])
    msgs = _messages(g, "warning")
    assert ("The reconstruction (N, 64) must have the shape of Input 'image' (N, 1, 8, 8) to be "
            "compared with it: end Decoder 'decoder' with an Unflatten/Reshape to (1, 8, 8)") \
        in msgs


def test_gen_checks_never_raise_on_odd_graphs():
    assert gen_checks(nb.Graph("empty")) == []
    g = nb.Graph("odd")
    g.add("Discriminator", "d")
    g.add("Reparameterize", "z")
    g.training = {"task": "gan"}
    msgs = [d.message for d in graph_check(g)]
    assert any("needs a Generator block" in m for m in msgs)
    assert any("needs both mu and logvar" in m for m in msgs)


def test_the_needs_come_from_the_task_and_are_checked():
    g = _gan()
    g.remove(g.find("p_real"))
    g.remove(g.find("p_fake"))
    g.remove(_block(g, "discriminator"))
    assert {d.severity for d in gen_checks(g)} == {"warning"}  # no task, nothing needed
    assert {d.severity for d in gen_checks(g, needs={"gan"})} == {"error"}
    assert [d.severity for d in g.check({"gan"})] == ["error"]
    with pytest.raises(ValueError, match="unknown graph needs gan_task; the needs are gan, "
                                         "reconstruction, latent"):
        gen_checks(g, needs={"gan_task"})
    g.training = {"task": "no such task"}  # the settings check names it; nothing needed here
    assert {d.severity for d in graph_check(g)} == {"warning"}
