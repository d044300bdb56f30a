"""Test helpers: small real MNIST data and a real Visdom server."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests
import visdom

from moevae.datasets.idx import write_idx
from moevae.datasets.mnist import IDX_NAMES, read_sample

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sample_subset(count: int, offset: int = 0):
    """``count`` real digits from the shipped sample, all classes mixed."""
    images, labels = read_sample()
    chosen = np.sort(np.random.default_rng(offset).choice(
        len(images), count, replace=False))
    return images[chosen], labels[chosen]


def write_mnist_idx(folder: Path, train: int = 600, test: int = 100,
                    compress: bool = True, layout: str = "flat") -> Path:
    """MNIST IDX files of real digits, as MNIST or torchvision lays them."""
    target = folder / "MNIST" / "raw" if layout == "torchvision" else folder
    target.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for split, count, offset in (("train", train, 1), ("test", test, 2)):
        images, labels = sample_subset(count, offset)
        image_name, label_name = IDX_NAMES[split]
        write_idx(target / (image_name + suffix), images, compress)
        write_idx(target / (label_name + suffix), labels, compress)
    return folder


def start_server(port: int, env_path: Path, extra_env=None, args=(),
                 host: str = "127.0.0.1"):
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(extra_env or {}))
    process = subprocess.Popen(
        [sys.executable, "-m", "moevae.server", "--port", str(port),
         "--host", host, "--env-path", str(env_path), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with process.stdout:
                raise RuntimeError(process.stdout.read().decode())
        try:
            shown = f"[{host}]" if ":" in host else host
            requests.get(f"http://{shown}:{port}/", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    stop_server(process)
    raise RuntimeError("the Visdom server did not start in 60 s")


def stop_server(process) -> str:
    """Stop a server started by start_server, close its output pipe and
    return what it printed that was not read yet."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is None or process.stdout.closed:
        return ""  # stopped already
    with process.stdout:
        return process.stdout.read().decode()


class Server:
    """A real offline Visdom server on 127.0.0.1, restartable."""

    def __init__(self, env_path: Path):
        self.port, self.env_path = free_port(), env_path
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> "Server":
        """Start (or restart: the last process's pipe is closed first)."""
        self.stop()
        self.process = start_server(self.port, self.env_path)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_server(self.process)

    def client(self, env: str) -> visdom.Visdom:
        return visdom.Visdom(server="http://127.0.0.1", port=self.port,
                             env=env, use_incoming_socket=False,
                             raise_exceptions=True)

    def windows(self, env: str) -> dict:
        """{window id: its content} of an environment, read back."""
        import json
        return json.loads(self.client(env).get_window_data(env=env))


def seed_manager(mnist_dir: Path, batch_size: int = 100):
    """The pynet example's DataManager over a test MNIST folder."""
    from moevae.datasets import DataManager, fetch_minst
    from moevae.transforms import flatten
    data = fetch_minst(str(mnist_dir))
    return DataManager(data.input_path, data.metadata_path,
                       stratify_label="label", number_of_folds=10,
                       batch_size=batch_size, test_size=0,
                       input_transforms=[flatten], add_input=True)
