import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_board_soak.py"


@pytest.mark.slow
@pytest.mark.integration
def test_soak_benchmark_reports_and_checks_every_loss_point():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--epochs", "40", "--batches", "20",
         "--block", "10"], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert sum(line.startswith("epoch ") and "backlog" in line
               for line in lines) == 2
    assert "{'train': 40, 'validation': 40} (every one)" in done.stdout
    assert lines[-1].startswith("RATIOS sender time per epoch late/early")
