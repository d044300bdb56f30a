import math
from unittest import mock

import numpy as np
import pytest
import torch
from PIL import Image

from moevae.cli import main as moevae_main
from moevae.cli import sample as sample_cli
from moevae.training.loading import load_model
from tests.cli.conftest import EXPERTS

CELL = 28 + 2  # an image and the grid's padding


def grid_size(rows: int, columns: int, one_expert: bool = False):
    """(width, height) of the PNG: the grid, plus the experts' labels (a
    column on the left, or a title above one expert's square)."""
    if one_expert:
        return columns * CELL + 2, rows * CELL + 2 + sample_cli.TITLE_HEIGHT
    return columns * CELL + 2 + sample_cli.LABEL_WIDTH, rows * CELL + 2


def test_every_expert_one_row_each(tmp_path, tiny_checkpoint, run_cli):
    out = tmp_path / "new" / "folder" / "grid.png"
    code, stdout, _ = run_cli(sample_cli.main, [
        tiny_checkpoint, "--count", 5, "--out", out, "--npy", "--seed", 3])
    assert code == 0, stdout
    images = np.load(out.with_suffix(".npy"))
    assert images.shape == (EXPERTS, 5, 28, 28)
    assert images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.mode == "L"
        assert picture.size == grid_size(EXPERTS, 5)
        pixels = np.asarray(picture)
    # expert 2's fourth image sits in row 2, column 3
    top, left = 2 + 2 * CELL, sample_cli.LABEL_WIDTH + 2 + 3 * CELL
    cell = pixels[top:top + 28, left:left + 28]
    np.testing.assert_array_equal(cell, np.round(images[2, 3] * 255))
    assert f"{out}" in stdout and f"{out.with_suffix('.npy')}" in stdout


