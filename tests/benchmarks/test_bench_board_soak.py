import os
import re
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
    ratio = re.fullmatch(r"RATIOS sender time per epoch late/early "
                         r"([\d.]+)x \((\d+) / (\d+) ms\); caller time per "
                         r"epoch last/first block ([\d.]+)x", lines[-1])
    assert ratio, lines[-1]
    late_early, late_ms, early_ms, caller = map(float, ratio.groups())
    # both times measured in this run; the ratio is theirs, and a board that
    # slows down as its windows grow would show here
    if early_ms >= 1:  # the milliseconds are rounded to whole ones
        low = (late_ms - 0.5) / (early_ms + 0.5) - 0.01
        assert low <= late_early <= (late_ms + 0.5) / (early_ms - 0.5) + 0.01
    assert 0.1 < late_early < 5 and 0.1 < caller < 5
