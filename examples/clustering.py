"""
A clustering recipe, then evaluate, sample and predict
======================================================

``moevae train --recipe R`` trains one of the clustering recipes (labels
are never used for training), and three commands use the trained model:

- ``moevae evaluate`` scores the manager's clusters against the digits
  (ACC, NMI, ARI) and draws the expert x digit confusion and each
  expert's samples;
- ``moevae sample`` decodes new images with every expert;
- ``moevae predict`` gives each image's expert, that expert's digit (as
  ``evaluate`` matched experts to digits) and the manager's probabilities,
  as a CSV.

The commands are called here in the same Python process through
:func:`moevae.cli.main`; in a shell, drop the brackets and quotes. The
recipe is ``tsne-warm-start``: a t-SNE partition of the images starts the
experts (5 warm-up epochs on it), then the pynet example's loss trains
everything. In this build it runs one epoch on a couple of thousand digits,
so its scores are far from the :doc:`/guide/clustering` tables (20 epochs
on all 70,000 digits).
"""
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from moevae.cli import main as moevae
from moevae.datasets import fetch_minst

EPOCHS = os.environ.get("MOEVAE_EPOCHS", "20")
DATA = os.environ.get("MOEVAE_DATASETDIR", "~/.cache/moevae/mnist")
BOARD = os.environ.get("MOEVAE_BOARD_PORT")
runs = Path(os.environ.get("MOEVAE_RUNS") or tempfile.mkdtemp())
run = runs / "tsne-example"

# %%
# Train
# -----
status = moevae(["train", "--recipe", "tsne-warm-start", "--epochs", EPOCHS,
                 "--datasetdir", DATA, "--run-dir", str(run),
                 "--name", "tsne-example", "--no-download",
                 "--board", f"http://localhost:{BOARD}" if BOARD else "auto"])
print("exit status", status)
print(sorted(path.name for path in run.iterdir()))

# %%
# Evaluate
# --------
# The report goes to ``evaluation.json`` beside the checkpoint, with two
# pictures.
moevae(["evaluate", str(run), "--datasetdir", DATA,
        "--json", str(run / "evaluation.json")])
for name in ("confusion.png", "experts.png"):
    plt.figure(figsize=(7, 6))
    plt.imshow(Image.open(run / name))
    plt.axis("off")
    plt.title(f"moevae evaluate: {name}")
    plt.show()

# %%
# Sample
# ------
# Eight new images per expert, one row each.
moevae(["sample", str(run), "--count", "8", "--out",
        str(run / "samples.png"), "--npy"])
samples = np.load(run / "samples.npy")
print("samples.npy:", samples.shape, samples.dtype)
plt.figure(figsize=(4, 5))
plt.imshow(Image.open(run / "samples.png"), cmap="gray")
plt.axis("off")
plt.title("moevae sample --count 8")
plt.show()

# %%
# Predict
# -------
# ``predict`` reads an ``.npy`` array, an IDX file or a folder of PNGs.
# Here: the first 20 images of the data set, saved as an array.
images = np.load(fetch_minst(DATA).input_path)[:20]
np.save(run / "digits.npy", images)
moevae(["predict", str(run), str(run / "digits.npy"), "--out",
        str(run / "predictions.csv"), "--evaluation",
        str(run / "evaluation.json")])
table = pd.read_csv(run / "predictions.csv")
print(table[["image", "expert", "digit", "p_0", "p_1", "p_2"]].head(8))
