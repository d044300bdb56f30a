"""Board and observers against a mocked visdom client (autospec)."""
from unittest import mock

import numpy as np
import pytest
import torch

from moevae.errors import MoEVAEError
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import FusedManager, build_manager
from moevae.observable import SignalObject
from moevae.plotting import (
    Board,
    ExpertUsage,
    Reconstructions,
    sampling,
    show_config,
    update_board,
)


def signal_for(board, model=None, **values):
    net = mock.Mock(board=board, device=torch.device("cpu"), model=model)
    return SignalObject(object=net, signal="after_epoch", **values)


def line_calls(viewer):
    return [(c.kwargs["win"], c.kwargs["name"], c.kwargs["X"].tolist(),
             c.kwargs["Y"].tolist()) for c in viewer.line.call_args_list]


def test_update_board_train_and_validation_share_windows(mock_board,
                                                         mock_viewer):
    update_board(signal_for(mock_board, epoch=2, fold=0, scheduler=None,
                            loss=3.5, kl_loss=1.0, val_loss=4.0,
                            val_kl_loss=1.5, lr=0.001, epoch_time=1.25,
                            samples_per_second=800.0,
                            batch_loss=np.array([4.0, 3.0, 3.5, 3.5]),
                            val_pred=np.zeros((2, 10))))
    assert line_calls(mock_viewer) == [
        ("loss", "train", [3.0], [3.5]),
        ("kl_loss", "train", [3.0], [1.0]),
        ("loss", "validation", [3.0], [4.0]),
        ("kl_loss", "validation", [3.0], [1.5]),
        ("lr", "train", [3.0], [0.001]),
        ("epoch_time", "train", [3.0], [1.25]),
        ("samples_per_second", "train", [3.0], [800.0]),
        ("batch_loss", "train", [2.25, 2.5, 2.75, 3.0], [4.0, 3.0, 3.5, 3.5])]
    updates = [c.kwargs["update"] for c in mock_viewer.line.call_args_list]
    # the first point creates its window; the validation trace is appended
    assert updates == [None, None, "append", "append", None, None, None,
                       None]
    for call in mock_viewer.line.call_args_list:
        assert call.kwargs["opts"]["title"] == call.kwargs["win"]
    layout = mock_viewer.line.call_args_list[4].kwargs["opts"][
        "layoutopts"]["plotly"]
    assert layout["yaxis"]["type"] == "log"
    mock_viewer.images.assert_not_called()  # display_pred is off


def test_later_folds_get_their_own_traces(mock_board, mock_viewer):
    update_board(signal_for(mock_board, epoch=0, fold=3, scheduler=None,
                            loss=torch.tensor(2.0)))
    assert line_calls(mock_viewer) == [("loss", "train (fold 3)", [1.0],
                                        [2.0])]


def test_display_pred_images(mock_viewer):
    board = Board(client=mock_viewer, display_pred=True,
                  prepare_pred=lambda y: np.asarray(y).reshape(-1, 1, 2, 2))
    board.update_plots({"val_pred": np.zeros((3, 4))}, epoch=0)
    assert mock_viewer.images.call_args.args[0].shape == (3, 1, 2, 2)


@pytest.mark.parametrize("layout", ["fused", "per-expert"])
def test_sampling_sends_zoomed_expert_images(mock_board, mock_viewer, layout):
    torch.manual_seed(0)
    model = FusedManager() if layout == "fused" else build_manager()
    state = torch.get_rng_state()
    sampling(signal_for(mock_board, model=model, epoch=0))
    assert torch.equal(torch.get_rng_state(), state)  # training RNG intact
    images = mock_viewer.images.call_args.args[0]
    assert images.shape == (10, 1, 140, 140)
    assert images.max() == pytest.approx(255) and images.min() >= 0
    # nearest-neighbour zoom: 5 x 5 blocks of one value
    block = images[3, 0, 50:55, 70:75]
    assert np.all(block == block[0, 0])
    assert mock_viewer.images.call_args.kwargs["win"] == "sampling"


