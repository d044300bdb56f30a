"""Journal: merged line windows with a bounded point count."""
import numpy as np
import visdom

from moevae.plotting.journal import Journal

BUILDER = visdom.Visdom(send=False, offline=True, log_to_filename="unused",
                        env="j")


def message(**kwargs):
    payload, endpoint = BUILDER.line(**kwargs)
    return endpoint, payload


def test_appends_merge_like_the_server_and_points_stay_bounded():
    journal = Journal(max_points=100)
    journal.record(*message(Y=[0.0], X=[0.0], win="loss", name="train"))
    journal.record(*message(Y=[5.0], X=[0.0], win="loss", name="val",
                            update="append"))
    posted = []
    for step in range(1, 400):
        posted += journal.record(*message(Y=[float(step)], X=[float(step)],
                                          win="loss", name="train",
                                          update="append"))
    assert 0 < journal.points("j", "loss") <= 100
    (endpoint, window), = journal.messages()
    assert endpoint == "events"
    train, val = window["data"]
    assert (train["name"], val["name"]) == ("train", "val")
    assert train["x"][0] == 0.0 and train["x"] == sorted(train["x"])
    assert val["y"] == [5.0]
    last_endpoint, last = posted[-1]  # the newest point is on the board
    assert 399.0 in last["data"][0]["x"]
    # a thinned window is sent whole, seldom: amortised constant cost (a
    # few points per appended point) and never more than max_points
    redraws = [m for e, m in posted if e == "events"]
    assert 1 <= len(redraws) <= 40
    assert sum(len(m["data"][0]["x"]) for e, m in posted) < 3000
    assert all(len(m["data"][0]["x"]) <= 100 for m in redraws)


def test_other_windows_keep_their_latest_content():
    journal = Journal()
    for index in range(3):
        payload, endpoint = BUILDER.text(f"note {index}", win="t")
        journal.record(endpoint, payload)
    (endpoint, latest), = journal.messages()
    assert latest["data"][0]["content"] == "note 2"
    journal.record("close", {"eid": "j", "win": None})
    assert journal.messages() == []


def test_a_long_run_keeps_points_spread_over_all_its_epochs():
    """Thinning keeps the early epochs: the kept points are spread evenly
    (per-batch loss: 90 points an epoch, 300 epochs, 400 points kept)."""
    import numpy as np
    journal = Journal(max_points=400)
    journal.record("events", {"eid": "e", "win": "b", "data": [
        {"x": [0.0], "y": [0.0], "name": "train", "type": "scatter"}]})
    posted = 0
    for epoch in range(300):
        xs = [epoch + step / 90 for step in range(1, 91)]
        for endpoint, message in journal.record("update", {
                "eid": "e", "win": "b", "append": True, "name": "train",
                "data": [{"x": xs, "y": xs}]}):
            posted = (sum(len(t["x"]) for t in message["data"]) if
                endpoint == "events" else posted + len(
                    message["data"][0]["x"]))
    x = np.array(journal.messages()[0][1]["data"][0]["x"])
    counts = np.histogram(x, bins=10, range=(0, 300))[0]
    assert counts.min() >= counts.max() / 2, counts
    assert len(x) <= 400 and posted <= 400  # the server holds as many


def _server_copy(posted):
    """What visdom's server holds after the posted messages (one window)."""
    import copy

    from moevae.plotting.journal import merge_update
    held = None
    for endpoint, payload in posted:
        if endpoint == "events":
            held = copy.deepcopy(payload)
        else:
            merge_update(held, payload)
    return held


def _append_all(journal, batches, name="train"):
    posted = list(journal.record("events", {"eid": "e", "win": "b", "data": [
        {"x": [0.0], "y": [0.0], "name": name, "type": "scatter"}]}))
    for xs in batches:
        posted += journal.record("update", {
            "eid": "e", "win": "b", "append": True, "name": name,
            "data": [{"x": xs, "y": xs}]})
        held = _server_copy(posted)
        for trace in held["data"]:
            assert trace["x"] == sorted(trace["x"]), trace["x"]
        assert sum(len(t["x"]) for t in held["data"]) <= journal.max_points
    return _server_copy(posted)


