"""Epoch speed: the pynet-faithful loop vs moevae's default vs the floor.

In one process, on the same data (the MNIST digits fetch_minst finds) and
seed, times one training epoch of fold 0 (90% of the images) with:

1. pynet: the seed's per-expert modules and torch.distributions loss, the
   per-sample transform and collate through a torch DataLoader, pynet's
   loop (float() of every loss component each batch, foreach Adam);
2. moevae: DeepLearningInterface with the fused expert stack, tensor
   batching and the fused Adam step (the CLI's default);
3. floor: only the matrix products of one fused training step, repeated.

The three are timed in turns, ``--rounds`` times (a shared machine drifts
by 20-30% from minute to minute): each ratio is the median of the
per-round ratios. Prints samples/s for each and, last, the ratios
moevae/pynet and moevae-time/floor-time, for batch 100 (the seed's) and a
larger batch; then checks that paths 1 and 2 give the same loss curve
within 3%. A breakdown line says how much of a moevae step goes to the
forward pass with the loss, the backward pass and the Adam step, each in
units of the floor's step. On the CPU, glibc malloc is tuned for every
path alike (moevae.training.allocator, as training does).
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
from moevae.training.allocator import keep_freed_memory
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


class PynetPath:
    """The seed's model, loss and optimizer, trained by pynet's loop."""

    def __init__(self, data, batch_size, device):
        torch.manual_seed(0)
        self.device = device
        self.model = build_manager().to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3,
                                          foreach=True)
        self.loader = manager(data, batch_size, True).get_dataloader(
            train=True).train
        self.samples, self.batches = len(self.loader.dataset), len(
            self.loader)

    def epoch(self):
        """(seconds, mean loss) of one more training epoch."""
        started = time.perf_counter()
        with warnings.catch_warnings():  # pynet's float() of a grad tensor
            warnings.simplefilter("ignore", UserWarning)
            loss = pynet_epoch(self.model, self.optimizer, ManagerLoss(),
                               self.loader, self.device)
        sync(self.device)
        return time.perf_counter() - started, loss


class MoevaePath:
    """moevae's default: the interface's training pass, fused model."""

    def __init__(self, data, batch_size, device, precision="fp32",
                 compile=False):
        torch.manual_seed(0)
        self.interface = DeepLearningInterface(
            model=FusedManager(), loss=ManagerLoss(), optimizer_name="Adam",
            learning_rate=1e-3, device=device, precision=precision,
            compile=compile)
        self.loader = manager(data, batch_size, False).get_dataloader(
            train=True).train
        self.loader.to(self.interface.device)

    def epoch(self):
        """(seconds, mean loss) of one more training epoch."""
        started = time.perf_counter()
        totals = self.interface._run_pass(self.loader, "bench")
        loss = totals.means()["loss"]  # reads the device sums: synced
        return time.perf_counter() - started, loss


def time_floor(batch_size, device, repeats=30, phase="all"):
    """Seconds for ``repeats`` times the matmuls of one fused step
    (``phase``: all of them, or those of the forward or backward pass)."""
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

    forward = (lambda: torch.mm(first, x.t()),
               lambda: torch.bmm(lat, acts["hidden"]),
               lambda: torch.bmm(dec_h, acts["z"]),
               lambda: torch.bmm(dec_o, acts["hidden"]))
    backward = (lambda: torch.bmm(dec_o.transpose(1, 2), acts["out"]),
                lambda: torch.bmm(acts["out"], acts["hidden"].transpose(1, 2)),
                lambda: torch.bmm(dec_h.transpose(1, 2), acts["hidden"]),
                lambda: torch.bmm(acts["hidden"], acts["z"].transpose(1, 2)),
                lambda: torch.bmm(lat.transpose(1, 2), acts["lat"]),
                lambda: torch.bmm(acts["lat"], acts["hidden"].transpose(1, 2)),
                lambda: torch.mm(acts["first"], x))
    products = {"all": forward + backward, "forward": forward,
                "backward": backward}[phase]

    def step():
        for product in products:
            product()
    for _ in range(5):
        step()
    sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        step()
    sync(device)
    return time.perf_counter() - started


def step_breakdown(batch_size, device, steps=60):
    """Seconds per step of moevae's forward+loss, backward and Adam step."""
    torch.manual_seed(0)
    model, loss = FusedManager().to(device), ManagerLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    x = torch.rand(batch_size, 784, device=device)
    totals = dict.fromkeys(("forward+loss", "backward", "Adam step"), 0.0)
    for index in range(steps + 5):  # the first 5 warm up
        marks = [time.perf_counter()]
        optimizer.zero_grad(set_to_none=True)
        probs, loss.layer_outputs = model(x)
        total = loss(probs, x)[0]
        sync(device)
        marks.append(time.perf_counter())
        total.backward()
        sync(device)
        marks.append(time.perf_counter())
        optimizer.step()
        sync(device)
        marks.append(time.perf_counter())
        if index >= 5:
            for name, elapsed in zip(totals, np.diff(marks)):
                totals[name] += elapsed
    return {name: seconds / steps for name, seconds in totals.items()}


