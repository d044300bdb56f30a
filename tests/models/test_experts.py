"""The seed's per-expert modules: shapes, ranges and the manager's gate."""
import pytest
import torch

from moevae.models.experts import (
    VAE,
    VAR_EPSILON,
    Decoder,
    Encoder,
    Manager,
    build_manager,
)


@pytest.fixture
def manager():
    torch.manual_seed(0)
    return build_manager(input_dim=12, hidden_dim=5, latent_dim=3,
                         num_experts=4)


def test_encoder_and_decoder_shapes_and_ranges():
    torch.manual_seed(0)
    mu, logvar = Encoder(12, 5, 3)(torch.rand(6, 12))
    assert mu.shape == logvar.shape == (6, 3)
    pixels = Decoder(3, 5, 12)(torch.randn(6, 3) * 100)
    assert pixels.shape == (6, 12)
    assert ((pixels >= 0) & (pixels <= 1)).all()


def test_a_vae_samples_around_its_mean_with_a_floor_on_the_variance():
    torch.manual_seed(0)
    vae = VAE(12, 5, 3)
    with torch.no_grad():
        vae.encoder.logvar.bias.fill_(-1e4)  # variance exp(-1e4) = 0
    x = torch.rand(6, 12)
    reconstruction, latent = vae(x)
    assert reconstruction.shape == (6, 12)
    torch.testing.assert_close(latent["z_var"],
                               torch.full((6, 3), VAR_EPSILON))
    # with (almost) no variance the sample is the mean: repeatable
    torch.testing.assert_close(vae(x)[0], reconstruction, atol=1e-3,
                               rtol=0)


def test_the_manager_gates_and_runs_every_expert(manager):
    x = torch.rand(7, 12)
    probs, outputs = manager(x)
    assert probs.shape == (7, 4)
    torch.testing.assert_close(probs.sum(1), torch.ones(7))
    assert (probs > 0).all()
    results = outputs["experts_results"]
    assert len(results) == 4
    assert all(r[0].shape == (7, 12) and r[1]["z_mu"].shape == (7, 3)
               for r in results)
    torch.testing.assert_close(manager.gate(x), probs)


def test_the_gate_softmax_is_per_sample(manager):
    """dim=1: one sample's probabilities do not depend on the others."""
    x = torch.rand(5, 12)
    torch.testing.assert_close(manager.gate(x)[:1], manager.gate(x[:1]))


def test_build_manager_makes_the_experts_first(manager):
    names = [name for name, _ in manager.named_parameters()]
    assert names[0].startswith("_experts.0.") and names[-1] == "linear2.bias"
    assert isinstance(manager, Manager) and manager.latent_dim == 3
    assert manager.linear2.out_features == len(manager._experts) == 4
    # the seed's order: the same seed gives the same experts
    torch.manual_seed(0)
    again = build_manager(12, 5, 3, 4)
    assert all(torch.equal(a, b) for a, b in zip(
        manager.state_dict().values(), again.state_dict().values()))
