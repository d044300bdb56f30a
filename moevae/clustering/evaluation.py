"""Evaluate a checkpoint as a clustering: scores, JSON and pictures.

The model is rebuilt from the checkpoint alone (fused or per-expert layout,
sizes read from the weight shapes); every image of the data set is put in
its manager's most probable expert and scored against the labels.
"""
import io
from pathlib import Path
from typing import Tuple

import numpy as np
import torch

from ..errors import CheckpointError
from ..fileio import atomic_save, write_json
from ..models import experts_of, latent_dim_of
from ..training.loading import model_input_dim
from .scores import ClusteringScores, manager_clusters, score_clustering

SAMPLES_PER_EXPERT = 8


def evaluate(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray
             ) -> ClusteringScores:
    inputs = torch.tensor(np.asarray(images), dtype=torch.float32).reshape(
        len(images), -1)
    if inputs.shape[1] != model_input_dim(model):
        raise CheckpointError(f"the model reads {model_input_dim(model)} "
                              f"values per image, the data have "
                              f"{inputs.shape[1]}")
    clusters = manager_clusters(model, inputs)
    return score_clustering(labels, clusters, len(experts_of(model)))


def write_reports(scores: ClusteringScores, model: torch.nn.Module,
                  json_path: Path, picture_dir: Path, source: str,
                  suffix: str = "") -> Tuple[Path, Path, Path]:
    """The JSON report, the confusion heatmap and the experts' samples
    (``confusion<suffix>.png``, ``experts<suffix>.png``)."""
    picture_dir.mkdir(parents=True, exist_ok=True)
    write_json(json_path, dict(scores.as_dict(), checkpoint=source))
    confusion = picture_dir / f"confusion{suffix}.png"
    experts = picture_dir / f"experts{suffix}.png"
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
    z = torch.randn(SAMPLES_PER_EXPERT, latent_dim_of(model),
                    generator=generator)
    rows = [expert.decoder(z).reshape(-1, 28, 28).numpy()
            for expert in experts_of(model)]
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
