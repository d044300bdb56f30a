"""update_board: what reaches the board, and what is skipped (said once)."""
import logging
from unittest import mock

import numpy as np
import torch

from moevae.observable import SignalObject
from moevae.plotting import update_board


def signal_for(board, **values):
    net = mock.Mock(board=board, device=torch.device("cpu"))
    return SignalObject(object=net, signal="after_epoch", **values)


def drawn(viewer):
    return {c.kwargs["win"]: c.kwargs["Y"].tolist()
            for c in viewer.line.call_args_list}


def test_one_element_values_are_drawn_as_scalars(mock_board, mock_viewer,
                                                 caplog):
    with caplog.at_level(logging.WARNING, logger="moevae"):
        update_board(signal_for(
            mock_board, epoch=0, fold=0, scheduler=None, loss=2.0,
            acc=torch.tensor([0.75], requires_grad=True),
            f1=np.array([[0.5]]), recall=[0.25], precision=(np.float32(1),),
            val_acc=torch.tensor([[0.125]]), count=np.int64(3)))
    points = [(c.kwargs["win"], c.kwargs["name"], c.kwargs["Y"].tolist())
              for c in mock_viewer.line.call_args_list]
    assert points == [("loss", "train", [2.0]), ("acc", "train", [0.75]),
                      ("f1", "train", [0.5]), ("recall", "train", [0.25]),
                      ("precision", "train", [1.0]),
                      ("acc", "validation", [0.125]),
                      ("count", "train", [3.0])]
    assert caplog.records == []


def test_values_that_are_not_numbers_are_named_once(mock_board, mock_viewer,
                                                    caplog):
    values = dict(scheduler=None, loss=1.0, confusion=np.zeros((2, 2)),
                  name="run", nothing=None, flag=True,
                  ragged=[[1.0], [2.0, 3.0]], empty=torch.zeros(0),
                  huge=10 ** 400, huge_list=[10 ** 400])
    with caplog.at_level(logging.WARNING, logger="moevae"):
        update_board(signal_for(mock_board, epoch=0, fold=0, **values))
        update_board(signal_for(mock_board, epoch=1, fold=0, **values))
    assert drawn(mock_viewer) == {"loss": [1.0]}
    assert mock_viewer.line.call_count == 2
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    for text in ("'confusion' (an array of shape (2, 2))", "'name' (a str)",
                 "'nothing' (None)", "'flag' (a bool)",
                 "'empty' (an array of shape (0,))", "'ragged' (a list",
                 "'huge' (a number too large for a float)",
                 "'huge_list' (a list of object)"):
        assert text in message
    assert ("expected a number or a 1-element tensor, array or list" in
        message)
    # a new key that cannot be drawn is said once too
    with caplog.at_level(logging.WARNING, logger="moevae"):
        update_board(signal_for(mock_board, epoch=2, fold=0, **values,
                                other="x"))
    assert len(caplog.records) == 2
    assert "'other' (a str)" in caplog.records[1].getMessage()
    assert "'name'" not in caplog.records[1].getMessage()


def test_batch_loss_and_predictions_keep_their_arrays(mock_board,
                                                      mock_viewer):
    update_board(signal_for(mock_board, epoch=0, fold=0,
                            batch_loss=[3.0, 2.0], val_pred=np.zeros((2, 4))))
    assert drawn(mock_viewer) == {"batch_loss": [3.0, 2.0]}
