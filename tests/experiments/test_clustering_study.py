"""The study script trains each recipe and seed, then prints the table."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "experiments" / "clustering_study.py"


def study(*flags):
    return subprocess.run([sys.executable, str(SCRIPT), *flags],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


@pytest.mark.slow  # ~25 s on 2 cores
def test_study_prints_the_table_and_reuses_finished_runs(tmp_path,
                                                         mnist_dir):
    flags = ["--recipes", "pynet-example", "--seeds", "2", "--epochs", "1",
             "--datasetdir", str(mnist_dir), "--folder",
             str(tmp_path / "study"), "--out", str(tmp_path / "out.json")]
    done = study(*flags)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert sum(line.startswith("pynet-example seed ") for line in lines) == 2
    assert lines[-1].startswith("| `pynet-example` | n/a | ")  # no start
    assert ("| 0 of 2 |" in lines[-1] or "| 1 of 2 |" in lines[-1] or
        "| 2 of 2 |" in lines[-1])
    runs = json.loads((tmp_path / "out.json").read_text())["runs"]["pynet-example"]
    assert [run["seed"] for run in runs] == [0, 1]
    assert all(0 <= run["acc"] <= 1 for run in runs)
    again = study(*flags, "--rst", str(tmp_path / "table.rst"))
    assert again.returncode == 0  # finished runs read back, not retrained
    rst = (tmp_path / "table.rst").read_text().splitlines()
    assert rst[0].startswith("700 images, 1 epochs, seeds 0-1, on ")
    assert rst[2:6] == [".. list-table::", "   :header-rows: 1", "",
                        "   * - recipe"]
    assert "   * - ``pynet-example``" in rst
    assert "moevae train" not in again.stdout
    assert again.stdout.splitlines() == [
        line for line in lines if not line.startswith("moevae train")]
    other = study(*[flag if flag != "1" else "2" for flag in flags])
    assert other.returncode != 0
    assert "is a run with epochs=1, not 2" in other.stderr
    other = study(*flags, "--", "--learning-rate", "0.5")
    assert other.returncode != 0
    assert ("is a run with extra=[], not ['--learning-rate', '0.5']" in
        other.stderr)
    # a study stopped mid-run: the run folder is resumed, not refused
    (tmp_path / "study" / "pynet-example-seed1" / "result.json").unlink()
    again = study(*flags)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "pynet-example seed 1: resuming" in again.stdout
    assert again.stdout.splitlines()[-1] == lines[-1].replace(
        lines[-1].split("|")[-2], again.stdout.splitlines()[-1].split(
            "|")[-2])  # the same scores (the time differs)


@pytest.mark.parametrize("flags, message", [
    (["--seeds", "0"], "--seeds: '0': expected an integer >= 1"),
    (["--", "--fold", "1"], "--fold: the study sets --fold itself"),
    (["--", "--epochs=3"], "--epochs=3: the study sets --epochs itself"),
    (["--rst", "no-such-folder/t.rst"], "--rst: 'no-such-folder/t.rst': "
     "expected a file in an existing folder"),
    (["--out", "."], "--out: '.': expected a file in an existing folder"),
])
def test_study_refuses_bad_arguments_in_one_line(tmp_path, flags, message):
    done = study("--folder", str(tmp_path / "s"), *flags)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s").exists()


def test_the_documentation_table_is_a_list_table_of_the_same_cells():
    import importlib.util
    spec = importlib.util.spec_from_file_location("study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = {"acc": 0.98, "nmi": 0.95, "ari": 0.96, "usage": [0.09, 0.11],
           "collapsed": 0, "seconds": 300.0, "start_acc": 0.973}
    results = {"umap-conv-self-labelling": [run, dict(run, acc=0.99,
                                                       seconds=500.0)]}
    lines = module.rst_table(results, 70000, 20).splitlines()
    assert lines[0].startswith("70,000 images, 20 epochs, seeds 0-1, on ")
    assert lines[-8:] == ["   * - ``umap-conv-self-labelling``",
                          "     - 0.973 +- 0.000", "     - 0.985 +- 0.005",
                          "     - 0.950 +- 0.000", "     - 0.960 +- 0.000",
                          "     - 9.0%", "     - 0 of 2", "     - 400 s"]
    assert module.table(results, 70000, 20).splitlines()[-1] == (
        "| `umap-conv-self-labelling` | 0.973 +- 0.000 | 0.985 +- 0.005 | "
        "0.950 +- 0.000 | 0.960 +- 0.000 | 9.0% | 0 of 2 | 400 s |")
