import os
import signal
import subprocess
import sys
import time

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


def _kill_train(output, when, delay):
    """Runs `keras-switcher train` and SIGKILLs it at a moment of its run.

    `when` is "after" a delay in seconds, "saving" as soon as the temporary
    file of the model's save appears, or "saved" as soon as the new model is
    in place (while the TFLite export runs).
    """
    before = os.stat(output).st_mtime_ns
    leftovers = set(os.listdir(output.parent))
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_switcher.cli", "train", "--epochs", "1", "--verbose", "0", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    folder, deadline = output.parent, time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        if when == "after" and time.monotonic() > deadline - 240 + delay:
            break
        if when == "saving" and any(
            name.startswith(f".{output.name}.") for name in set(os.listdir(folder)) - leftovers
        ):
            break
        if when == "saved" and os.stat(output).st_mtime_ns != before:
            break
        time.sleep(0.002)
    process.kill()
    process.wait()


def test_killing_train_at_any_moment_leaves_the_old_file_or_a_complete_new_one(tmp_path):
    from keras_switcher import SwitchedModel, saving
    from keras_switcher.applications import LeNet300100
    from keras_switcher.switchers import UNetSwitcher

    output = tmp_path / "model.keras"
    saving.save_model(LeNet300100(input_shape=(8, 8, 1), switcher=UNetSwitcher(depth=1)), output)
    rng = np.random.RandomState(0)
    moments = [("after", rng.uniform(0.5, 8.0)), ("saving", 0), ("saved", 0)]
    for when, delay in moments:
        old = output.read_bytes()
        _kill_train(output, when, delay)
        new = output.read_bytes()
        if new != old:
            model = saving.load_model(output)  # Complete: it loads.
            assert isinstance(model, SwitchedModel) and int(model.epochs_seen.numpy()) == 1, when