def test_reconstructions_grid(mock_board, mock_viewer):
    torch.manual_seed(0)
    model = FusedManager()
    inputs = torch.rand(4, 784)
    Reconstructions(inputs, zoom=2)(signal_for(mock_board, model=model))
    call = mock_viewer.images.call_args
    images = call.args[0]
    # rows: input, mixture, 10 experts; a first column of row labels
    assert images.shape == (5 * 12, 1, 56, 56)
    np.testing.assert_allclose(images[1:5, 0, ::2, ::2],
                               inputs.reshape(4, 28, 28) * 255, rtol=1e-5)
    assert images[0].max() > 200 and images[0, 0, 40:].max() == 0  # text
    assert call.kwargs["nrow"] == 5 and call.kwargs["win"] == "reconstructions"
    assert "caption" not in call.kwargs["opts"]  # visdom shows it twice
    assert model.training  # mode restored


def test_expert_usage_bars(mock_board, mock_viewer):
    usage = ExpertUsage()
    probs = torch.tensor([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    usage.after_batch(SignalObject(outputs=probs))
    usage.after_batch(SignalObject(outputs=probs))
    usage.after_epoch(signal_for(mock_board, epoch=0))
    call = mock_viewer.bar.call_args
    np.testing.assert_allclose(call.kwargs["X"], [0.25, 0.75, 0.0])
    assert call.kwargs["win"] == "expert_usage"
    assert len(call.kwargs["opts"]["rownames"]) == 3


def test_expert_usage_attaches_to_an_interface(mock_board, mock_viewer):
    interface = DeepLearningInterface(model=FusedManager(), loss=ManagerLoss())
    handles = ExpertUsage().attach(interface)
    assert len(handles) == 2 and interface.has_observers("after_batch")


def test_config_pane_escapes_html(mock_board, mock_viewer):
    show_config(mock_board, {"name": "<run>", "epochs": 3})
    text = mock_viewer.text.call_args.args[0]
    assert "&lt;run&gt;" in text and "<td>3</td>" in text


@pytest.mark.parametrize("options, message", [
    (dict(port=0), "port=0"), (dict(port="8097"), "port='8097'"),
    (dict(host="localhost"), "host='localhost'"),
    (dict(env="a/b"), "env='a/b'"), (dict(queue_size=0), "queue_size=0"),
    (dict(max_points=2), "max_points=2"),
    (dict(max_points=1.5), "max_points=1.5")])
def test_bad_board_arguments(mock_viewer, options, message):
    with pytest.raises(MoEVAEError, match=message):
        Board(client=mock_viewer, **options)


@pytest.mark.parametrize("env", ["", "a/b", "a\\b", "x.json", "tab\there",
                                 "nul\x00", "bidi\u202e", "e" * 201, 3,
                                 "run #1", "a?b", "50%", "a+b", "..", "a&b",
                                 "it's", 'say "hi"', "<b>", " ", "\u00a0 ",
                                 "\u00fc" * 101, "\u65e5" * 67])
def test_env_names_that_cannot_name_a_file_or_url_are_refused(mock_viewer,
                                                              env):
    with pytest.raises(MoEVAEError, match="env=.*expected a name"):
        Board(client=mock_viewer, env=env)


@pytest.mark.parametrize("env, path", [
    ("run 1", "run%201"), ("a=c;d", "a%3Dc%3Bd"),
    ("é😀", "%C3%A9%F0%9F%98%80"), ("(x) [y]", "%28x%29%20%5By%5D")])
def test_the_logged_url_percent_encodes_the_env(mock_viewer, env, path):
    board = Board(client=mock_viewer, env=env, port=8123)
    assert board.env_url == f"http://localhost:8123/env/{path}"


def test_lines_have_markers_so_a_single_point_shows(mock_board, mock_viewer):
    mock_board.update_plots({"loss": 1.0}, epoch=0)
    opts = mock_viewer.line.call_args.kwargs["opts"]
    assert opts["markers"] and opts["markersize"] >= 4


def test_status_pane_tells_status_epoch_and_loss(mock_board, mock_viewer):
    mock_board.update_plots({"loss": np.float32(3.5), "kl_loss": 1.0},
                            epoch=2)
    status = mock_viewer.text.call_args
    assert status.kwargs["win"] == "run_status"
    assert ('data-status="running" data-epoch="3" data-loss="3.5"' in
        status.args[0])
    assert mock_board.close(status="stopped")
    assert 'data-status="stopped"' in mock_viewer.text.call_args.args[0]
    calls = mock_viewer.text.call_count
    assert mock_board.close() and mock_viewer.text.call_count == calls


def test_board_changes_no_process_state_and_writes_no_file(
        tmp_path, monkeypatch):
    import logging

    from tests.support.helpers import free_port
    monkeypatch.chdir(tmp_path)
    handlers = (logging.getLogger().handlers[:],
                logging.getLogger("moevae").handlers[:])
    board = Board(port=free_port(), host="http://127.0.0.1", env="quiet",
                  start_server=False)
    board.update_plots({"loss": 1.0}, epoch=0)
    board.close(0.5)
    assert list(tmp_path.iterdir()) == []  # no runs/ folder, no log
    assert (logging.getLogger().handlers,
            logging.getLogger("moevae").handlers) == handlers


def test_bfloat16_and_one_element_metrics_are_plotted(mock_board,
                                                      mock_viewer):
    update_board(signal_for(mock_board, epoch=0,
                            loss=torch.tensor(2.5, dtype=torch.bfloat16),
                            psnr=np.array([30.0])))
    assert line_calls(mock_viewer) == [("loss", "train", [1.0], [2.5]),
                                       ("psnr", "train", [1.0], [30.0])]


def test_a_board_left_open_says_exited_when_the_process_ends(mock_board,
                                                            mock_viewer):
    mock_board._at_exit()
    assert 'data-status="exited"' in mock_viewer.text.call_args.args[0]
    mock_board.close()
    calls = mock_viewer.text.call_count
    mock_board._at_exit()  # closed: nothing more
    assert mock_viewer.text.call_count == calls


@pytest.mark.parametrize("with_update_board", [True, False])
@pytest.mark.parametrize("epochs", [1, 2])
def test_a_script_whose_training_returned_is_finished(
        mock_board, mock_viewer, mnist_dir, epochs, with_update_board):
    """pynet's script never closes its board: training() returning is
    what says the run finished, not exited."""
    from tests.support.helpers import seed_manager
    net = DeepLearningInterface(model=FusedManager(), loss=ManagerLoss(),
                                optimizer_name="Adam")
    net.board = mock_board
    if with_update_board:
        net.add_observer("after_epoch", update_board)
    net.training(seed_manager(mnist_dir), nb_epochs=epochs,
                 with_validation=False)
    assert 'data-status="finished"' in mock_viewer.text.call_args.args[0]
    calls = mock_viewer.text.call_count
    mock_board._at_exit()
    assert mock_viewer.text.call_count == calls


def test_a_board_on_a_rank_after_0_draws_nothing(monkeypatch, mock_viewer):
    """Under torchrun only rank 0 talks to the server (no server started,
    no log, no calls) while the script stays the same on every rank."""
    from moevae.plotting import Board
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    board = Board(client=mock_viewer, env="run")
    board.update_plots({"loss": 1.0}, epoch=0)
    board.viewer.images([[0]], win="sampling")
    board.close()
    assert mock_viewer.method_calls == []


def test_a_call_into_another_env_checks_its_name():
    from moevae.plotting.client import AsyncVisdom
    viewer = AsyncVisdom("http://127.0.0.1", 9, env="run")  # nothing there
    try:
        with pytest.raises(MoEVAEError, match="env='x#y'"):
            viewer.line(Y=[1.0], X=[1.0], win="w", env="x#y")
    finally:
        viewer.close_client(0.1)
