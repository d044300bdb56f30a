"""What a person reads on a real board in headless Chromium: toolbars
clear of titles, integer epochs, every digit and expert labelled, the run
pane first after a replay or a resume (DOM boxes and texts)."""
import json
import re

import pytest

from moevae.cli import replay as replay_cli
from moevae.cli import train as train_cli
from tests.support.browser import CHROMIUM, PLOTS_JS, Browser, intersect

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not "
                                 "installed (apt-get install chromium)")]
LINE_PANES = ("loss", "lr", "epoch_time", "samples_per_second",
              "clustering (held-out)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from tests.support.helpers import Server
    running = Server(tmp_path_factory.mktemp("env")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def three_epochs(tmp_path_factory, server):
    """A 3-epoch run on its board: (its run folder, its mnist folder)."""
    from tests.support.helpers import write_mnist_idx
    root = tmp_path_factory.mktemp("run")
    mnist = write_mnist_idx(root / "mnist")
    assert train_cli.main(["--epochs", "3", "--board", server.url,
                           "--datasetdir", str(mnist), "--run-dir",
                           str(root / "run"), "--name", "three"]) == 0
    return root / "run", mnist


def plots(server, env, tmp_path, size=(1400, 1800), at_least=12):
    with Browser(tmp_path, *size) as browser:
        browser.open(f"{server.url}/env/{env}")
        browser.panes(at_least=at_least)
        return {pane["title"].splitlines()[-1] if pane["title"] else "":
                pane for pane in json.loads(browser.evaluate(PLOTS_JS))}


@pytest.mark.parametrize("size", [(1400, 1800), (1400, 3000), (900, 2000)])
def test_no_toolbar_covers_a_title(server, three_epochs, tmp_path, size):
    panes = plots(server, "three", tmp_path, size)
    toolbars = [name for name, pane in panes.items() if pane["modebar"]]
    assert len(toolbars) >= 8, list(panes)
    for name, pane in panes.items():
        assert not intersect(pane["modebar"], pane["plot_title"]), name
        assert not intersect(pane["modebar"], pane["bar"]), name
        assert pane["plot_title_text"] == "", name  # the pane says it


def test_epoch_ticks_are_whole_epochs(server, three_epochs, tmp_path):
    panes = plots(server, "three", tmp_path)
    for name in (*LINE_PANES, "batch_loss"):
        ticks = panes[name]["xticks"]
        assert ticks and all(re.fullmatch(r"\d+", t) for t in ticks), (
            name, ticks)
        assert "epoch" in panes[name]["axis_titles"], name


def test_the_heatmap_labels_every_digit_and_expert(server, three_epochs,
                                                   tmp_path):
    panes = plots(server, "three", tmp_path)
    heatmap = next(p for name, p in panes.items()
                   if name.startswith("expert x digit"))
    assert heatmap["xticks"] == [str(d) for d in range(10)]
    assert sorted(heatmap["yticks"], key=int) == [str(k) for k in range(10)]
    assert sorted(heatmap["axis_titles"]) == ["digit", "expert"]
    usage = next(p for name, p in panes.items()
                 if name.startswith("expert usage"))
    assert usage["xticks"] == [str(k) for k in range(10)]


def test_the_sampling_pane_says_which_expert_is_which(server, three_epochs,
                                                      tmp_path):
    panes = plots(server, "three", tmp_path)
    sampling = next(p for name, p in panes.items()
                    if name.startswith("sampling"))
    assert "experts 0-4, 5-9" in sampling["title"]
    with Browser(tmp_path / "captions") as browser:
        browser.open(f"{server.url}/env/three")
        panes = browser.panes(at_least=12)
    images = [pane for pane in panes if pane["title"].splitlines()[-1]
              .startswith(("sampling", "reconstructions"))]
    assert len(images) == 2
    for pane in images:  # no caption written at its top and at its bottom
        lines = [line.strip() for line in pane["text"].splitlines()
                 if line.strip()]
        assert len(lines) == len(set(lines)), (pane["title"], lines)


def first_pane(server, env, tmp_path):
    panes = plots(server, env, tmp_path)
    return min(panes.items(), key=lambda item: (item[1]["y"],
                                                item[1]["x"]))[0]


def test_the_run_pane_comes_first_after_a_replay_or_a_resume(
        server, three_epochs, tmp_path):
    run_dir, mnist = three_epochs
    log = run_dir / "board.jsonl"
    for env in ("replayed", "three"):
        args = [str(log), "--board", server.url] + (
            ["--env", env] if env != "three" else [])
        assert replay_cli.main(args) == 0
        assert first_pane(server, env, tmp_path / env) == "run"
    assert train_cli.main(["--resume", str(run_dir), "--epochs", "4",
                           "--board", server.url]) == 0
    assert first_pane(server, "three", tmp_path / "resumed") == "run"
