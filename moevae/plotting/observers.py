"""Observers that draw a training run on its board.

``update_board`` and ``sampling`` are the seed's (pynet's) observers; the
others add the panels a researcher watches: reconstructions of a fixed
batch, how much each expert is used, and the run's configuration. The
observers that draw random numbers do so on a forked RNG, so a run with the
board on trains exactly like one with it off.
"""
import contextlib
import html
import logging
import numbers
import weakref
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import numpy as np
import torch
from scipy import ndimage

from ..observable import Signal, side_effect
from .board import PANE_SIZE, plot_opts
from .image_shapes import check_image_shape, resolve_image_shape, warn_not_drawn

ZOOM = 5
logger = logging.getLogger("moevae")
SAMPLES_PER_ROW = 5
PANE_CHROME = (14, 60)  # a visdom image pane's border and bars (w, h), px


def image_pane(count: int, height: int, width: int, nrow: int,
               padding: int = 2) -> Dict[str, int]:
    """Pane size (px) that holds visdom's grid of ``count`` images
    ``height`` x ``width`` with ``nrow`` per row: stated up front, so the
    layout never has to move panes when the images arrive."""
    rows = -(-count // nrow)
    return {"width": nrow * (width + padding) + padding + PANE_CHROME[0],
            "height": rows * (height + padding) + padding + PANE_CHROME[1]}


@side_effect
def update_board(signal) -> None:
    """Plot every number of an ``after_epoch`` signal on the board.

    A 1-element tensor, array, list or tuple is a number (as pynet drew
    it); ``batch_loss`` (per batch) and ``val_pred`` (images) keep their
    arrays. Any other value (a str, None, a bool, a larger array) is not
    drawn, and a warning names each such key once per board.
    """
    data, skipped = {}, {}
    for key in signal.keys:
        if key in ("epoch", "fold", "scheduler"):
            continue
        value = getattr(signal, key)
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            value = (value.double() if value.is_floating_point() else
                     value).numpy()  # numpy has no bfloat16
        if key in ARRAY_KEYS:
            data[key] = value
            continue
        number, reason = as_number(value)
        if reason is None:
            data[key] = number
        else:
            skipped[key] = reason
    board = signal.object.board
    _report_skipped(board, skipped)
    board.update_plots(data, signal.epoch, getattr(signal, "fold", 0) or 0)


ARRAY_KEYS = ("batch_loss", "val_pred")
_REPORTED: "weakref.WeakKeyDictionary[Any, Set[str]]" = (
    weakref.WeakKeyDictionary())


def as_number(value: Any) -> Tuple[Optional[float], Optional[str]]:
    """(the value as a float, None), or (None, why it is not a number)."""
    if value is None:
        return None, "None"
    if isinstance(value, (bool, np.bool_)):
        return None, "a bool"
    if isinstance(value, numbers.Real):
        try:
            return float(value), None
        except OverflowError:  # an int (or Fraction) beyond float range
            return None, "a number too large for a float"
    if not isinstance(value, (np.ndarray, list, tuple)):
        return None, f"a {type(value).__name__}"
    kind = ("an array" if isinstance(value, np.ndarray) else
        f"a {type(value).__name__}")
    try:
        array = np.asarray(value)
    except ValueError:
        return None, f"{kind} of uneven lengths"
    if array.dtype.kind not in "iuf":
        return None, f"{kind} of {array.dtype}"
    if array.size != 1:
        return None, f"{kind} of shape {array.shape}"
    return float(array.reshape(())), None


def _report_skipped(board: Any, skipped: Dict[str, str]) -> None:
    """Warn once per board about each key that cannot be drawn."""
    try:
        reported = _REPORTED.setdefault(board, set())
    except TypeError:  # a board that cannot be weakly referenced
        reported = set()
    new = {key: reason for key, reason in skipped.items()
           if key not in reported}
    if new:
        reported.update(new)
        logger.warning("board: not drawing %s: expected a number or a "
                       "1-element tensor, array or list", ", ".join(
                           f"{key!r} ({reason})"
                           for key, reason in new.items()))


@contextlib.contextmanager
def isolated_rng(device: torch.device) -> Iterator[None]:
    """Draw random numbers without moving the training RNG streams."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield


def expert_decoders(model) -> List[Any]:
    return [expert.decoder for expert in model._experts]


class Sampling:
    """The seed's panel: one decoded N(0, I) draw per expert, zoomed x5.

    ``image_shape`` ((H, W) or (C, H, W), C = 1 or 3) says how to cut a
    flattened output into an image; without it the shape is the decoder's
    own (unflattened outputs) or inferred (784 values: 1 x 28 x 28, the
    seed's). A shape that cannot be found is one warning, then no drawing.
    """

    side_effect = True  # a drawing: its errors are logged, training goes on

    def __init__(self, image_shape: Optional[Sequence[int]] = None):
        self.image_shape = check_image_shape(image_shape)
        self._warned = False

    def __call__(self, signal) -> None:
        interface = signal.object
        model, board = interface.model, interface.board
        with isolated_rng(interface.device), torch.no_grad():
            z = torch.randn(1, model.latent_dim, device=interface.device)
            decoded = [decoder(z)[0].float().cpu().numpy()
                       for decoder in expert_decoders(model)]
        shape, why = resolve_image_shape(self.image_shape, decoded[0].shape)
        if shape is None:
            if not self._warned:
                self._warned = True
                warn_not_drawn("sampling", why)
            return
        images = np.asarray([
            ndimage.zoom(image.reshape(shape), (1, ZOOM, ZOOM), order=0)
            for image in decoded])
        images = label_cells(images / images.max() * 255,
                             [f"expert {k}" for k in range(len(images))])
        board.viewer.images(
            images, nrow=SAMPLES_PER_ROW, win="sampling", opts={
                "title": "sampling: "
                         f"{experts_by_row(len(images), SAMPLES_PER_ROW)}",
                **image_pane(len(images), images.shape[-2],
                             images.shape[-1], SAMPLES_PER_ROW)})


_SEED_SAMPLING = Sampling()


@side_effect
def sampling(signal) -> None:
    """The seed's panel, :class:`Sampling` with the shape the decoder's
    output gives or implies (784 values: 28 x 28 grey)."""
    _SEED_SAMPLING(signal)


def experts_by_row(count: int, per_row: int) -> str:
    """"experts 0-4 (row 1), 5-9 (row 2)": where each expert's cell is."""
    rows = [(start, min(start + per_row, count) - 1)
            for start in range(0, count, per_row)]
    return "experts " + ", ".join(
        f"{first}-{last}" if last > first else f"{first}"
        for first, last in rows) + (" by rows, left to right"
                                    if len(rows) > 1 else "")


def label_cells(images: np.ndarray, labels: List[str]) -> np.ndarray:
    """Each image (N, C, H, W), values 0-255, with its label written in
    its top-left corner (white on a black box)."""
    from PIL import Image, ImageDraw
    labelled = np.array(images, dtype=np.float64)
    for image, label in zip(labelled, labels):
        canvas = Image.fromarray(np.zeros(image.shape[1:], np.uint8))
        draw = ImageDraw.Draw(canvas)
        _, _, right, bottom = draw.textbbox((2, 1), label)
        draw.text((2, 1), label, fill=255)
        box = (slice(None), slice(0, bottom + 3), slice(0, right + 3))
        # the box in every channel: colour images keep their colours
        image[box] = np.asarray(canvas, dtype=np.float64)[None][box]
    return labelled


def mixture_outputs(model, inputs: torch.Tensor):
    """(probs (B, K), expert reconstructions (K, B, D)) of a MoE model."""
    probs, layer_outputs = model(inputs)
    if "x_pred" in layer_outputs:
        return probs, layer_outputs["x_pred"]
    return probs, torch.stack([pred for pred, _ in
                               layer_outputs["experts_results"]])


class Reconstructions:
    """A fixed batch beside its mixture and per-expert reconstructions.

    Rows of the grid: the inputs, the mixture sum_k p_k x_k, then expert
    0..K-1; one tile per image (grey or colour), zoomed x2. ``inputs`` are
    (B, D) flattened or (B, [C,] H, W); the image shape is ``image_shape``
    ((H, W) or (C, H, W), C = 1 or 3), else that of unflattened inputs,
    else inferred from D (784: 1 x 28 x 28; 3 * s * s: colour). A shape
    that cannot be found is one warning, then no drawing.
    """

    side_effect = True  # a drawing: its errors are logged, training goes on

    def __init__(self, inputs: torch.Tensor, zoom: int = 2,
                 image_shape: Optional[Sequence[int]] = None):
        inputs = torch.as_tensor(inputs)
        self.image_shape = check_image_shape(image_shape)
        if self.image_shape is None and inputs.dim() > 2:
            self.image_shape, _ = resolve_image_shape(None, inputs.shape[1:])
        self.inputs = inputs.reshape(len(inputs), -1)
        self.zoom = zoom
        self._warned = False

    def __call__(self, signal) -> None:
        interface = signal.object
        inputs = self.inputs.to(interface.device)
        was_training = interface.model.training
        interface.model.eval()
        with isolated_rng(interface.device), torch.no_grad():
            probs, experts = mixture_outputs(interface.model, inputs)
        interface.model.train(was_training)
        experts = experts.reshape(len(experts), len(inputs), -1)
        mixture = torch.einsum("bk,kbd->bd", probs.float(), experts.float())
        rows = torch.cat([inputs[None].float(), mixture[None],
                          experts.float()])
        shape, why = resolve_image_shape(self.image_shape, rows.shape[2:])
        if shape is None:
            if not self._warned:
                self._warned = True
                warn_not_drawn("reconstructions", why)
            return
        images = rows.reshape(-1, *shape).cpu().numpy()
        images = images.repeat(self.zoom, axis=2).repeat(self.zoom, axis=3)
        names = ["input", "mixture"] + [f"expert {k}"
                                        for k in range(len(experts))]
        cells = np.clip(images, 0, 1).reshape(
            len(names), len(inputs), *images.shape[1:]) * 255
        # a first column of labels: what each row is
        labels = label_cells(np.zeros((len(names), *images.shape[1:])),
                             names)
        grid = np.concatenate([labels[:, None], cells], axis=1).reshape(
            -1, *images.shape[1:])
        interface.board.viewer.images(
            grid, nrow=len(inputs) + 1, win="reconstructions",
            opts={"title": "reconstructions: input, mixture, each expert",
                  **image_pane(len(grid), images.shape[-2], images.shape[-1],
                               len(inputs) + 1)})


class ExpertUsage:
    """Bar chart of the manager's mean probability per expert, per epoch.

    Register it with :meth:`attach`: it sums the manager's probabilities
    on the device after each batch and plots the shares after each epoch.
    """

    def __init__(self):
        self.totals: Optional[torch.Tensor] = None
        self.samples = 0

    def attach(self, interface) -> List[Any]:
        """Register on ``interface``; returns the observers' handles."""
        return [interface.add_observer(Signal.AFTER_BATCH, self.after_batch,
                                       side_effect=True),
                interface.add_observer(Signal.AFTER_EPOCH, self.after_epoch,
                                       side_effect=True)]

    def after_batch(self, signal) -> None:
        probs = signal.outputs.detach().float().sum(dim=0)
        self.totals = probs if self.totals is None else self.totals + probs
        self.samples += len(signal.outputs)

    def after_epoch(self, signal) -> None:
        if self.totals is None:
            return
        shares = (self.totals / self.samples).cpu().numpy()
        self.totals, self.samples = None, 0
        signal.object.board.viewer.bar(
            X=shares, win="expert_usage",
            opts={"title": f"expert usage (epoch {signal.epoch + 1})",
                  **PANE_SIZE,
                  "rownames": [str(k) for k in range(len(shares))],
                  **plot_opts(xaxis={"title": "expert", "type": "category",
                                     "dtick": 1},
                              yaxis={"title": "mean manager probability"})})


def show_config(board, config: Dict[str, Any]) -> None:
    """The run's configuration as a text pane."""
    rows = "".join(f"<tr><td><b>{html.escape(str(key))}</b></td>"
                   f"<td>{html.escape(str(value))}</td></tr>"
                   for key, value in config.items())
    board.viewer.text(f"<table>{rows}</table>", win="config",
                      opts={"title": "configuration", **PANE_SIZE})
