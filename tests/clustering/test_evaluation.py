"""A trained mixture scored as a clustering, and its report files."""
import json

import numpy as np
import pytest
import torch

from moevae.clustering.evaluation import evaluate, write_reports
from moevae.errors import CheckpointError
from moevae.models import FusedManager


def test_evaluate_scores_every_image_against_its_label():
    torch.manual_seed(0)
    model = FusedManager(input_dim=16, hidden_dim=8, latent_dim=2,
                         num_experts=3).eval()
    images = np.random.default_rng(0).random((30, 4, 4), dtype=np.float32)
    labels = np.arange(30) % 3
    scores = evaluate(model, images, labels)
    assert 0 < scores.acc <= 1 and sum(sum(r) for r in scores.confusion) == 30
    assert len(scores.usage) == 3


def test_evaluate_refuses_images_of_another_size():
    model = FusedManager(input_dim=16, hidden_dim=8, latent_dim=2,
                         num_experts=3)
    with pytest.raises(CheckpointError, match="the model reads 16 values "
                       "per image, the data have 784"):
        evaluate(model, np.zeros((2, 28, 28), np.float32), np.zeros(2, int))


def test_reports_are_written_where_asked(tmp_path):
    torch.manual_seed(0)
    model = FusedManager(num_experts=2).eval()
    scores = evaluate(model, np.random.default_rng(1).random(
        (20, 784), dtype=np.float32), np.arange(20) % 2)
    paths = write_reports(scores, model, tmp_path / "report.json",
                          tmp_path / "pictures", "best.pth")
    report = json.loads(paths[0].read_text())
    assert report["checkpoint"] == "best.pth"
    assert report["acc"] == pytest.approx(scores.acc)
    for picture in paths[1:]:
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
