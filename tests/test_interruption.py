import os
import signal
import subprocess
import sys

import numpy as np

JOB = os.path.join(os.path.dirname(__file__), "interrupted_job.py")


def run_job(*args):
    return subprocess.run([sys.executable, JOB, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    killed = run_job(tmp_path / "backup", tmp_path / "never.npz", 10)  # Mid third epoch.
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert os.listdir(tmp_path / "backup")  # The backup of the second epoch.
    resumed = run_job(tmp_path / "backup", tmp_path / "resumed.npz")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    straight = run_job(tmp_path / "fresh", tmp_path / "straight.npz")
    assert straight.returncode == 0, straight.stderr[-2000:]
    a, b = np.load(tmp_path / "resumed.npz"), np.load(tmp_path / "straight.npz")
    assert sorted(a.files) == sorted(b.files)
    assert any(name.startswith("switcher/") for name in a.files)
    assert str(a["phase"]) == str(b["phase"])
    for name in a.files:
        if name != "phase":
            np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=1e-7, err_msg=name)
