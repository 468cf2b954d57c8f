"""Generative templates: block graphs with the right layers and shapes, whole GAN/VAE/AE/RBM/DBN
graphs that check clean, build and run, the Noise node, the Discriminator's shared 'real' port,
and the PyTorch examples' DCGAN reproduced exactly."""
from __future__ import annotations

import json
from importlib import resources

import pytest
import torch
from torch import nn

import netbuilder as nb
from netbuilder.compile import node_attributes
from netbuilder.errors import CompileError
from netbuilder.graph.templates import (
    TEMPLATES,
    conv_discriminator,
    conv_generator,
    dcgan_levels,
    dense_generator,
    make_autoencoder,
    make_dbn,
    make_gan,
    make_rbm,
    make_vae,
    template,
)

EXAMPLES = resources.files("netbuilder") / "resources" / "examples"


def _types(g: nb.Graph) -> list[str]:
    return [g.node(i).type for i in g.topo_order() if g.node(i).type not in ("Input", "Output")]


def _block(g: nb.Graph, role: str) -> nb.Node:
    (node,) = [n for n in g.nodes() if n.spec.block_role == role]
    return node


# --- The PyTorch examples' DCGAN, written by hand, for comparison --------------------------------


class ReferenceGenerator(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())


class ReferenceDiscriminator(nn.Module):
    def __init__(self, ndf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())


def _layout(module: nn.Module) -> list[tuple]:
    """Each parameterised layer as (class, parameter shapes, conv settings), in order."""
    out = []
    for m in module.modules():
        own = [tuple(p.shape) for p in m.parameters(recurse=False)]
        if not own and not isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid)):
            continue
        extra = ()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            extra = (m.kernel_size, m.stride, m.padding)
        elif isinstance(m, nn.LeakyReLU):
            extra = (m.negative_slope,)
        out.append((type(m).__name__, tuple(own), extra))
    return out


def test_dcgan_64_example_matches_the_pytorch_examples_exactly():
    g = nb.load(str(EXAMPLES / "dcgan_64.json"))
    model = g.build()
    gen, disc = model.generator, model.discriminator
    assert sum(p.numel() for p in gen.parameters()) == 3_576_704
    assert sum(p.numel() for p in disc.parameters()) == 2_765_568
    analysis = g.analyze()
    assert analysis.nodes[_block(g, "generator").id].params == 3_576_704
    assert analysis.nodes[_block(g, "discriminator").id].params == 2_765_568
    assert _layout(gen) == _layout(ReferenceGenerator())
    assert _layout(disc) == _layout(ReferenceDiscriminator())
    z = g.node(g.find("z"))
    assert (z.params["latent_size"], z.params["spatial"]) == (100, True)
    assert g.node(g.find("image")).params["shape"] == (3, 64, 64)
    with torch.no_grad():
        fake = gen(torch.randn(2, 100, 1, 1))
        assert fake.shape == (2, 3, 64, 64) and fake.abs().max() <= 1
        assert disc(fake).shape == (2, 1)


def test_dcgan_convolutions_start_from_normal_0_02_like_weights_init():
    torch.manual_seed(0)
    model = make_gan("conv", (3, 64, 64), 100, 64, 64).build()
    w = model.generator.deconv2.weight.detach()
    assert abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.002
    assert "nn.init.normal_(self.conv1.weight, 0.0, 0.02)" in model.netbuilder_source


@pytest.mark.parametrize("size,levels", [(64, (4, 4)), (32, (4, 3)), (28, (7, 2)), (16, (4, 2)),
                                         (8, (4, 1))])
def test_dcgan_levels(size, levels):
    assert dcgan_levels(size) == levels


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 32, 32), (3, 64, 64), (1, 16, 16)])
def test_conv_generator_and_discriminator_fit_any_dcgan_size(shape):
    g = make_gan("conv", shape, latent=8, ngf=4, ndf=4)
    a = g.analyze()
    assert not g.check()
    assert a.shape(_block(g, "generator").id) == shape
    assert a.nodes[_block(g, "discriminator").id].out_shapes == [(1,), (1,)]
    gen_types = _types(_block(g, "generator").inner)
    assert gen_types[0] == "ConvTranspose2d" and gen_types[-1] == "Tanh"
    assert {"BatchNorm2d", "ReLU"} <= set(gen_types)
    disc_types = _types(_block(g, "discriminator").inner)
    assert disc_types[:2] == ["Conv2d", "LeakyReLU"]  # no BatchNorm on the first layer
    assert disc_types[-2:] == ["Sigmoid", "Flatten"]


