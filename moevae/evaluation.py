"""Evaluate a checkpoint as a clustering: scores, JSON and pictures.

The model is rebuilt from the checkpoint alone (fused or per-expert layout,
sizes read from the weight shapes); every image of the data set is put in
its manager's most probable expert and scored against the labels.
"""
import io
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch

from . import checkpoint as ckpt
from .errors import CheckpointError
from .fileio import atomic_save, write_json
from .metrics import ClusteringScores, manager_clusters, score_clustering
from .models import FusedManager, build_manager
from .models.convolutional import ConvGatedManager

SAMPLES_PER_EXPERT = 8


def model_from_state(state: Dict[str, torch.Tensor], source) -> torch.nn.Module:
    """A FusedManager (or ConvGatedManager) or seed Manager shaped like the
    weights in ``state``."""
    if "in_weight" in state and "latent_weight" in state:
        experts, twice_latent, hidden = state["latent_weight"].shape
        fused = ConvGatedManager if any(key.startswith("conv_gate.")
                                        for key in state) else FusedManager
        model = fused(state["in_weight"].shape[1], hidden, twice_latent // 2,
                      experts)
    elif "_experts.0.encoder.linear.weight" in state:
        experts = len({key.split(".")[1] for key in state
                       if key.startswith("_experts.")})
        hidden, inputs = state["_experts.0.encoder.linear.weight"].shape
        latent = state["_experts.0.encoder.mu.weight"].shape[0]
        model = build_manager(inputs, hidden, latent, experts)
    else:
        raise CheckpointError(f"{source}: not a mixture-of-experts checkpoint"
                              " (no 'in_weight' nor '_experts.*' weights)")
    ckpt.load_model_state(model, state, source)
    return model.eval()


def load_model(path: Path) -> torch.nn.Module:
    payload = ckpt.load_checkpoint(path)
    return model_from_state(ckpt.model_state(payload), path)


def evaluate(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray
             ) -> ClusteringScores:
    inputs = torch.tensor(np.asarray(images), dtype=torch.float32).reshape(
        len(images), -1)
    if inputs.shape[1] != model_input_dim(model):
        raise CheckpointError(f"the model reads {model_input_dim(model)} "
                              f"values per image, the data have "
                              f"{inputs.shape[1]}")
    clusters = manager_clusters(model, inputs)
    return score_clustering(labels, clusters, len(model._experts))


def model_input_dim(model: torch.nn.Module) -> int:
    if isinstance(model, FusedManager):
        return model.input_dim
    return model.linear1.in_features


def write_reports(scores: ClusteringScores, model: torch.nn.Module,
                  json_path: Path, picture_dir: Path, source: str
                  ) -> Tuple[Path, Path, Path]:
    """The JSON report, the confusion heatmap and the experts' samples."""
    picture_dir.mkdir(parents=True, exist_ok=True)
    write_json(json_path, dict(scores.as_dict(), checkpoint=source))
    confusion = picture_dir / "confusion.png"
    experts = picture_dir / "experts.png"
    save_figure(confusion_figure(scores), confusion)
    save_figure(samples_figure(model), experts)
    return json_path, confusion, experts


def confusion_figure(scores: ClusteringScores):
    from matplotlib.figure import Figure
    counts = np.asarray(scores.confusion)
    figure = Figure(figsize=(6, 5))
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="viridis")
    axes.set(xlabel="digit", ylabel="expert", xticks=range(counts.shape[1]),
             yticks=range(counts.shape[0]),
             title=f"ACC {scores.acc:.3f}  NMI {scores.nmi:.3f}  "
                   f"ARI {scores.ari:.3f}")
    figure.colorbar(image, ax=axes, label="images")
    return figure


@torch.no_grad()
def samples_figure(model: torch.nn.Module, seed: int = 0):
    """SAMPLES_PER_EXPERT decoded N(0, I) draws per expert, one row each."""
    from matplotlib.figure import Figure
    generator = torch.Generator().manual_seed(seed)
    latent_dim = model.latent_dim
    z = torch.randn(SAMPLES_PER_EXPERT, latent_dim, generator=generator)
    rows = [expert.decoder(z).reshape(-1, 28, 28).numpy()
            for expert in model._experts]
    grid = np.concatenate([np.concatenate(list(row), axis=1) for row in rows])
    figure = Figure(figsize=(SAMPLES_PER_EXPERT, len(rows)))
    axes = figure.subplots()
    axes.imshow(grid, cmap="gray", vmin=0, vmax=1)
    axes.set_yticks([28 * k + 14 for k in range(len(rows))],
                    [f"expert {k}" for k in range(len(rows))])
    axes.set_xticks([])
    return figure


def save_figure(figure, path: Path) -> None:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    atomic_save(path, lambda handle: handle.write(buffer.getvalue()))
