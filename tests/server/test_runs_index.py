"""The first page (the `main` environment) lists every run."""
import time

import pytest

from moevae.plotting import Board
from moevae.server.runs_index import describe, index_html
from tests.support.helpers import Server


def test_index_rows_escape_names_and_link_percent_encoded():
    text = index_html([{"env": "run #1 <b>", "status": "running",
                        "epoch": "3", "loss": "0.5"}])
    assert 'href="/env/run%20%231%20%3Cb%3E"' in text
    assert "run #1 &lt;b&gt;" in text and "<td>0.5</td>" in text


def test_a_silent_running_run_is_flagged():
    now = 10_000.0
    assert (describe({"status": "running", "updated": str(now - 5)}, now)
        == "running")
    assert "silent for 20 min" in describe(
        {"status": "running", "updated": str(now - 1200)}, now)
    assert describe({}, now) == "-"


@pytest.mark.integration
@pytest.mark.slow
def test_main_lists_each_run_with_status_epoch_loss_and_link(tmp_path):
    server = Server(tmp_path / "env").start()
    try:
        boards = [Board(port=server.port, host="http://127.0.0.1", env=name,
                        start_server=False) for name in ("my run (é)", "other")]
        for epoch in range(2):
            boards[0].update_plots({"loss": 0.25 * (2 - epoch)}, epoch)
        assert boards[0].close(10)
        assert boards[1].flush(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pane = server.windows("main").get("runs")
            if (pane and "other" in pane["content"] and
                    "finished" in pane["content"]):
                break
            time.sleep(0.3)
        content = pane["content"]
        assert 'href="/env/my%20run%20%28%C3%A9%29"' in content
        assert "<td>finished</td><td>2</td><td>0.25</td>" in content
        assert "<td>running</td><td>-</td><td>-</td>" in content
        boards[1].close(5)
    finally:
        server.stop()


def test_the_pane_comes_back_when_a_run_in_main_clears_it():
    from moevae.server.runs_index import RunsIndex

    class App:
        state = {"main": {"jsons": {}, "reload": {}},
                 "r": {"jsons": {}, "reload": {}}}
        subs: dict = {}
    index = RunsIndex(App)
    assert index.refresh() and not index.refresh()
    App.state["main"]["jsons"].clear()  # the seed's Board(env="main")
    assert index.refresh() and "runs" in App.state["main"]["jsons"]


def test_runs_saved_by_an_earlier_server_are_listed_without_loading(
        tmp_path):
    import json

    from visdom.utils.server_utils import LazyEnvData

    from moevae.server.runs_index import RunsIndex
    status = ('<div data-status="finished" data-epoch="7" data-loss="0.5" '
              'data-updated="1"></div>')
    (tmp_path / "old.json").write_text(json.dumps({"jsons": {
        "run_status": {"content": status, "type": "text"}}, "reload": {}}))

    class App:
        env_path = str(tmp_path)
        state = {"main": {"jsons": {}, "reload": {}},
                 "old": LazyEnvData(str(tmp_path / "old.json"))}
        subs: dict = {}
    assert RunsIndex(App).refresh()
    content = App.state["main"]["jsons"]["runs"]["content"]
    assert "<td>finished</td><td>7</td><td>0.5</td>" in content
    assert App.state["old"]._raw_dict is None  # not loaded into memory


def test_links_follow_the_base_url_and_main_is_listed_only_as_a_run():
    from types import SimpleNamespace

    from moevae.server.runs_index import RunsIndex
    text = index_html([{"env": "a", "status": "-"}], "/visdom")
    assert 'href="/visdom/env/a"' in text
    status = ('<div data-status="finished" data-epoch="2" data-loss="1" '
              'data-updated="0"></div>')
    app = SimpleNamespace(env_path=None, state={
        "main": {"jsons": {"run_status": {"content": status}}},
        "b": {"jsons": {}}})
    assert [row["env"] for row in RunsIndex(app).rows(0.0)] == ["b", "main"]
    app.state["main"] = {"jsons": {"runs": {"content": "index"}}}
    assert [row["env"] for row in RunsIndex(app).rows(0.0)] == ["b"]
