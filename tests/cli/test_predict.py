import re
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from moevae.cli import main as moevae_main
from moevae.cli import outputs
from moevae.cli import predict as predict_cli
from moevae.datasets.idx import write_idx
from moevae.training.loading import load_model
from tests.cli.conftest import EXPERTS
from tests.support.helpers import sample_subset

COLUMNS = ["image", "expert"] + [f"p_{k}" for k in range(EXPERTS)]


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """12 real MNIST digits, uint8 (12, 28, 28)."""
    return sample_subset(12, offset=5)[0]


def write_pngs(folder, images):
    folder.mkdir()
    for number, image in enumerate(images):
        Image.fromarray(image).save(folder / f"digit-{number:02d}.png")
    return folder


def predict(run_cli, checkpoint, source, out, *extra):
    code, stdout, err = run_cli(predict_cli.main, [checkpoint, source,
                                                   "--out", out, *extra])
    assert code == 0, err
    return pd.read_csv(out)


def test_csv_holds_the_managers_probabilities(tmp_path, tiny_checkpoint,
                                              digits, run_cli):
    np.save(tmp_path / "digits.npy", digits)
    out = tmp_path / "made" / "here" / "predictions.csv"
    table = predict(run_cli, tiny_checkpoint, tmp_path / "digits.npy", out)
    assert list(table.columns) == COLUMNS
    assert table["image"].tolist() == list(range(len(digits)))
    model = load_model(tiny_checkpoint)
    with torch.no_grad():
        expected = model(torch.from_numpy(digits.reshape(-1, 784) / np.float32(
            255)))[0].numpy()
    probabilities = table[COLUMNS[2:]].to_numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert (table["expert"] == expected.argmax(axis=1)).all()


def test_every_input_kind_gives_the_same_predictions(tmp_path, digits,
                                                     tiny_checkpoints,
                                                     run_cli):
    sources = {
        "uint8 N x 28 x 28": (tmp_path / "a.npy", digits),
        "float N x 784": (tmp_path / "b.npy",
                          digits.reshape(-1, 784) / np.float64(255)),
        "float32 N x 1 x 28 x 28": (tmp_path / "c.npy",
                                    (digits / np.float32(255))[:, None]),
    }
    for path, array in sources.values():
        np.save(path, array)
    write_idx(tmp_path / "d-idx3-ubyte.gz", digits, compress=True)
    write_idx(tmp_path / "e-idx3-ubyte", digits, compress=False)
    write_pngs(tmp_path / "pngs", digits)
    inputs = [path for path, _ in sources.values()] + [
        tmp_path / "d-idx3-ubyte.gz", tmp_path / "e-idx3-ubyte",
        tmp_path / "pngs"]
    for same_model in (("fused", "per-expert"), ("conv",)):
        tables = [predict(run_cli, tiny_checkpoints[layout], source,
                          tmp_path / "out.csv")
                  for layout in same_model for source in inputs]
        for table in tables[1:]:
            np.testing.assert_allclose(table[COLUMNS[1:]].to_numpy(),
                                       tables[0][COLUMNS[1:]].to_numpy(),
                                       atol=1e-5)
    assert tables[5]["image"].tolist() == [f"digit-{n:02d}.png"
                                           for n in range(len(digits))]


def test_one_image_and_the_top_level_command(tmp_path, tiny_checkpoints,
                                             digits, run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "one.npy", digits[0])
    run_dir = tmp_path / "runs" / "demo"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "best.pth").write_bytes(
        tiny_checkpoints["fused"].read_bytes())
    code, stdout, _ = run_cli(moevae_main, ["predict", run_dir, "one.npy"])
    assert code == 0
    assert stdout.startswith(str(run_dir / "checkpoints" / "best.pth"))
    table = pd.read_csv(tmp_path / "predictions.csv")
    assert len(table) == 1 and list(table.columns) == COLUMNS


