"""Image panels draw the shape the model produces (issue 22, case 8)."""
import base64
import io
import logging
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from moevae.errors import MoEVAEValueError
from moevae.models.fused import FusedManager
from moevae.plotting import Board, Reconstructions
from moevae.plotting.image_shapes import check_image_shape, infer_image_shape
from moevae.plotting.observers import Sampling

EXPERTS, SHOWN = 2, 5


def draw(server, env, input_dim, inputs=None, **shape):
    """Both panels of a 2-expert model of ``input_dim`` values, on a real
    server; the windows read back."""
    torch.manual_seed(0)
    model = FusedManager(input_dim=input_dim, hidden_dim=8, latent_dim=2,
                         num_experts=EXPERTS)
    board = Board(port=server.port, host="http://127.0.0.1", env=env,
                  start_server=False)
    net = SimpleNamespace(model=model, board=board,
                          device=torch.device("cpu"))
    signal = SimpleNamespace(object=net, epoch=0)
    if inputs is None:
        inputs = torch.rand(SHOWN, input_dim)
    Sampling(**shape)(signal)
    Reconstructions(inputs, **shape)(signal)
    assert board.flush()
    windows = server.windows(env)
    board.close()
    return windows


def png(window) -> Image.Image:
    source = window["content"]["src"].split(",", 1)[1]
    return Image.open(io.BytesIO(base64.b64decode(source)))


def grid(columns, rows, height, width, padding=4):
    """The size (w, h) of visdom's grid of ``rows`` x ``columns`` tiles."""
    return columns * (width + padding), rows * (height + padding)


@pytest.mark.integration
@pytest.mark.parametrize("input_dim, shape, inputs, side, mode", [
    # the cases: flattened colour digits; 32 x 32 grey
    (3 * 28 * 28, {}, None, 28, "RGB"),
    (32 * 32, {}, None, 32, "L"),
    # an explicit shape that inference would not find (not square)
    (20 * 30, {"image_shape": (20, 30)}, None, None, "L"),
    # unflattened colour inputs give their own shape
    (3 * 16 * 16, {}, torch.rand(SHOWN, 3, 16, 16), 16, "RGB"),
    # the seed's 784 values stay 28 x 28 grey
    (784, {}, None, 28, "L")])
def test_panels_tile_one_image_per_tile(visdom_server, input_dim, shape,
                                        inputs, side, mode):
    windows = draw(visdom_server, "shapes", input_dim, inputs, **shape)
    recon, sample = png(windows["reconstructions"]), png(windows["sampling"])
    for image in (recon, sample):  # visdom sends grey as equal R, G, B
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
        grey = not np.abs(np.diff(pixels, axis=-1)).any()
        assert grey == (mode == "L")
    height, width = (20, 30) if side is None else (side, side)
    rows = 2 + EXPERTS  # input, mixture, expert 0..K-1; a label column
    assert recon.size == grid(SHOWN + 1, rows, 2 * height, 2 * width)
    assert sample.size == grid(EXPERTS, 1, 5 * height, 5 * width)


@pytest.mark.integration
@pytest.mark.parametrize("input_dim, shape, why", [
    (1000, {}, "cannot tell the image shape of images of 1000 values"),
    (1024, {"image_shape": (28, 28)},
     r"image_shape=\(1, 28, 28\) holds 784 values but the images have 1024"),
    (2 * 28 * 28, {}, "cannot tell the image shape of images of 1568")])
def test_a_shape_that_cannot_be_found_is_one_warning_line(
        visdom_server, caplog, input_dim, shape, why):
    with caplog.at_level(logging.WARNING, logger="moevae"):
        windows = draw(visdom_server, "noshape", input_dim, **shape)
    assert "reconstructions" not in windows and "sampling" not in windows
    lines = [record.getMessage() for record in caplog.records
             if "not drawn" in record.getMessage()]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith("board: sampling not drawn: ")
    assert lines[1].startswith("board: reconstructions not drawn: ")
    assert all(re.search(why, line) and "expected image_shape=" in line
               for line in lines)


@pytest.mark.parametrize("value", [(0, 28), (2, 28, 28), "28x28",
                                   (28.0, 28), (1, 1, 28, 28)])
def test_a_malformed_image_shape_is_refused_in_one_line(value):
    with pytest.raises(MoEVAEValueError, match=r"^image_shape=.*: expected "
                       r"\(height, width\) or \(channels, height, width\)"):
        check_image_shape(value)


def test_inference_is_unambiguous():
    assert infer_image_shape(784) == (1, 28, 28)
    assert infer_image_shape(3 * 784) == (3, 28, 28)
    assert infer_image_shape(1000) is None
    for side in range(1, 200):  # no size is both a square and 3 squares
        assert infer_image_shape(3 * side * side) == (3, side, side)
