"""The seed's VAE experts under a convolutional manager.

An MLP manager trained on an initial partition learns it by heart (its
clusters agree with the partition, errors included); a small convolutional
network that sees each image slightly moved generalises over the writing's
position and size, and so corrects part of the partition's mistakes (0.973
-> ~0.98 ACC on the 70,000 MNIST digits when trained on a UMAP partition
alone, see the README's clustering section).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as func

from ..errors import bad_value
from .fused import FusedManager

ROTATION = 0.15  # radians, either way (about 8.6 degrees)
SCALE = 0.1  # relative, either way
SHIFT = 0.1  # of half the image side, either way


def random_affine(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S) images, each moved by its own small random affine map.

    Rotation +-ROTATION rad, scale 1 +- SCALE, shift +-SHIFT (in
    ``affine_grid``'s [-1, 1] coordinates); drawn from torch's generator on
    the images' device, so a seeded run is repeatable. Bilinear
    resampling, zeros outside the image.
    """
    count = len(images)
    if count == 0:
        return images
    draw = torch.rand(count, 4, device=images.device, dtype=images.dtype)
    angle = (draw[:, 0] * 2 - 1) * ROTATION
    scale = 1 + (draw[:, 1] * 2 - 1) * SCALE
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos, -sin, (draw[:, 2] * 2 - 1) * SHIFT],
                                     dim=1),
                         torch.stack([sin, cos, (draw[:, 3] * 2 - 1) * SHIFT],
                                     dim=1)], dim=1)
    grid = func.affine_grid(theta, list(images.shape), align_corners=False)
    return func.grid_sample(images, grid, align_corners=False)


class ConvolutionalGate(nn.Module):
    """(B, S*S) images -> (B, K) logits.

    Two 5x5 convolutions (16 and 32 channels, ReLU, 2x2 max-pooling), 128
    hidden units, K outputs. In training mode each image is first moved by
    :func:`random_affine` (augmentation); in eval mode it is used as is.
    """

    def __init__(self, side: int, num_experts: int, hidden_dim: int = 128):
        super().__init__()
        self.side = side
        pooled = side // 4
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * pooled * pooled, hidden_dim),
            nn.ReLU(), nn.Linear(hidden_dim, num_experts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        images = x.reshape(len(x), 1, self.side, self.side)
        if self.training:
            images = random_affine(images)
        return self.features(images)


class ConvGatedManager(FusedManager):
    """FusedManager whose manager is a :class:`ConvolutionalGate`.

    The experts are the seed's (stacked as in FusedManager); ``in_weight``
    holds only the experts' first layers. Inputs are square images,
    flattened: ``input_dim`` must be a square (784 for 28 x 28). There is
    no per-expert (seed ``Manager``) layout of this model. With
    ``clean_probs=True`` training-mode outputs also hold the manager's
    probabilities for the unmoved images (a second, gradient-free pass of
    the manager, for an augmentation-consistency loss).
    """

    def __init__(self, input_dim: int = 784, hidden_dim: int = 128,
                 latent_dim: int = 20, num_experts: int = 10,
                 clean_probs: bool = False):
        side = (math.isqrt(input_dim) if isinstance(input_dim, int) and
            input_dim > 0 else 0)
        if side * side != input_dim or side < 4:
            raise bad_value("input_dim", input_dim,
                            "a square number of pixels (an S x S image, "
                            "S >= 4) for the convolutional manager")
        # the experts are initialised as in FusedManager (the seed's order);
        # its MLP manager is then dropped
        super().__init__(input_dim, hidden_dim, latent_dim, num_experts)
        self.clean_probs = clean_probs
        self.in_weight = nn.Parameter(self.in_weight.data[hidden_dim:].clone())
        self.in_bias = nn.Parameter(self.in_bias.data[hidden_dim:].clone())
        del self.linear2
        self.conv_gate = ConvolutionalGate(side, num_experts, hidden_dim)

    def forward(self, x: torch.Tensor):
        """FusedManager's outputs; in training mode, if asked for at
        construction, also ``clean_probs``.

        ``clean_probs`` (B, K), detached: the manager's probabilities for
        the images as they are (``probs`` are for moved copies), the
        target of an augmentation-consistency loss.
        """
        probs, outputs = super().forward(x)
        if self.training and self.clean_probs:
            with torch.no_grad():
                self.conv_gate.train(False)
                try:
                    outputs["clean_probs"] = self.gate(x)
                finally:
                    self.conv_gate.train(True)
        return probs, outputs

    @property
    def gate_rows(self) -> int:
        return 0

    def gate_from_hidden(self, x: torch.Tensor, gate_hidden: torch.Tensor
                         ) -> torch.Tensor:
        return self.gate(x)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The manager's probabilities (B, K) alone (no expert is run)."""
        return func.softmax(self.conv_gate(x), dim=1)

    @staticmethod
    def convert_state_dict(state_dict):
        if any(key.startswith("_experts.") for key in state_dict):
            raise bad_value("state_dict", "a per-expert (seed Manager) state",
                            "a ConvGatedManager state (it has no per-expert"
                            " layout)")
        return state_dict

    def to_manager(self):
        raise bad_value("layout", "per-expert", "'fused': a convolutional "
                        "manager has no per-expert (seed Manager) layout")
