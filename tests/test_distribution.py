import os
import re
import subprocess
import sys

JOB = os.path.join(os.path.dirname(__file__), "mirrored_job.py")


def run_job(*args):
    result = subprocess.run(
        [sys.executable, JOB, *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_mirrored_training_equals_one_device_on_the_same_global_batch():
    printed = run_job()
    # Both runs alternate: task steps, then switcher steps.
    assert "switcher steps 4" in printed
    difference = float(re.search(r"largest weight difference (\S+)", printed).group(1))
    assert difference < 1e-5, printed


def test_gate_cache_under_mirrored_strategy_is_refused_clearly():
    printed = run_job("2")
    assert "refused: Cached gates (`gate_refresh_steps`, `gate_cache_steps`) do not support training on several TensorFlow replicas" in printed
