import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "bench_epoch.py"
RATIO = r"batch (\d+): moevae/pynet ([\d.]+)x, moevae time/floor time ([\d.]+)"


@pytest.mark.slow  # ~110 s on 2 cores
def test_benchmark_times_three_paths_and_ends_with_ratios(mnist_dir):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--datasetdir", str(mnist_dir),
         "--device", "cpu", "--rounds", "2", "--batch-sizes", "100", "200",
         "--no-bf16"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert "2 rounds" in lines[0]
    speeds = [line for line in lines if line.startswith("batch ")]
    assert [line.split(":")[0] for line in speeds] == ["batch 100",
                                                      "batch 200"]
    breakdown = next(line for line in lines
                     if line.startswith("step breakdown, batch 100"))
    assert re.search(r"forward\+loss [\d.]+ \(its matmuls [\d.]+\), "
                     r"backward [\d.]+ \(its matmuls [\d.]+\), Adam step "
                     r"[\d.]+; total [\d.]+$", breakdown), breakdown
    curves = next(line for line in lines if line.startswith("loss curves"))
    assert curves.endswith("OK against 3%)"), curves
    ratios = re.findall(RATIO, lines[-1])
    assert lines[-1].startswith("RATIOS ")
    assert [batch for batch, _, _ in ratios] == ["100", "200"]
    assert all(float(a) > 0 and float(b) > 0 for _, a, b in ratios)
