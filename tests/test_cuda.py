"""The CUDA paths; they skip where no GPU is present (run them where one is)."""
import pytest
import torch

from moevae.losses import ManagerLoss
from moevae.models import FusedManager, build_manager
from tests.helpers import seed_manager

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device on this machine")


def test_fused_matches_per_expert_on_cuda():
    torch.manual_seed(0)
    reference = build_manager().cuda()
    fused = FusedManager.from_manager(reference)
    x = torch.rand(100, 784, device="cuda")
    loss = ManagerLoss()
    values = []
    for model in (reference, fused):
        torch.manual_seed(1)
        probs, layer_outputs = model(x)
        loss.layer_outputs = layer_outputs
        values.append(loss(probs, x)[0])
    torch.testing.assert_close(values[0], values[1], rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("options", [{}, {"precision": "bf16"},
                                     {"precision": "tf32"},
                                     {"compile": True}])
def test_training_on_cuda(mnist_dir, options):
    from moevae.interfaces import DeepLearningInterface
    manager = seed_manager(mnist_dir)
    torch.manual_seed(0)
    interface = DeepLearningInterface(model=FusedManager(), loss=ManagerLoss(),
                                      use_cuda=True, **options)
    assert interface.device.type == "cuda"
    history, _ = interface.training(manager, nb_epochs=2, fold_index=0,
                                    with_validation=True)
    losses = history["loss"][1]
    assert losses[1] < losses[0] and all(abs(v) < 1e4 for v in losses)
    loader = manager.get_dataloader(train=True).train.to("cuda")
    assert next(iter(loader)).inputs.is_cuda
