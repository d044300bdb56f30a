"""predict's digit column: evaluate's matching of experts to digits."""
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from moevae.cli import evaluate as evaluate_cli
from moevae.cli import predict as predict_cli
from tests.cli.conftest import EXPERTS
from tests.support.helpers import sample_subset


@pytest.fixture
def evaluated(tmp_path, tiny_checkpoint, mnist_dir, run_cli):
    """A copied checkpoint with its evaluation.json, and 12 digits."""
    checkpoint = tmp_path / "run" / tiny_checkpoint.name
    checkpoint.parent.mkdir()
    shutil.copy(tiny_checkpoint, checkpoint)
    code, out, err = run_cli(evaluate_cli.main, [checkpoint, "--datasetdir",
                                                 mnist_dir])
    assert code == 0, err
    assert "digit per expert (the matching ACC scores): 0->" in out
    np.save(tmp_path / "digits.npy", sample_subset(12, offset=5)[0])
    return checkpoint, tmp_path / "digits.npy"


def digits_of(report):
    return json.loads(report.read_text())["expert_digits"]


def test_the_digit_column_maps_each_expert_by_evaluates_matching(
        tmp_path, evaluated, run_cli):
    checkpoint, digits = evaluated
    report = checkpoint.parent / "evaluation.json"
    mapping = digits_of(report)
    assert len(mapping) == EXPERTS and len(set(mapping)) == EXPERTS
    out = tmp_path / "p.csv"
    code, stdout, _ = run_cli(predict_cli.main, [checkpoint, digits, "--out",
                                                 out])
    assert code == 0
    table = pd.read_csv(out)
    assert list(table.columns[:3]) == ["image", "expert", "digit"]
    assert table["digit"].tolist() == [mapping[k] for k in table["expert"]]
    assert f"digit: each expert's digit as matched by {report}" in stdout


def test_without_a_report_for_this_checkpoint_it_says_what_expert_is(
        tmp_path, evaluated, run_cli):
    checkpoint, digits = evaluated
    report = checkpoint.parent / "evaluation.json"
    later = report.stat().st_mtime + 10  # trained on after the report
    os.utime(checkpoint, (later, later))
    for case in ("stale", "missing"):
        if case == "missing":
            report.unlink()
        out = tmp_path / f"{case}.csv"
        code, stdout, _ = run_cli(predict_cli.main, [checkpoint, digits,
                                                     "--out", out])
        assert code == 0 and "digit" not in pd.read_csv(out).columns
        assert ("no digit column: `expert` is the manager's cluster number, "
                "not a digit; `moevae evaluate") in stdout


def test_a_named_report_is_used_or_refused_in_one_line(tmp_path, evaluated,
                                                       run_cli):
    checkpoint, digits = evaluated
    named = tmp_path / "elsewhere.json"
    shutil.move(checkpoint.parent / "evaluation.json", named)
    code, _, _ = run_cli(predict_cli.main, [checkpoint, digits, "--out",
                                            tmp_path / "a.csv",
                                            "--evaluation", named])
    assert code == 0 and "digit" in pd.read_csv(tmp_path / "a.csv").columns
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"expert_digits": list(range(10)),
                                 "checkpoint": str(checkpoint)}))
    for report, message in ((wrong, "it maps 10 experts, the model has 3"),
                            (tmp_path / "none.json", "no such file")):
        code, _, err = run_cli(predict_cli.main, [
            checkpoint, digits, "--out", tmp_path / "b.csv",
            "--evaluation", report])
        assert code == 2 and message in err and "--evaluation" in err
        assert len(err.strip().splitlines()) == 1
        assert not (tmp_path / "b.csv").exists()