def breakdown_line(batch_size, device, rounds=5, steps=20):
    """Where a step's time goes, in units of the floor's step (medians of
    ``rounds`` turns of moevae steps and floor steps)."""
    shares = []
    for _ in range(rounds):
        phases = step_breakdown(batch_size, device, steps)
        floor = {phase: time_floor(batch_size, device, steps, phase) / steps
                 for phase in ("all", "forward", "backward")}
        shares.append([phases[name] / floor["all"] for name in phases] +
                      [floor[phase] / floor["all"] for phase in
                       ("forward", "backward")] + [floor["all"]])
    fwd, bwd, adam, fwd_mm, bwd_mm, floor_s = np.median(shares, axis=0)
    return (f"step breakdown, batch {batch_size}, in floor steps "
            f"({floor_s * 1e3:.1f} ms of matmuls): forward+loss {fwd:.2f} "
            f"(its matmuls {fwd_mm:.2f}), backward {bwd:.2f} (its matmuls "
            f"{bwd_mm:.2f}), Adam step {adam:.2f}; total "
            f"{fwd + bwd + adam:.2f}")


def native_bf16_note(device):
    """Say so when the CPU has no bf16 matrix instructions (slow path)."""
    if torch.device(device).type != "cpu":
        return ""
    supported = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return "" if supported else (" [this CPU has no native bf16: autocast "
                                 "emulates it and is slower]")


def sync(device):
    """Wait for ``device`` itself (cuda:1 too, not only the current one)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(torch.device(device))


def compare(data, batch_size, device, rounds):
    """Time the three paths in turns; (speeds, median ratios, curves)."""
    pynet = PynetPath(data, batch_size, device)
    ours = MoevaePath(data, batch_size, device)
    seconds = {"pynet": [], "moevae": [], "floor": []}
    curves = {"pynet": [], "moevae": []}
    for _ in range(rounds):
        for name, path in (("pynet", pynet), ("moevae", ours)):
            elapsed, loss = path.epoch()
            seconds[name].append(elapsed)
            curves[name].append(loss)
        seconds["floor"].append(time_floor(batch_size, device, pynet.batches))
    ours_vs_pynet = np.median(np.divide(seconds["pynet"], seconds["moevae"]))
    ours_vs_floor = np.median(np.divide(seconds["moevae"], seconds["floor"]))
    speeds = {name: pynet.samples / np.median(values)
              for name, values in seconds.items()}
    return speeds, (ours_vs_pynet, ours_vs_floor), curves


VARIANTS = {"bf16": {"precision": "bf16"}, "tf32": {"precision": "tf32"},
            "compile": {"compile": True}}


def variant_line(name, data, batch_size, device, fp32_curve, pynet_speed):
    """One variant's speed and loss gap (its first, compiling epoch is
    not timed when compiled)."""
    path = MoevaePath(data, batch_size, device, **VARIANTS[name])
    timed = [path.epoch() for _ in range(3 if name == "compile" else 2)]
    speed = len(path.loader.dataset) / min(t for t, _ in timed[-2:])
    losses = [loss for _, loss in timed[:2]]
    gap = np.max(np.abs(np.subtract(losses, fp32_curve[:2])) /
                 np.abs(fp32_curve[:2]))
    note = native_bf16_note(device) if name == "bf16" else ""
    return (f"{name}, batch {batch_size}: {speed:,.0f} samples/s "
            f"({speed / pynet_speed:.2f}x pynet; loss curve within {gap:.2%}"
            f" of float32){note}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasetdir", default="~/.cache/moevae/mnist")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available()
                        else "cpu")
    parser.add_argument("--rounds", type=int, default=3,
                        help="timed epochs per path, taken in turns")
    parser.add_argument("--batch-sizes", type=int, nargs="+",
                        default=[100, 500])
    parser.add_argument("--variants", nargs="*", choices=sorted(VARIANTS),
                        help="moevae variants timed after the comparison "
                        "(default: bf16 on the CPU; bf16, tf32 and compile "
                        "on CUDA)")
    parser.add_argument("--no-bf16", action="store_true",
                        help="time no variant (same as --variants)")
    args = parser.parse_args()
    if args.variants is None:
        args.variants = [] if args.no_bf16 else ["bf16"] if torch.device(
            args.device).type == "cpu" else ["bf16", "tf32", "compile"]
    if torch.device(args.device).type == "cpu":
        keep_freed_memory()  # as training does; for every path alike
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = fetch_minst(args.datasetdir)
    print(f"device {args.device}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, {args.rounds} rounds")
    ratios, first = [], None
    for batch_size in args.batch_sizes:
        speeds, (vs_pynet, vs_floor), curves = compare(
            data, batch_size, args.device, args.rounds)
        first = first or (batch_size, speeds, curves)
        print(f"batch {batch_size}: pynet {speeds['pynet']:,.0f} samples/s |"
              f" moevae {speeds['moevae']:,.0f} samples/s | floor "
              f"{speeds['floor']:,.0f} samples/s")
        ratios.append(f"batch {batch_size}: moevae/pynet {vs_pynet:.2f}x, "
                      f"moevae time/floor time {vs_floor:.2f}")
    batch_size, speeds, curves = first
    print(breakdown_line(batch_size, args.device))
    if torch.device(args.device).type == "cuda":
        print("on a GPU the floor (the matmuls alone) is bound by kernel "
              "launches, not arithmetic: compare moevae with pynet there, "
              "not with the CPU table's floor ratios")
    for name in args.variants:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            print(variant_line(name, data, batch_size, args.device,
                               curves["moevae"], speeds["pynet"]))
    gaps = (np.abs(np.subtract(curves["pynet"], curves["moevae"])) /
        np.abs(curves["pynet"]))
    print(f"loss curves, batch {batch_size}: pynet "
          f"{np.round(curves['pynet'], 2).tolist()} moevae "
          f"{np.round(curves['moevae'], 2).tolist()} (max relative gap "
          f"{gaps.max():.2%}, {'OK' if gaps.max() < 0.03 else 'TOO LARGE'} "
          "against 3%)")
    print("RATIOS " + "; ".join(ratios))


if __name__ == "__main__":
    main()
