import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "bench_epoch.py"
SPEEDS = (r"batch (\d+): pynet ([\d,]+) samples/s \| moevae ([\d,]+) "
          r"samples/s \| floor ([\d,]+) samples/s")
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
    # the baseline (pynet) and the floor are measured in this same run
    speeds = {int(batch): [float(v.replace(",", "")) for v in values]
              for batch, *values in re.findall(SPEEDS, done.stdout)}
    assert list(speeds) == [100, 200]
    assert all(value > 0 for values in speeds.values() for value in values)
    breakdown = next(line for line in lines
                     if line.startswith("step breakdown, batch 100"))
    assert re.search(r"forward\+loss [\d.]+ \(its matmuls [\d.]+\), "
                     r"backward [\d.]+ \(its matmuls [\d.]+\), Adam step "
                     r"[\d.]+; total [\d.]+$", breakdown), breakdown
    curves = next(line for line in lines if line.startswith("loss curves"))
    assert curves.endswith("OK against 3%)"), curves
    ratios = re.findall(RATIO, lines[-1])
    assert lines[-1].startswith("RATIOS ")
    assert [int(batch) for batch, _, _ in ratios] == [100, 200]
    for batch, vs_pynet, vs_floor in ratios:
        pynet, moevae, floor = speeds[int(batch)]
        # a speed-up, not a typo'd or swapped number: it agrees with the
        # speeds printed above (medians of 2 rounds: within a factor 2)
        assert 0.1 < float(vs_pynet) < 50
        assert 0.5 < float(vs_pynet) / (moevae / pynet) < 2
        # moevae cannot beat the matmuls alone by much, nor be 200x slower
        assert 0.5 < float(vs_floor) < 200
        assert 0.25 < float(vs_floor) / (floor / moevae) < 4