def test_images_are_the_experts_decoded_prior_draws(tmp_path, tiny_checkpoint,
                                                    run_cli):
    out = tmp_path / "grid.png"
    assert run_cli(sample_cli.main, [tiny_checkpoint, "--count", 4, "--out",
                                     out, "--npy", "--seed", 7])[0] == 0
    model = load_model(tiny_checkpoint)
    codes = torch.randn(EXPERTS, 4, model.latent_dim,
                        generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = [model._experts[k].decoder(codes[k]).reshape(4, 28, 28)
                    for k in range(EXPERTS)]
    np.testing.assert_allclose(np.load(out.with_suffix(".npy")),
                               torch.stack(expected).numpy(), atol=1e-6)


def test_one_expert_as_a_near_square(tmp_path, tiny_checkpoint, run_cli):
    one, every = tmp_path / "one.png", tmp_path / "every.png"
    for out, extra in ((one, ["--expert", 1]), (every, [])):
        assert run_cli(sample_cli.main, [tiny_checkpoint, "--count", 5,
                                         "--out", out, "--npy", *extra]
                       )[0] == 0
    with Image.open(one) as picture:
        columns = math.ceil(math.sqrt(5))
        assert picture.size == grid_size(2, columns, one_expert=True)
    alone = np.load(one.with_suffix(".npy"))
    assert alone.shape == (1, 5, 28, 28)
    np.testing.assert_array_equal(alone[0], np.load(every.with_suffix(
        ".npy"))[1])


def test_a_seed_repeats_and_another_differs(tmp_path, tiny_checkpoint,
                                            run_cli):
    paths = [tmp_path / f"{name}.png" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (11, 11, 12)):
        assert run_cli(sample_cli.main, [tiny_checkpoint, "--seed", seed,
                                         "--out", path])[0] == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_both_layouts_draw_the_same_images(tmp_path, tiny_checkpoints,
                                           run_cli):
    arrays = []
    for layout, path in tiny_checkpoints.items():
        out = tmp_path / f"{layout}.png"
        assert run_cli(sample_cli.main, [path, "--out", out, "--npy"])[0] == 0
        arrays.append(np.load(out.with_suffix(".npy")))
    np.testing.assert_allclose(arrays[0], arrays[1], atol=1e-6)


def test_defaults_and_checkpoint_folder(tmp_path, tiny_checkpoints, run_cli,
                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tiny_checkpoints["fused"].parent
    code, stdout, _ = run_cli(moevae_main, ["sample", folder])
    assert code == 0
    assert stdout.startswith(str(tiny_checkpoints["fused"]))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["samples.png"]
    with Image.open(tmp_path / "samples.png") as picture:
        assert picture.size == grid_size(EXPERTS, 8)


@pytest.mark.parametrize("argv, message", [
    (["--expert", 3], r"argument --expert: 3: expected an expert index 0-2 "
                      r"\(the model has 3 experts\)"),
    (["--expert", -1], "argument --expert: '-1': expected an integer >= 0"),
    (["--count", 0], "argument --count: '0': expected an integer from 1"),
    (["--count", 10001], "expected an integer from 1 to 10000"),
    (["--count", "many"], "argument --count: 'many'"),
    (["--seed", -2], "argument --seed: '-2': expected an integer >= 0"),
    (["--out", "{tmp}/new/grid.jpg"], r"--out=.*grid.jpg.*ending in .png"),
    (["--out", "{tmp}"], "--out=.*: expected a file name, not a folder"),
    (["--out", "{tmp}/file.txt/grid.png"], "parent .*file.txt is a folder, "
                                           "not a file"),
    (["--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
])
def test_bad_options_one_line_and_nothing_written(tmp_path, tiny_checkpoint,
                                                  run_cli, argv, message):
    import re
    (tmp_path / "file.txt").write_text("not a folder")
    argv = [str(arg).replace("{tmp}", str(tmp_path)) for arg in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "new" / "grid.png")]
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run_cli(sample_cli.main, [tiny_checkpoint, "--npy",
                                             *argv])
    assert code == 2 and re.search(message, err), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("content, message", [
    (None, "no such checkpoint file or folder"),
    ("empty folder", "no checkpoint in this folder"),
    (b"garbage", "unreadable checkpoint"),
    ("linear", "not a mixture-of-experts checkpoint"),
    ("narrow", "'dec_out_weight' has shape .* in the checkpoint but"),
])
def test_bad_checkpoint_one_line(tmp_path, run_cli, tiny_checkpoints,
                                 content, message):
    import re
    target = tmp_path / "model.pth"
    if content == "narrow":
        state = torch.load(tiny_checkpoints["fused"],
                           weights_only=True)["model"]
        state["in_weight"] = state["in_weight"][:, :100]
        torch.save({"model": state}, target)
    elif content == "empty folder":
        target.mkdir()
    elif content == "linear":
        torch.save(torch.nn.Linear(3, 3).state_dict(), target)
    elif content is not None:
        target.write_bytes(content)
    out = tmp_path / "out" / "grid.png"
    code, _, err = run_cli(sample_cli.main, [target, "--out", out])
    assert code == 2 and re.search(message, err), err
    assert err.count("\n") == 1
    assert not out.parent.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_refused_without_a_gpu(tmp_path, tiny_checkpoint, run_cli):
    code, _, err = run_cli(sample_cli.main, [
        tiny_checkpoint, "--device", "cuda", "--out", tmp_path / "g.png"])
    assert (code == 2 and "argument --device: 'cuda': expected auto or cpu"
        in err)
    assert not (tmp_path / "g.png").exists()


def test_failed_write_keeps_the_previous_files(tmp_path, tiny_checkpoint,
                                               run_cli):
    out = tmp_path / "grid.png"
    assert run_cli(sample_cli.main, [tiny_checkpoint, "--out", out,
                                     "--npy"])[0] == 0
    before = {path: path.read_bytes() for path in tmp_path.iterdir()}
    full = OSError(28, "No space left on device")
    with mock.patch.object(np, "save", side_effect=full):
        code, _, err = run_cli(sample_cli.main, [
            tiny_checkpoint, "--out", out, "--npy", "--seed", 5])
    assert code == 1 and err == (
        f"moevae sample: failed: cannot write {out}, "
        f"{out.with_suffix('.npy')}: No space left on device; the previous "
        "files are kept\n")
    assert {path: path.read_bytes() for path in tmp_path.iterdir()} == before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_draws_the_cpu_images(tmp_path, tiny_checkpoint, run_cli):
    arrays = []
    for device in ("cpu", "cuda"):
        out = tmp_path / f"{device}.png"
        code, stdout, _ = run_cli(sample_cli.main, [
            tiny_checkpoint, "--device", device, "--out", out, "--npy"])
        assert code == 0 and f"on {device}" in stdout
        arrays.append(np.load(out.with_suffix(".npy")))
    np.testing.assert_allclose(arrays[0], arrays[1], atol=1e-4)
