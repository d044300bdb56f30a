"""More than one process: torchrun, gloo, DistributedDataParallel (CPU).

The torchrun tests start real processes (2 ranks, 1 thread each) on small
real data; they are slow-marked. The sharding and the noise are unit-tested
without a process group.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from moevae.datasets import DataManager
from moevae.datasets.loaders import BatchShare
from moevae.models.global_batch import batch_noise, sharded_batch
from moevae.training.checkpoint import list_checkpoints
from moevae.training.distributed import Distributed
from tests.support.helpers import free_port

SCRIPT = Path(__file__).parents[1] / "support" / "distributed_train.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def loader(rows=23, batch_size=10, rank=0, world=1):
    inputs = np.arange(rows, dtype=np.float32)[:, None]
    manager = DataManager.from_numpy(train_inputs=inputs,
                                     train_outputs=inputs,
                                     batch_size=batch_size)
    train = manager.get_dataloader(train=True).train
    train.generator.manual_seed(7)
    return train.shard(rank, world)


def drawn(train):
    return [int(v) for batch in train for v in batch.inputs[:, 0]]


def test_ranks_draw_disjoint_shares_of_one_order():
    whole = drawn(loader(rows=24))
    shares = [drawn(loader(rows=24, rank=r, world=2)) for r in (0, 1)]
    assert sorted(shares[0] + shares[1]) == sorted(whole) == list(range(24))
    assert not set(shares[0]) & set(shares[1])
    assert shares[0][:5] == whole[:5] and shares[1][:5] == whole[5:10]


def test_a_last_batch_smaller_than_the_ranks_is_skipped_on_every_rank():
    lengths = []
    for rank in (0, 1, 2):
        train = loader(rows=21, rank=rank, world=3)  # tail of 1 < 3 ranks
        lengths.append((len(train), len(drawn(train))))
    assert lengths == [(2, 8), (2, 6), (2, 6)]


def test_batch_share_and_position_count_the_global_batch():
    train = loader(rows=23, rank=1, world=2)
    shares = []
    for item, share in train.shared_batches():
        assert len(item.inputs) == share.stop - share.start
        shares.append((tuple(share), train.position))
    assert shares == [((5, 10, 10, 2), 10), ((5, 10, 10, 2), 20),
                      ((2, 3, 3, 2), 23)]


@pytest.mark.parametrize("rows, batch_size, world", [
    (23, 10, 2),   # a last batch of 3 split 2/1
    (51, 51, 2),   # every batch of 51 split 26/25
    (100, 100, 3),  # the default batch of 100 on 3 processes: 34/33/33
    (25, 10, 3),   # 4/3/3 and a last batch of 5 split 2/2/1
])
def test_weighted_share_means_average_to_the_batch_mean(rows, batch_size,
                                                        world):
    """What DDP does to per-rank losses (the mean over ranks), applied to
    each share's mean times its weight, gives the whole batch's mean."""
    whole = [item.inputs.mean() for item in loader(rows, batch_size)]
    per_rank = [loader(rows, batch_size, rank, world).shared_batches()
                for rank in range(world)]
    averaged = []
    for batches in zip(*per_rank):
        shares = [share for _, share in batches]
        assert sum(s.stop - s.start for s in shares) == shares[0].size
        averaged.append(sum(item.inputs.mean() * share.weight
                            for item, share in batches) / world)
    assert torch.allclose(torch.stack(averaged), torch.stack(whole))


def test_batch_noise_is_the_global_draw_cut_to_the_share():
    like = torch.zeros(())
    torch.manual_seed(3)
    whole = batch_noise(1, 4, 10, 2, like=like)
    torch.manual_seed(3)
    with sharded_batch(BatchShare(6, 10, 10, 2)):
        part = batch_noise(1, 4, 4, 2, like=like)
    assert torch.equal(part, whole[:, 6:10])


def test_without_torchrun_nothing_changes(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    single = Distributed.from_environment()
    assert not single.active and single.is_main
    model = torch.nn.Linear(2, 1)
    assert single.wrap(model, torch.device("cpu")) is model
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match="RANK, LOCAL_RANK and WORLD_SIZE"):
        Distributed.from_environment()


# -- real processes ----------------------------------------------------------
def environment(**extra):
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1",
                **extra)


def torchrun(args, timeout=300, **env):
    return subprocess.run(TORCHRUN + args, capture_output=True, text=True,
                          timeout=timeout, env=environment(**env))


def train_args(mnist_dir, run_dir, *extra):
    return ["-m", "moevae", "train", "--epochs", "2", "--board", "off",
            "--datasetdir", str(mnist_dir), "--run-dir", str(run_dir),
            "--threads", "1", "--seed", "1", *extra]


def weights(run_dir):
    newest = list_checkpoints(Path(run_dir) / "checkpoints")[0]
    return torch.load(newest, weights_only=True)["model"]


@pytest.mark.slow
@pytest.mark.parametrize("nproc, extra", [
    (2, []),                      # even shares of 100
    (2, ["--batch-size", "51"]),  # every batch split 26/25
    (3, []),                      # the default batch of 100: 34/33/33
])
def test_processes_train_as_one_with_the_global_batch(tmp_path, mnist_dir,
                                                      nproc, extra):
    one = subprocess.run([sys.executable, *train_args(
        mnist_dir, tmp_path / "one", *extra)], capture_output=True,
        text=True, timeout=300, env=environment())
    assert one.returncode == 0, one.stderr
    two = torchrun(["--standalone", "--nproc_per_node", str(nproc),
                    *train_args(mnist_dir, tmp_path / "two", *extra)])
    assert two.returncode == 0, two.stderr
    first, second = weights(tmp_path / "one"), weights(tmp_path / "two")
    for key in first:  # the balancing term is global: the same objective
        torch.testing.assert_close(second[key], first[key], rtol=1e-4,
                                   atol=1e-4)
    assert two.stderr.count("fold 0 epoch 1/2: loss") == 1  # rank 0 logs
    assert two.stdout.count("moevae train: done") == 1
    history = json.loads((tmp_path / "two" / "history.json").read_text())
    assert len(history["train"]["history"]) == 2


def library_run(tmp_path, nproc, *extra, **env):
    out = tmp_path / f"out{nproc}"
    out.mkdir()
    done = torchrun(["--standalone", "--nproc_per_node", str(nproc), *extra,
                     str(SCRIPT)], MOEVAE_TEST_OUT=str(out), **env)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank{r}.json").read_text())
            for r in range(nproc)]


@pytest.mark.slow
def test_the_library_under_torchrun_shares_samples_and_one_board(tmp_path):
    single, = library_run(tmp_path, 1)
    ranks = library_run(tmp_path, 2)
    epochs = len(single["steps"])
    seen = ranks[0]["seen"] + ranks[1]["seen"]
    assert sorted(seen) == sorted(list(range(90)) * epochs)
    assert ranks[0]["board_calls"] > 0 and ranks[1]["board_calls"] == 0
    assert ranks[0]["loss"] == ranks[1]["loss"]
    np.testing.assert_allclose(ranks[0]["loss"], single["loss"], rtol=1e-5)
    for ours, theirs in zip(ranks[0]["weights"], single["weights"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("rows, batch, nproc", [
    (93, 20, 2),  # a last batch of 13 split 7/6
    (90, 25, 3),  # every batch of 25 split 9/8/8
    (91, 20, 3),  # a last batch of 11 split 4/4/3
])
def test_uneven_shares_train_the_objective_of_one_process(tmp_path, rows,
                                                          batch, nproc):
    env = {"MOEVAE_TEST_ROWS": str(rows), "MOEVAE_TEST_BATCH": str(batch)}
    single, = library_run(tmp_path, 1, **env)
    ranks = library_run(tmp_path, nproc, **env)
    np.testing.assert_allclose(ranks[0]["loss"], single["loss"], rtol=1e-5)
    for ours, theirs in zip(ranks[0]["weights"], single["weights"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_a_last_batch_with_fewer_rows_than_ranks_is_refused_first(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = torchrun(["--standalone", "--nproc_per_node", "3", str(SCRIPT)],
                    MOEVAE_TEST_OUT=str(out), MOEVAE_TEST_ROWS="61",
                    MOEVAE_TEST_CHECKPOINTS=str(tmp_path / "ck"))
    assert done.returncode != 0
    assert ("batch_size=20: fold 0's 61 training rows leave a last batch "
            "of 1 row(s), fewer than the 3 processes") in done.stderr
    assert not (tmp_path / "ck").exists() or not any(
        (tmp_path / "ck").iterdir())


@pytest.mark.slow
def test_a_killed_worker_is_restarted_and_the_run_resumes(tmp_path):
    ranks = library_run(tmp_path, 2, "--max-restarts", "1",
                        MOEVAE_TEST_CHECKPOINTS=str(tmp_path / "ck"),
                        MOEVAE_TEST_EPOCHS="3", MOEVAE_TEST_DIE_AT="1:0")
    for rank in ranks:
        assert rank["steps"] == [[0, 0], [0, 1], [0, 2]]
    assert ranks[0]["loss"] == ranks[1]["loss"]
    assert list_checkpoints(tmp_path / "ck")[0].name == "model_0_epoch_2.pth"


@pytest.mark.slow
def test_two_nodes_rendezvous_on_one_machine(tmp_path, mnist_dir):
    endpoint = f"127.0.0.1:{free_port()}"
    nodes = [subprocess.Popen(
        TORCHRUN + ["--nnodes", "2", "--node-rank", str(rank),
                    "--nproc_per_node", "1", "--rdzv-backend", "c10d",
                    "--rdzv-endpoint", endpoint, "--rdzv-id", "moevae-test",
                    *train_args(mnist_dir, tmp_path / "run", "--epochs",
                                "1", "--name", "two-nodes")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment()) for rank in (0, 1)]
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][1][-2000:]
    assert (list_checkpoints(tmp_path / "run" / "checkpoints")[0].name ==
        "model_0_epoch_0.pth")


@pytest.mark.slow
def test_sigterm_to_torchrun_checkpoints_and_stops_every_rank(tmp_path,
                                                              mnist_dir):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        TORCHRUN + ["--standalone", "--nproc_per_node", "2",
                    *train_args(mnist_dir, run_dir, "--epochs", "50",
                                "--batch-size", "20")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=environment())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list_checkpoints(
            run_dir / "checkpoints"):
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert "training stopped at" in stderr and "--resume" in stderr
    assert stderr.count("SIGTERM: training stopped at") == 1  # rank 0
    resumed = torchrun(["--standalone", "--nproc_per_node", "2", "-m",
                        "moevae", "train", "--resume", str(run_dir),
                        "--epochs", "8", "--threads", "1"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    history = json.loads((run_dir / "history.json").read_text())
    assert [step for step, _ in history["train"]["history"]] == [
        [0, epoch] for epoch in range(8)]