def test_generator_templates_refuse_sizes_they_cannot_make():
    with pytest.raises(ValueError, match="square"):
        conv_generator(16, (1, 28, 32))
    with pytest.raises(ValueError, match="at least 4"):
        conv_discriminator((1, 2, 2))


def test_gan_graph_is_drawn_noise_generator_discriminator_with_real_data():
    g = make_gan("dense", (1, 28, 28), latent=16, hidden=(32, 64))
    gen, disc = _block(g, "generator"), _block(g, "discriminator")
    z, image = g.find("z"), g.find("image")
    assert g.node(z).type == "Noise"
    assert [e.src for e in g.in_edges(gen.id)] == [z]
    assert {(e.src, e.dst_port) for e in g.in_edges(disc.id)} == {
        (gen.id, g.input_ports(disc.id)[0].name), (image, "real")}
    assert not g.check()
    src = g.to_python()
    assert "class Generator(nn.Module):" in src and "class Discriminator(nn.Module):" in src
    assert "def forward(self, image, z=None):" in src
    assert "torch.randn(image.shape[0], 16, device=image.device)" in src


def test_gan_module_scores_fakes_and_real_data_with_the_same_discriminator():
    torch.manual_seed(0)
    g = make_gan("dense", (1, 8, 8), latent=4, hidden=(16, 16))
    model = g.build().eval()
    x = torch.rand(5, 1, 8, 8)
    z = torch.randn(5, 4)
    fake, p_fake, p_real = model(x, z=z)
    with torch.no_grad():
        assert torch.equal(fake, model.generator(z))
        assert torch.equal(p_fake, model.discriminator(fake))
        assert torch.equal(p_real, model.discriminator(x))
    assert fake.shape == (5, 1, 8, 8) and p_real.shape == (5, 1)
    again, _, _ = model(x, z=z)
    assert torch.equal(again, fake)  # the same z gives the same samples
    drawn, _, _ = model(x)  # no z: drawn with the batch size of the data
    assert drawn.shape == (5, 1, 8, 8) and not torch.equal(drawn, fake)


def test_noise_node_normal_uniform_spatial():
    g = nb.Graph("noise")
    x = g.add("Input", "x", shape=(3,))
    u = g.add("Noise", "u", latent_size=2000, distribution="uniform")
    n = g.add("Noise", "n", latent_size=7, spatial=True)
    for src, name in ((u, "a"), (n, "b"), (x, "c")):
        g.connect(src, g.add("Output", name))
    assert g.analyze().shape(u) == (2000,) and g.analyze().shape(n) == (7, 1, 1)
    a, b, _ = g.build()(torch.zeros(4, 3))
    assert a.shape == (4, 2000) and -1 <= float(a.min()) < -0.9 and 0.9 < float(a.max()) <= 1
    assert b.shape == (4, 7, 1, 1)
    assert nb.search("latent")[0].type in ("Noise", "Reparameterize")
    assert "Noise" in [s.type for s in nb.search("noise")]


def test_noise_without_an_input_is_the_models_required_argument():
    g = nb.Graph("sampler")
    z = g.add("Noise", "z", latent_size=8)
    gen = g.add("Generator", "generator", inner=dense_generator(8, (16,), (1, 4, 4)))
    g.connect(z, gen)
    g.connect(gen, g.add("Output", "fake"))
    assert not [d for d in g.check() if d.is_error]
    src = g.to_python()
    assert "def forward(self, z):" in src and "z = torch.randn(2, 8)" in src
    assert g.build()(torch.randn(3, 8)).shape == (3, 1, 4, 4)


