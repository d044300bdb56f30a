"""Journal: merged line windows with a bounded point count."""
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
    assert train["x"][0] == 0.0 and train["x"][-1] == 399.0  # ends kept
    assert train["x"] == sorted(train["x"]) and val["y"] == [5.0]
    # a thinned window is sent whole, seldom: amortised constant cost
    redraws = [m for e, m in posted if e == "events"]
    assert 1 <= len(redraws) <= 10
    assert sum(len(m["data"][0]["x"]) for e, m in posted) < 2000


def test_other_windows_keep_their_latest_content():
    journal = Journal()
    for index in range(3):
        payload, endpoint = BUILDER.text(f"note {index}", win="t")
        journal.record(endpoint, payload)
    (endpoint, latest), = journal.messages()
    assert latest["data"][0]["content"] == "note 2"
    journal.record("close", {"eid": "j", "win": None})
    assert journal.messages() == []
