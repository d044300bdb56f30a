"""Tiny untrained checkpoints of both layouts, with the same weights."""
from pathlib import Path
from typing import Dict

import pytest
import torch

from moevae.checkpoint import save_checkpoint
from moevae.models import FusedManager
from moevae.models.convolutional import ConvGatedManager

EXPERTS, HIDDEN, LATENT = 3, 16, 4


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> Dict[str, Path]:
    """{'fused': ..., 'per-expert': ..., 'conv': ...}: as training writes.

    The first two hold the same 784-16-4 model with 3 experts, in the two
    layouts (bare state dicts: tests/cli/test_checkpoints.py); 'conv' the
    same experts under a convolutional manager; nothing is trained.
    """
    root = tmp_path_factory.mktemp("tiny")
    (root / "fused").mkdir()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        fused = FusedManager(784, HIDDEN, LATENT, EXPERTS)
    fused_path = save_checkpoint(root / "fused", {"model": fused.state_dict()},
                                 fold=0, epoch=3)
    (root / "per-expert").mkdir()
    per_expert_path = save_checkpoint(
        root / "per-expert", {"model": fused.to_manager().state_dict()},
        fold=0, epoch=3)
    (root / "conv").mkdir()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        conv = ConvGatedManager(784, HIDDEN, LATENT, EXPERTS)
    conv_path = save_checkpoint(root / "conv", {"model": conv.state_dict()},
                                fold=0, epoch=3)
    return {"fused": fused_path, "per-expert": per_expert_path,
            "conv": conv_path}


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
