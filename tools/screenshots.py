"""Regenerate the README's screenshots, docs/runs.png and docs/board.png.

Trains a short real run (``--epochs``, default 10, on 3,000 digits of the
shipped sample) with a board server of its own on a free port, then has
headless Chromium photograph the first page and the run's board once its
panes have stopped moving; run from the repository's root::

    python tools/screenshots.py [--epochs 10] [--out docs]
"""
import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Tuple

import numpy as np
import requests

from moevae.datasets.idx import write_idx
from moevae.datasets.mnist import IDX_NAMES, read_sample
from tests.support.browser import Browser  # headless Chromium (DevTools)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def digits(folder: Path, train: int = 2500, test: int = 500) -> Path:
    """MNIST IDX files of ``train`` + ``test`` shipped digits."""
    images, labels = read_sample()
    order = np.random.default_rng(0).permutation(len(images))
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (("train", order[:train]),
                        ("test", order[train:train + test])):
        image_name, label_name = IDX_NAMES[split]
        write_idx(folder / image_name, images[np.sort(rows)], False)
        write_idx(folder / label_name, labels[np.sort(rows)], False)
    return folder


def shoot(url: str, path: Path, size: Tuple[int, int], profile: Path,
          panes: int) -> None:
    """A PNG of the page once ``panes`` panes are drawn and have stopped
    moving (Chromium's --screenshot can catch the grid mid-layout)."""
    import base64
    with Browser(profile, *size) as browser:
        browser.open(url)
        browser.panes(at_least=panes, settle_s=3.0, timeout=60.0)
        content = browser.command("Page.getLayoutMetrics")["cssContentSize"]
        height = max(size[1], int(content["height"]) + 10)
        shot = browser.command(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size[0], "height": height,
                  "scale": 1})
    path.write_bytes(base64.b64decode(shot["data"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--name", default="moe-vae-demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "moevae", "board", "--port", str(port),
             "--env-path", str(scratch / "env")])
        try:
            for _ in range(300):
                try:
                    requests.get(url, timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
            subprocess.run(
                [sys.executable, "-m", "moevae", "train", "--epochs",
                 str(args.epochs), "--board", url, "--name", args.name,
                 "--datasetdir", str(digits(scratch / "mnist")),
                 "--run-dir", str(scratch / "run")], check=True)
            time.sleep(3)  # the server's first page refreshes every 2 s
            args.out.mkdir(parents=True, exist_ok=True)
            shoot(url, args.out / "runs.png", (1400, 300), scratch / "a", 1)
            shoot(f"{url}/env/{args.name}", args.out / "board.png",
                  (1400, 2250), scratch / "b", 14)
        finally:
            server.terminate()
            server.wait(30)
    print(f"written: {args.out / 'runs.png'}, {args.out / 'board.png'}")


if __name__ == "__main__":
    main()