def bad_input(tmp_path, kind, digits):
    """A bad INPUT of the given kind, and the message expected for it."""
    path = tmp_path / "input.npy"
    if kind == "missing":
        return path, "input.npy: no such file or folder"
    if kind == "shape":
        np.save(path, np.zeros((4, 30, 30), np.uint8))
        return path, r"images of shape \(4, 30, 30\), expected \(N, 784\)"
    if kind == "vector":
        np.save(path, np.zeros(10, np.uint8))
        return path, r"images of shape \(10,\)"
    if kind == "empty":
        np.save(path, np.zeros((0, 784), np.uint8))
        return path, r"no image in it \(shape \(0, 784\)\)"
    if kind == "0-255 floats":
        np.save(path, digits.astype(np.float32))
        return (path, r"values from 0 to 255, expected floats in \[0, 1\] "
            r"\(divide by 255\?\)")
    if kind == "negative":
        np.save(path, -digits.astype(np.int16))
        return path, "int16 values from -255 to 0, expected 0-255"
    if kind == "NaN":
        array = digits / np.float32(255)
        array[3, 4, 5] = np.nan
        np.save(path, array)
        return path, "NaN or infinite values"
    if kind == "strings":
        np.save(path, np.array([["a"] * 784]))
        return path, "values of dtype <U1, expected uint8 0-255"
    if kind == "pickled":
        np.save(path, np.array([digits[0], None], dtype=object))
        return path, r"unreadable .npy array \(Object arrays .*pickle"
    if kind == "truncated":
        np.save(path, digits)
        path.write_bytes(path.read_bytes()[:1000])
        return path, "unreadable .npy array"
    if kind == "text":
        path.write_text("0,1,2\n")
        return path, "unknown file kind; expected an .npy array, an IDX file"
    if kind == "bad IDX":
        path = tmp_path / "images-idx3-ubyte"
        write_idx(path, digits, compress=False)
        path.write_bytes(path.read_bytes()[:-7])
        return path, "truncated or corrupt file"
    if kind == "empty folder":
        path = tmp_path / "pngs"
        path.mkdir()
        return path, "no .png file in this folder"
    folder = write_pngs(tmp_path / "pngs", digits[:3])
    if kind == "PNG size":
        Image.fromarray(np.zeros((32, 28), np.uint8)).save(folder / "z.png")
        return folder, "z.png: 28x32 pixels, expected 28x28"
    if kind == "PNG corrupt":
        (folder / "z.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
        return folder, "z.png: unreadable PNG image"
    if kind == "JPEG named .png":
        Image.fromarray(digits[0]).save(folder / "z.png", format="JPEG")
        return folder, "z.png: a JPEG image, expected a PNG"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", [
    "missing", "shape", "vector", "empty", "0-255 floats", "negative", "NaN",
    "strings", "pickled", "truncated", "text", "bad IDX", "empty folder",
    "PNG size", "PNG corrupt", "JPEG named .png"])
def test_bad_input_one_line_and_no_csv(tmp_path, tiny_checkpoint, digits,
                                       run_cli, kind):
    source, message = bad_input(tmp_path, kind, digits)
    out = tmp_path / "out" / "predictions.csv"
    code, _, err = run_cli(predict_cli.main, [tiny_checkpoint, source,
                                              "--out", out])
    assert code == 2 and re.search(message, err), err
    assert err.startswith("moevae predict: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.parent.exists()


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: checkpoint, input"),
    (["{ckpt}"], "the following arguments are required: input"),
    (["{tmp}/none.pth", "{npy}"], "no such checkpoint file or folder"),
    (["{ckpt}", "{npy}", "--out", "{tmp}"], "expected a file name, not a "
                                            "folder"),
    (["{ckpt}", "{npy}", "--device", "gpu"], "invalid choice: 'gpu'"),
    (["{ckpt}", "{npy}", "--out", "{npy}"], "expected another file than the "
                                            "input it would overwrite"),
])
def test_bad_arguments_one_line(tmp_path, tiny_checkpoint, digits, run_cli,
                                argv, message):
    np.save(tmp_path / "digits.npy", digits)
    argv = [arg.format(tmp=tmp_path, ckpt=tiny_checkpoint,
                       npy=tmp_path / "digits.npy") for arg in argv]
    code, _, err = run_cli(predict_cli.main, argv)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["digits.npy"]


def test_failed_write_keeps_the_previous_csv(tmp_path, tiny_checkpoint,
                                             digits, run_cli):
    np.save(tmp_path / "digits.npy", digits)
    out = tmp_path / "predictions.csv"
    predict(run_cli, tiny_checkpoint, tmp_path / "digits.npy", out)
    before = out.read_bytes()
    np.save(tmp_path / "digits.npy", digits[::-1])
    full = OSError(28, "No space left on device")
    with mock.patch.object(outputs.os, "fsync", side_effect=full):
        code, _, err = run_cli(predict_cli.main, [
            tiny_checkpoint, tmp_path / "digits.npy", "--out", out])
    assert code == 1 and err == (
        f"moevae predict: failed: cannot write {out}: No space left on "
        "device; the previous files are kept\n")
    assert out.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "digits.npy", "predictions.csv"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_predicts_like_the_cpu(tmp_path, tiny_checkpoint, digits,
                                    run_cli):
    np.save(tmp_path / "digits.npy", digits)
    tables = [predict(run_cli, tiny_checkpoint, tmp_path / "digits.npy",
                      tmp_path / f"{device}.csv", "--device", device)
              for device in ("cpu", "cuda")]
    np.testing.assert_allclose(tables[0][COLUMNS[2:]].to_numpy(),
                               tables[1][COLUMNS[2:]].to_numpy(), atol=1e-4)
