import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "bench_cli.py"


@pytest.mark.slow  # ~20 s: 16 commands, 2 rounds each
def test_every_help_and_refusal_answers_within_a_second():
    done = subprocess.run([sys.executable, str(SCRIPT), "--rounds", "2"],
                          capture_output=True, text=True, timeout=300)
    lines = done.stdout.strip().splitlines()
    timings = [line for line in lines if line.startswith("moevae ")]
    assert len(timings) == 16, done.stdout + done.stderr[-2000:]
    for line in timings:
        assert re.search(r": [\d.]+ s, exit [02], RATIO [\d.]+x", line), line
    assert lines[-1].startswith("verdict: OK"), done.stdout
    assert done.returncode == 0
