"""The CUDA paths; they skip where no GPU is present (run them where one is).

Warnings are errors here: a compile that falls back, a precision that
cannot help, a host sync where none is allowed must fail the test.
"""
import subprocess
import sys

import pytest
import torch

from moevae.errors import NonFiniteLossError
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import FusedManager, build_manager, experts
from moevae.training.checkpoint import list_checkpoints, load_checkpoint
from moevae.training.rng import rng_states
from tests.support.helpers import seed_manager

pytestmark = [pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="no CUDA device on this machine"),
              pytest.mark.filterwarnings("error")]
BATCH = 32  # validation gets several batches and a partial tail


def cuda_interface(**options):
    torch.manual_seed(0)
    return DeepLearningInterface(model=FusedManager(), loss=ManagerLoss(),
                                 device="cuda", **options)


def test_fused_matches_per_expert_with_the_same_noise(monkeypatch):
    """The two layouts draw their noise differently on CUDA: inject the
    same N(0, I) draws into both (per expert (B, L), fused (K, B, L))."""
    torch.manual_seed(0)
    reference = build_manager().cuda()
    fused = FusedManager.from_manager(reference)
    x = torch.rand(100, 784, device="cuda")
    noise = torch.randn(10, 100, 20, device="cuda")
    draws = iter(noise)
    monkeypatch.setattr(experts, "batch_noise",
                        lambda axis, *shape, like: next(draws))
    monkeypatch.setattr(FusedManager, "draw_noise",
                        staticmethod(lambda z_var: noise.transpose(1, 2)))
    loss = ManagerLoss()
    values = []
    for model in (reference, fused):
        with torch.no_grad():
            probs, layer_outputs = model(x)
        loss.layer_outputs = layer_outputs
        values.append(loss(probs, x)[0])
    torch.testing.assert_close(values[0], values[1], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("options", [{}, {"precision": "bf16"},
                                     {"precision": "tf32"},
                                     {"compile": True}])
def test_training_on_cuda(mnist_dir, options):
    manager = seed_manager(mnist_dir, batch_size=BATCH)
    interface = cuda_interface(**options)
    history, _ = interface.training(manager, nb_epochs=2, fold_index=0,
                                    with_validation=True)
    losses = history["loss"][1]
    assert losses[1] < losses[0] and all(abs(v) < 1e4 for v in losses)
    if options.get("compile"):
        assert not interface.step.compiled.fell_back


@pytest.mark.parametrize("compile", [False, True])
def test_validation_predictions_equal_an_eager_pass(mnist_dir, compile):
    manager = seed_manager(mnist_dir, batch_size=BATCH)
    interface = cuda_interface(compile=compile)
    seen = []
    interface.add_observer("after_epoch", lambda s: seen.append(s.val_pred))
    interface.training(manager, nb_epochs=1, fold_index=0,
                       with_validation=True)
    loader = manager.get_dataloader(validation=True).validation
    loader.to("cuda")
    interface.model.eval()
    with torch.no_grad():
        eager = torch.cat([interface.model(item.inputs)[0]
                           for item in loader]).cpu().numpy()
    assert seen[0].shape == eager.shape
    torch.testing.assert_close(torch.as_tensor(seen[0]),
                               torch.as_tensor(eager), rtol=1e-3, atol=1e-4)
    y, _, _ = interface.test(loader)
    torch.testing.assert_close(torch.as_tensor(y), torch.as_tensor(eager),
                               rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("options", [{}, {"precision": "bf16"}])
def test_an_epoch_makes_no_host_sync_between_steps(mnist_dir, options):
    manager = seed_manager(mnist_dir, batch_size=BATCH)
    interface = cuda_interface(**options)
    loader = manager.get_dataloader(train=True).train.to("cuda")
    interface._run_pass(loader, "warm-up")
    torch.cuda.set_sync_debug_mode("error")
    try:
        for item in loader:
            interface.step.train(item, "sync check")
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_a_float_component_and_metric_stay_on_the_device(mnist_dir):
    class FloatLoss(ManagerLoss):
        def __call__(self, probs, x):
            loss, parts = super().__call__(probs, x)
            return loss, dict(parts, constant=1.5)
    manager = seed_manager(mnist_dir, batch_size=BATCH)
    torch.manual_seed(0)
    interface = DeepLearningInterface(
        model=FusedManager(), loss=FloatLoss(), device="cuda",
        metrics=[lambda probs, x: 0.25])
    history, _ = interface.training(manager, nb_epochs=1, fold_index=0,
                                    with_validation=False)
    assert history["constant"][1][0] == 1.5


def test_nan_at_batch_k_is_named_and_never_applied(mnist_dir):
    manager = seed_manager(mnist_dir, batch_size=BATCH)
    interface = cuda_interface()
    assert interface.step.deferred
    interface.add_observer("before_batch", lambda s: s.batch == 3 and
                           s.item.inputs.fill_(float("nan")))
    with pytest.raises(NonFiniteLossError, match="batch 4/"):
        interface.training(manager, nb_epochs=1, fold_index=0,
                           with_validation=False)
    assert all(torch.isfinite(p).all() for p in interface.model.parameters())


def test_checkpoint_and_resume_on_cuda(mnist_dir, tmp_path):
    manager = seed_manager(mnist_dir, batch_size=BATCH)
    whole = cuda_interface()
    whole.training(manager, nb_epochs=2, fold_index=0, with_validation=False)
    first = cuda_interface()
    first.training(seed_manager(mnist_dir, batch_size=BATCH), nb_epochs=1,
                   fold_index=0, with_validation=False,
                   checkpointdir=str(tmp_path))
    resumed = cuda_interface()
    resumed.training(seed_manager(mnist_dir, batch_size=BATCH), nb_epochs=2,
                     fold_index=0, with_validation=False,
                     checkpointdir=str(tmp_path), resume=True)
    payload = load_checkpoint(list_checkpoints(tmp_path)[0])
    assert torch.is_tensor(payload["rng"]["cuda"])  # the device's only
    for key, value in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value)


def test_bf16_loss_within_one_percent_of_fp32(mnist_dir):
    values = []
    for precision in ("fp32", "bf16"):
        interface = cuda_interface(precision=precision)
        history, _ = interface.training(
            seed_manager(mnist_dir, batch_size=BATCH), nb_epochs=1,
            fold_index=0, with_validation=False)
        values.append(history["loss"][1][0])
    assert abs(values[1] - values[0]) <= 0.01 * abs(values[0])


def test_observers_leave_the_cuda_rng_unchanged(mnist_dir):
    interface = cuda_interface()
    states = []
    interface.add_observer("after_epoch", lambda s: torch.randn(
        3, device="cuda"), side_effect=True)
    interface.add_observer("before_epoch", lambda s: states.append(
        rng_states(interface.device)["cuda"]))
    quiet = cuda_interface()
    quiet_states = []
    quiet.add_observer("before_epoch", lambda s: quiet_states.append(
        rng_states(quiet.device)["cuda"]))
    for net, _ in ((interface, states), (quiet, quiet_states)):
        net.training(seed_manager(mnist_dir, batch_size=BATCH), nb_epochs=2,
                     fold_index=0, with_validation=False)
    assert all(torch.equal(a, b) for a, b in zip(states, quiet_states))


def test_fused_nll_gradcheck_in_float64():
    from moevae.losses import sigmoid_gaussian_nll
    logits = torch.randn(3, 4, 6, dtype=torch.float64, device="cuda",
                         requires_grad=True)
    x = torch.rand(4, 6, dtype=torch.float64, device="cuda")
    assert torch.autograd.gradcheck(
        lambda a: sigmoid_gaussian_nll(a, x), (logits,))


@pytest.mark.slow
def test_cli_smoke_on_cuda(mnist_dir, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "moevae", "train", "--device", "cuda",
         "--compile", "--validation", "--epochs", "2", "--board", "off",
         "--datasetdir", str(mnist_dir), "--run-dir", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    bench = subprocess.run(
        [sys.executable, "benchmarks/bench_epoch.py", "--device", "cuda",
         "--rounds", "1", "--datasetdir", str(mnist_dir)],
        capture_output=True, text=True, timeout=900)
    assert bench.returncode == 0, bench.stderr
