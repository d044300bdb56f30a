"""Epoch speed: the pynet-faithful loop vs moevae's default vs the floor.

In one process, on the same data (the MNIST digits fetch_minst finds) and
seed, times one training epoch of fold 0 (90% of the images) with:

1. pynet: the seed's per-expert modules and torch.distributions loss, the
   per-sample transform and collate through a torch DataLoader, pynet's
   loop (float() of every loss component each batch, foreach Adam);
2. moevae: DeepLearningInterface with the fused expert stack, tensor
   batching and the fused Adam step (the CLI's default);
3. floor: only the matrix products of one fused training step, repeated.

Prints samples/s for each and, last, the ratios moevae/pynet and
moevae-time/floor-time, for batch 100 (the seed's) and a larger batch;
then checks that paths 1 and 2 give the same loss curve within 3%.
Usage: python benchmarks/bench_epoch.py [--datasetdir DIR] [--device cpu]
"""
import argparse
import time
import warnings

import numpy as np
import torch

from moevae.datasets import DataManager, fetch_minst
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import FusedManager, build_manager
from moevae.transforms import flatten


def manager(data, batch_size, faithful):
    options = dict(in_memory=False, num_workers=0) if faithful else {}
    return DataManager(data.input_path, data.metadata_path,
                       stratify_label="label", number_of_folds=10,
                       batch_size=batch_size, test_size=0,
                       input_transforms=[flatten], add_input=True, **options)


def pynet_epoch(model, optimizer, loss, loader, device):
    """pynet.core.Base.train, without its logging."""
    model.train()
    values, total = {}, 0.0
    for item in loader:
        inputs, targets = item.inputs.to(device), item.outputs.to(device)
        optimizer.zero_grad()
        probs, layer_outputs = model(inputs)
        loss.layer_outputs = layer_outputs
        batch_loss, extra = loss(probs, targets)
        for name, value in extra.items():
            values[name] = values.get(name, 0) + float(value) / len(loader)
        batch_loss.backward()
        optimizer.step()
        total += batch_loss.item() / len(loader)
    return total


def time_pynet(data, batch_size, device, epochs):
    torch.manual_seed(0)
    model = build_manager().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    loader = manager(data, batch_size, True).get_dataloader(train=True).train
    samples = len(loader.dataset)
    losses, seconds = [], []
    for _ in range(epochs):
        started = time.perf_counter()
        losses.append(pynet_epoch(model, optimizer, ManagerLoss(), loader,
                                  device))
        sync(device)
        seconds.append(time.perf_counter() - started)
    return samples / min(seconds), losses


def time_moevae(data, batch_size, device, epochs, precision="fp32"):
    torch.manual_seed(0)
    interface = DeepLearningInterface(
        model=FusedManager(), loss=ManagerLoss(), optimizer_name="Adam",
        learning_rate=1e-3, device=device, precision=precision)
    loader = manager(data, batch_size, False).get_dataloader(train=True).train
    loader.to(interface.device)
    losses, seconds = [], []
    for _ in range(epochs):
        started = time.perf_counter()
        totals = interface.runner.run(loader, True, "bench")
        losses.append(totals.means()["loss"])
        seconds.append(time.perf_counter() - started)
    return totals.samples / min(seconds), losses


def time_floor(batch_size, device, repeats=30):
    """Forward and backward matmuls of one fused step (feature-major)."""
    torch.manual_seed(0)
    model = FusedManager().to(device)
    k, h, d, latent = 10, 128, 784, 20
    x = torch.rand(batch_size, d, device=device)
    weights = [p.detach() for p in (model.in_weight, model.latent_weight,
                                    model.dec_hidden_weight,
                                    model.dec_out_weight)]
    first, lat, dec_h, dec_o = weights
    acts = {name: torch.rand(shape, device=device) for name, shape in (
        ("hidden", (k, h, batch_size)), ("z", (k, latent, batch_size)),
        ("out", (k, d, batch_size)), ("lat", (k, 2 * latent, batch_size)),
        ("first", (first.shape[0], batch_size)))}

    def step():
        torch.mm(first, x.t())
        torch.bmm(lat, acts["hidden"])
        torch.bmm(dec_h, acts["z"])
        torch.bmm(dec_o, acts["hidden"])
        torch.bmm(dec_o.transpose(1, 2), acts["out"])
        torch.bmm(acts["out"], acts["hidden"].transpose(1, 2))
        torch.bmm(dec_h.transpose(1, 2), acts["hidden"])
        torch.bmm(acts["hidden"], acts["z"].transpose(1, 2))
        torch.bmm(lat.transpose(1, 2), acts["lat"])
        torch.bmm(acts["lat"], acts["hidden"].transpose(1, 2))
        torch.mm(acts["first"], x)
    for _ in range(5):
        step()
    sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    sync(device)
    return batch_size * repeats / (time.perf_counter() - started)


def native_bf16_note(device):
    """Say so when the CPU has no bf16 matrix instructions (slow path)."""
    if torch.device(device).type != "cpu":
        return ""
    supported = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return "" if supported else (" [this CPU has no native bf16: autocast "
                                 "emulates it and is slower]")


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasetdir", default="~/.cache/moevae/mnist")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available()
                        else "cpu")
    parser.add_argument("--epochs", type=int, default=2,
                        help="timed epochs per path (best is kept)")
    parser.add_argument("--batch-sizes", type=int, nargs="+",
                        default=[100, 500])
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fetch_minst(args.datasetdir)
    print(f"device {args.device}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}")
    ratios, pynet_speeds = [], []
    curves = None
    for batch_size in args.batch_sizes:
        pynet, pynet_losses = time_pynet(data, batch_size, args.device,
                                         args.epochs)
        ours, our_losses = time_moevae(data, batch_size, args.device,
                                       args.epochs)
        floor = time_floor(batch_size, args.device)
        if curves is None:
            curves = (pynet_losses, our_losses)
        print(f"batch {batch_size}: pynet {pynet:,.0f} samples/s | moevae "
              f"{ours:,.0f} samples/s | floor {floor:,.0f} samples/s")
        pynet_speeds.append(pynet)
        ratios.append(f"batch {batch_size}: moevae/pynet {ours / pynet:.2f}x,"
                      f" moevae time/floor time {floor / ours:.2f}")
    bf16, bf16_losses = time_moevae(data, args.batch_sizes[0], args.device,
                                    args.epochs, precision="bf16")
    fp32_ours = curves[1]
    bf16_gap = np.max(np.abs(np.subtract(bf16_losses, fp32_ours)) /
                      np.abs(fp32_ours))
    print(f"bf16 autocast, batch {args.batch_sizes[0]}: {bf16:,.0f} samples/s"
          f" ({bf16 / pynet_speeds[0]:.2f}x pynet; loss curve "
          f"within {bf16_gap:.2%} of float32){native_bf16_note(args.device)}")
    pynet_losses, our_losses = curves
    gaps = np.abs(np.subtract(pynet_losses, our_losses)) / np.abs(pynet_losses)
    print(f"loss curves, batch {args.batch_sizes[0]}: pynet "
          f"{np.round(pynet_losses, 2).tolist()} moevae "
          f"{np.round(our_losses, 2).tolist()} (max relative gap "
          f"{gaps.max():.2%}, {'OK' if gaps.max() < 0.03 else 'TOO LARGE'} "
          "against 3%)")
    print("RATIOS " + "; ".join(ratios))


if __name__ == "__main__":
    main()