def test_a_thinned_curve_stays_in_x_order_and_within_its_bound():
    """Per-batch points (20 epochs of 10, max_points=40, the reported
    case); appends merged in the queue (many points at once); uneven
    batch counts per epoch with a bound of 11 (two more of the kind)."""
    per_batch = [[epoch + step / 10 for step in range(1, 11)]
                 for epoch in range(20)]
    held = _append_all(Journal(max_points=40), per_batch)
    assert held["data"][0]["x"][-1] == 20.0  # the newest point is shown
    merged = [[float(x) for x in range(1, 3)], [float(x) for x in
                                                range(3, 19)]]
    merged += [[float(x) for x in range(19 + 7 * i, 26 + 7 * i)]
               for i in range(30)]
    held = _append_all(Journal(max_points=10), merged)
    assert held["data"][0]["x"][-1] == merged[-1][-1]
    rng = np.random.default_rng(0)
    uneven, start = [], 0.0
    for _ in range(60):
        count = int(rng.integers(1, 13))
        uneven.append([start + (i + 1) / count for i in range(count)])
        start += 1.0
    _append_all(Journal(max_points=11), uneven)


def test_resume_at_drops_later_points_of_every_fold_from_the_log(tmp_path):
    """The board learns where a resumed run continues: later points of
    that fold (epoch and per-batch windows) and every later fold's go,
    from the offline log too; earlier folds stay."""
    from moevae.plotting import Board
    from moevae.plotting.journal import read_log
    from tests.support.helpers import free_port
    log = tmp_path / "board.jsonl"

    def board():
        return Board(port=free_port(), host="http://127.0.0.1", env="r",
                     start_server=False, log_path=log, queue_size=1)

    first = board()
    for fold, epochs in ((0, 3), (1, 3), (2, 1)):
        for epoch in range(epochs):
            first.update_plots({"loss": 1.0 + epoch,
                                "batch_loss": np.ones(4)}, epoch, fold)
    first.close(1)

    def traces(window):
        journal, _ = read_log(log)
        (_, ((_, message),)), = [item for item in journal.window_messages()
                                 if item[0] == ("r", window)]
        return {trace["name"]: trace["x"] for trace in message["data"]}
    second = board()
    second.resume_at(1, 1)
    second.close(1)
    assert traces("loss") == {"train": [1.0, 2.0, 3.0],
                              "train (fold 1)": [1.0],
                              "train (fold 2)": []}
    assert traces("batch_loss")["train (fold 1)"] == [0.25, 0.5, 0.75, 1.0]
    third = board()
    third.resume_at(0, 0)
    third.close(1)
    assert all(x == [] for x in traces("loss").values())


def record(journal, method, *args, **kwargs):
    payload, endpoint = getattr(BUILDER, method)(*args, **kwargs)
    journal.record(endpoint, payload)


def window_order(journal):
    return [window for (_, window), _ in journal.window_messages()]


def test_a_redrawn_window_keeps_its_place():
    """The run pane, drawn first and redrawn every epoch, stays first in
    the journal, so a replay or a resume draws the panes in their order."""
    journal = Journal(max_points=10)
    record(journal, "text", "running", win="run_status")
    record(journal, "text", "config", win="config")
    record(journal, "line", Y=[1.0], X=[1.0], win="loss", name="train")
    record(journal, "images", [[[[0.0]]]], win="sampling")
    for epoch in range(2, 30):  # thinned: the loss window is resent whole
        record(journal, "line", Y=[1.0], X=[float(epoch)], win="loss",
               name="train", update="append")
        record(journal, "images", [[[[0.5]]]], win="sampling")
        record(journal, "text", f"running, epoch {epoch}", win="run_status")
    record(journal, "text", "config again", win="config")
    assert window_order(journal) == ["run_status", "config", "loss",
                                     "sampling"]
    journal.record("close", {"eid": "j", "win": "config"})
    record(journal, "text", "config redrawn after a close", win="config")
    assert window_order(journal) == ["run_status", "loss", "sampling",
                                     "config"]
