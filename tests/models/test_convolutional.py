"""The convolutional manager: shapes, augmentation, checkpoints, layouts."""
import pytest
import torch

from moevae.clustering.recipes import RECIPES, Recipe
from moevae.errors import MoEVAEError
from moevae.losses import ManagerLoss
from moevae.models.convolutional import ConvGatedManager, random_affine
from moevae.training.loading import model_from_state


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ConvGatedManager(input_dim=64, hidden_dim=8, latent_dim=3,
                            num_experts=4)


def test_forward_shapes_and_loss(model):
    x = torch.rand(5, 64)
    probs, outputs = model(x)
    assert probs.shape == (5, 4)
    torch.testing.assert_close(probs.sum(1), torch.ones(5))
    assert outputs["logits"].shape == (4, 5, 64)
    assert outputs["z_mu"].shape == outputs["z_var"].shape == (4, 5, 3)
    loss = ManagerLoss()
    loss.layer_outputs = outputs
    value, _ = loss(probs, x)
    value.backward()
    assert model.conv_gate.features[0].weight.grad.abs().sum() > 0
    assert model.in_weight.grad.abs().sum() > 0
    # only the experts' first layers: no manager rows left unused
    assert model.in_weight.shape == (4 * 8, 64)
    assert not hasattr(model, "linear2")


def test_augmentation_only_in_training(model):
    x = torch.rand(6, 64)
    model.eval()
    assert torch.equal(model.gate(x), model.gate(x))
    assert torch.equal(model(x)[0], model.gate(x))
    model.train()
    torch.manual_seed(1)
    first = model.gate(x)
    torch.manual_seed(1)
    assert torch.equal(model.gate(x), first)  # repeatable for a seed
    assert not torch.allclose(model.gate(x), first)  # a new draw moves


def test_random_affine_keeps_a_centred_digit_mostly():
    torch.manual_seed(0)
    images = torch.zeros(50, 1, 28, 28)
    images[:, :, 10:18, 10:18] = 1.0
    moved = random_affine(images)
    assert moved.shape == images.shape and not torch.equal(moved, images)
    mass = moved.sum((1, 2, 3)) / images.sum((1, 2, 3))
    assert ((mass > 0.75) & (mass < 1.3)).all()  # scale +-10%: area +-21%


def test_the_expert_views_read_the_experts_rows(model):
    model.eval()
    x = torch.rand(3, 64)
    _, outputs = model(x)
    for k, expert in enumerate(model._experts):
        z_mu, _ = expert.encoder(x)
        torch.testing.assert_close(z_mu, outputs["z_mu"][k])


def test_checkpoint_round_trip(model):
    state = model.state_dict()
    loaded = model_from_state(state, "model.pth")
    assert isinstance(loaded, ConvGatedManager)
    x = torch.rand(4, 64)
    model.eval()
    torch.testing.assert_close(loaded.gate(x), model.gate(x))


@pytest.mark.parametrize("input_dim", [30, 9])
def test_images_must_be_square(input_dim):
    with pytest.raises(MoEVAEError, match=f"input_dim={input_dim}.*square"):
        ConvGatedManager(input_dim=input_dim)


def test_no_per_expert_layout(model):
    with pytest.raises(MoEVAEError, match="layout='per-expert'"):
        model.to_manager()
    with pytest.raises(MoEVAEError, match="per-expert"):
        model.load_state_dict({"_experts.0.encoder.linear.weight":
                               torch.zeros(1)})
    conv = sorted(name for name, make in RECIPES.items()
                  if make().gate == "conv")
    assert conv == ["umap-conv-anchored", "umap-conv-anchored-consistency",
                    "umap-conv-consistency", "umap-conv-em",
                    "umap-conv-manager", "umap-conv-self-labelling"]
    for name in conv:
        with pytest.raises(MoEVAEError,
                           match=f"layout='per-expert'.*{name}"):
            RECIPES[name]().build_model("per-expert")
    assert isinstance(Recipe(name="c", gate="conv").build_model(),
                      ConvGatedManager)


def test_an_empty_batch_and_odd_sizes():
    model = ConvGatedManager(input_dim=64, hidden_dim=8, latent_dim=3,
                             num_experts=4, clean_probs=True).train()
    probs, outputs = model(torch.rand(0, 64))
    assert probs.shape == (0, 4) and outputs["clean_probs"].shape == (0, 4)
    for bad in (-4, 784.0):
        with pytest.raises(MoEVAEError, match="input_dim"):
            ConvGatedManager(input_dim=bad)


def test_the_unmoved_pass_runs_only_when_asked_for(model, monkeypatch):
    calls = []
    real = type(model).gate
    monkeypatch.setattr(type(model), "gate",
                        lambda self, x: calls.append(1) or real(self, x))
    model.train()
    assert "clean_probs" not in model(torch.rand(3, 64))[1]
    assert len(calls) == 1  # the moved images only
    model.clean_probs = True
    outputs = model(torch.rand(3, 64))[1]
    assert len(calls) == 3 and not outputs["clean_probs"].requires_grad
    model.eval()
    assert "clean_probs" not in model(torch.rand(3, 64))[1]
    # the recipe asks for it when its loss uses it, and only then
    assert RECIPES["umap-conv-consistency"]().build_model().clean_probs
    assert not RECIPES["umap-conv-anchored"]().build_model().clean_probs


def test_a_consistency_loss_without_the_unmoved_pass_is_refused(model):
    from moevae.clustering.losses import WarmStartLoss
    loss = WarmStartLoss(warm_epochs=0, consistency_weight=1.0)
    model.train()
    x = torch.rand(3, 64)
    probs, loss.layer_outputs = model(x)
    with pytest.raises(MoEVAEError, match="clean_probs=True"):
        loss(probs, x)
    with torch.no_grad():  # validation: no consistency term, no error
        probs, loss.layer_outputs = model.eval()(x)
        value, parts = loss(probs, x)
    assert float(parts["consistency_loss"]) == 0.0
