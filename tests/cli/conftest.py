"""Tiny untrained checkpoints of both layouts, with the same weights."""
from pathlib import Path
from typing import Dict

import pytest
import torch

from moevae.models import FusedManager
from moevae.models.convolutional import ConvGatedManager
from moevae.training.checkpoint import save_checkpoint

EXPERTS, HIDDEN, LATENT = 3, 16, 4


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> Dict[str, Path]:
    """{'fused': ..., 'per-expert': ..., 'conv': ...}: as training writes.

    The first two hold the same 784-16-4 model with 3 experts, in the two
    layouts (bare state dicts: tests/cli/test_checkpoints.py); 'conv' the
    same experts under a convolutional manager; nothing is trained.
    """
    root = tmp_path_factory.mktemp("tiny")

    def saved(layout: str, model_class=FusedManager, convert=None):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = model_class(784, HIDDEN, LATENT, EXPERTS)
        (root / layout).mkdir()
        state = (convert(model) if convert else model).state_dict()
        return save_checkpoint(root / layout, {"model": state}, fold=0,
                               epoch=3)
    return {"fused": saved("fused"),
            "per-expert": saved("per-expert",
                                convert=FusedManager.to_manager),
            "conv": saved("conv", ConvGatedManager)}


@pytest.fixture(params=["fused", "per-expert", "conv"])
def tiny_checkpoint(request, tiny_checkpoints) -> Path:
    return tiny_checkpoints[request.param]


@pytest.fixture
def run_cli(capsys):
    """run_cli(main, argv) -> (exit status, stdout, stderr)."""
    def run(main, argv):
        try:
            code = main([str(arg) for arg in argv])
        except SystemExit as stop:
            code = stop.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err
    return run
