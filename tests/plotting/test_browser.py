"""Headless Chromium renders a real run's board from the offline server."""
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from moevae.cli import train as train_cli

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=8000"]


def chromium(tmp_path, *args):
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path}",
                           *args], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                    "(apt-get install chromium); .ci/run installs it")
def test_board_page_shows_rendered_plots(tmp_path, mnist_dir, visdom_server):
    assert train_cli.main(["--epochs", "2", "--board", visdom_server.url,
                           "--datasetdir", str(mnist_dir), "--run-dir",
                           str(tmp_path / "run"), "--name", "shown"]) == 0
    page = f"{visdom_server.url}/env/shown"
    dom = chromium(tmp_path / "a", "--dump-dom", page).stdout
    plots = re.findall(r'class="plotly-graph-div js-plotly-plot"', dom)
    assert len(plots) >= 8, dom[:500]  # 7 line plots and the usage bars
    assert "expert usage" in dom and "configuration" in dom
    shot = tmp_path / "board.png"
    chromium(tmp_path / "b", "--window-size=1600,1400",
             f"--screenshot={shot}", page)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (1400, 1600)
    # not blank, not an error page: visdom's blue background, white panes,
    # and dark image grids (the expert samples and reconstructions)
    blue = (np.abs(pixels - [59, 89, 152]).sum(axis=2) < 40).mean()
    white = (pixels.min(axis=2) > 245).mean()
    dark = (pixels.max(axis=2) < 30).mean()
    assert blue > 0.05 and white > 0.2 and dark > 0.02, (blue, white, dark)