def test_discriminator_has_an_optional_real_port_and_a_real_score_output():
    g = make_gan("dense", (1, 8, 8), latent=4, hidden=(8, 8))
    disc = _block(g, "discriminator")
    ports = g.input_ports(disc.id)
    assert [p.name for p in ports][-1] == "real" and ports[-1].optional
    assert [p.name for p in g.output_ports(disc.id)][-1] == "real_score"
    # A block without shared ports keeps exactly its inner ports.
    gen = _block(g, "generator")
    assert [p.name for p in g.input_ports(gen.id)] == [i for i in gen.inner.inputs()]


def test_real_data_of_another_shape_is_a_clear_analysis_error():
    g = make_gan("dense", (1, 8, 8), latent=4, hidden=(8, 8))
    g.set_param(g.find("image"), "shape", (1, 9, 9))
    errors = [d for d in g.check() if d.is_error]
    assert any("Discriminator 'discriminator' receives (N, 1, 8, 8) on its input but "
               "(N, 1, 9, 9) on 'real'" in d.message for d in errors)


def test_real_score_without_real_data_does_not_compile():
    g = make_gan("dense", (1, 8, 8), latent=4, hidden=(8, 8))
    disc = _block(g, "discriminator")
    g.disconnect(next(e for e in g.in_edges(disc.id) if e.dst_port == "real"))
    with pytest.raises(CompileError, match="nothing on its 'real' port"):
        g.build()
    g.remove(g.find("p_real"))
    assert g.build() is not None  # without real_score the empty 'real' port is fine


def test_node_attributes_name_the_modules_of_the_built_graph():
    g = make_gan("dense", (1, 8, 8), latent=4, hidden=(8, 8))
    gen = _block(g, "generator")
    g.rename(gen.id, "my generator!")
    attrs = node_attributes(g)
    model = g.build()
    assert attrs[gen.id] == "my_generator"
    assert model.my_generator is getattr(model, attrs[gen.id])


@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_autoencoder_and_vae_reproduce_their_input_shape(kind):
    for g in (make_autoencoder(kind, (1, 16, 16), 8, (32,)),
              make_vae(kind, (1, 16, 16), 4, 32, (4, 8))):
        assert not g.check(), g.check()
        with torch.no_grad():
            out = g.build()(torch.rand(3, 1, 16, 16))
        assert out.shape == (3, 1, 16, 16) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_vae_graph_is_drawn_encoder_mu_logvar_reparameterize_decoder():
    g = make_vae("conv", (1, 28, 28), latent=16)
    z = g.find("z")
    assert {e.dst_port: g.node(e.src).name for e in g.in_edges(z)} == {"mu": "mu",
                                                                       "logvar": "logvar"}
    assert [g.node(e.dst).type for e in g.out_edges(z)] == ["Decoder"]
    model = g.build().train()
    model(torch.rand(4, 1, 28, 28))
    assert model.z.kl is not None and float(model.z.kl.detach()) >= 0


def test_rbm_and_dbn_graphs():
    rbm = make_rbm(64, 32)
    assert rbm.analyze().shape(rbm.find("rbm")) == (32,)
    dbn = make_dbn(64, (32, 16), 10)
    assert _types(dbn) == ["RBM", "RBM", "Linear"]
    assert dbn.build()(torch.rand(2, 64)).shape == (2, 10)


def test_every_palette_template_builds():
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)
    for t in TEMPLATES:
        made = t.make()
        assert t.description
        if t.block is None:
            assert not [d for d in made.check() if d.is_error], t.name
            continue
        g = nb.Graph("host")
        inner_in = made.node(made.inputs()[0])
        x = g.add("Input", "x", shape=inner_in.params["shape"])
        b = g.add(t.block, "block", inner=made)
        g.connect(x, b)
        assert g.node(b).spec.block_role == t.block.lower()
        assert not [d for d in g.check() if d.is_error], (t.name, g.check())
    assert template("dcgan generator").block == "Generator"
    with pytest.raises(KeyError, match="no template"):
        template("nope")


def test_generative_graphs_survive_a_file_round_trip(tmp_path):
    for g in (make_gan("conv", (1, 28, 28), 8, 4, 4), make_vae(), make_dbn()):
        path = tmp_path / f"{g.name}.json"
        g.save(path)
        again = nb.load(path)
        assert json.loads(path.read_text()) == json.loads(nb.graph.to_json(again))
        assert again.to_python() == g.to_python()
