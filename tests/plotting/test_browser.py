"""Headless Chromium renders real runs from the offline server: what a
person sees (panes, points, links), read from the page's DOM."""
import logging
import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from moevae.cli import train as train_cli
from moevae.plotting import Board
from tests.support.browser import (
    CHROMIUM,
    FLAGS,
    Browser,
    overlaps,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not "
                                 "installed (apt-get install chromium); "
                                 ".ci/run installs it")]
NAME = "my run é=1"
ENCODED = "my%20run%20%C3%A9%3D1"


def chromium(tmp_path, *args):
    return subprocess.run([CHROMIUM, *FLAGS, "--virtual-time-budget=8000",
                           f"--user-data-dir={tmp_path}", *args],
                          capture_output=True, text=True, timeout=120)


def title(pane):
    return pane["title"].splitlines()[-1] if pane["title"] else ""


@pytest.fixture(scope="module")
def one_epoch_run(tmp_path_factory, mnist_dir_module, server_module):
    """A 1-epoch run named with a space, '=' and an accent; the URL its
    log gives."""
    folder = tmp_path_factory.mktemp("run")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("moevae")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        assert train_cli.main(["--epochs", "1", "--board", server_module.url,
                               "--datasetdir", str(mnist_dir_module),
                               "--run-dir", str(folder), "--name",
                               NAME]) == 0
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    urls = [re.search(r"board: (\S+)", r.getMessage()) for r in records]
    return next(url.group(1) for url in urls if url)


@pytest.fixture(scope="module")
def mnist_dir_module(tmp_path_factory):
    from tests.support.helpers import write_mnist_idx
    return write_mnist_idx(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="module")
def server_module(tmp_path_factory):
    from tests.support.helpers import Server
    server = Server(tmp_path_factory.mktemp("env")).start()
    yield server
    server.stop()


def test_the_logged_url_opens_the_run_and_its_points_show(one_epoch_run,
                                                         tmp_path):
    assert one_epoch_run.endswith(f"/env/{ENCODED}")
    with Browser(tmp_path) as browser:
        browser.open(one_epoch_run)
        panes = {title(p): p for p in browser.panes(at_least=12)}
    assert {"loss", "batch_loss", "lr", "configuration", "run"} <= set(
        panes)
    assert {"sampling", "reconstructions"} <= {name.split(":")[0]
                                               for name in panes}
    # a 1-epoch run: one point per curve, drawn as a marker
    for name in ("loss", "lr", "epoch_time", "clustering (held-out)"):
        assert panes[name]["points"] >= 1, name
    assert "finished, epoch 1" in panes["run"]["text"]


def test_no_two_panes_overlap(one_epoch_run, tmp_path):
    for attempt in range(2):
        with Browser(tmp_path / str(attempt), 1600, 2200) as browser:
            browser.open(one_epoch_run)
            panes = browser.panes(at_least=12)
        assert overlaps(panes) == [], [title(p) for p in panes]


def test_the_first_page_lists_the_run_with_a_link(one_epoch_run,
                                                  server_module, tmp_path):
    with Browser(tmp_path) as browser:
        browser.open(server_module.url)
        panes = browser.panes()
        runs = next(p for p in panes if title(p) == "runs")
        assert NAME in runs["text"] and "finished" in runs["text"]
        href = browser.evaluate("document.querySelector("
                                "'.react-grid-item a').href")
    assert (href == one_epoch_run.replace("localhost", "127.0.0.1") or
        href.endswith(f"/env/{ENCODED}"))


def test_an_infinite_epoch_leaves_a_gap_not_a_lost_window(server_module,
                                                          tmp_path):
    board = Board(port=server_module.port, host="http://127.0.0.1",
                  env="inf metric", start_server=False)
    for epoch, psnr in enumerate([20.0, np.inf, 30.0, np.nan, 35.0]):
        board.update_plots({"psnr": np.float32(psnr), "loss": 1.0}, epoch)
    assert board.close(10)
    with Browser(tmp_path) as browser:
        browser.open(board.env_url)
        panes = {title(p): p for p in browser.panes(at_least=3)}
    assert panes["psnr"]["points"] == 3  # the finite ones, window drawn
    assert panes["loss"]["points"] == 5


def test_board_page_screenshot_is_not_blank(one_epoch_run, tmp_path):
    shot = tmp_path / "board.png"
    chromium(tmp_path / "b", "--window-size=1600,1400",
             f"--screenshot={shot}", one_epoch_run)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (1400, 1600)
    # not blank, not an error page: visdom's blue background, white panes,
    # and dark image grids (the expert samples and reconstructions)
    blue = (np.abs(pixels - [59, 89, 152]).sum(axis=2) < 40).mean()
    white = (pixels.min(axis=2) > 245).mean()
    dark = (pixels.max(axis=2) < 30).mean()
    assert blue > 0.05 and white > 0.2 and dark > 0.02, (blue, white, dark)
