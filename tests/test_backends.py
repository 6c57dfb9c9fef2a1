"""The trainer on the JAX backend, each check in a process of its own
(Keras picks its backend once, at import)."""

import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)

pytest.importorskip("jax", reason="JAX is a test dependency: pip install -e '.[test]'")


def run(args, **environment):
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", **environment}
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, env=env, cwd=HERE
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def test_trainer_tests_pass_on_jax():
    """Phase isolation, schedules, warm-up, save -> load -> continue, the
    gate cache's equality with one large-batch step and concurrent updates'
    equality with a switcher phase, as on TensorFlow."""
    # Those that check Keras's own behaviour or argument checks are left
    # out, and some of the slower ones whose code the others already run on
    # JAX (the suite's time budget): the loss falling in both phases (the
    # phase-isolation tests check each phase's updates), and a cached model
    # resumed from a file (test_cross_backend_files.py resumes one on JAX).
    printed = run([
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_models.py",
        "-k", "not evaluate_and_predict and not logs_show and not error and not reads_the_running"
        " and not frozen_switchers and not resumes_concurrent and not save_load_predict"
        " and not both_phases_minimise and not cached_model_saves_and_resumes",
    ])
    assert re.search(r"\b10 passed\b", printed), printed[-2000:]


def test_switcher_kinds_train_save_and_strip_on_jax():
    """The weightless kinds (the U-Net ones run in the trainer tests above):
    the README snippet, movement's scores, a custom rule, save and strip."""
    printed = run([
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_switcher_kinds.py",
        "-k", "(pastes and magnitude and not movement) or (pastes and movement and not magnitude)"
        " or movement_scores or custom or (saves_reloads and movement and not magnitude)",
    ])
    assert re.search(r"\b5 passed\b", printed), printed[-2000:]


def test_drop_in_tests_pass_on_jax():
    """A switched layer in a user's model (`test_drop_in.py`), inference
    without `compile`, `mixed_float16` training and `PairedOptimizer`, as on
    TensorFlow. (Keras's own Dense tests, adapted in `test_dense_compat.py`,
    check the layer's API, which is the same on every backend: they run on
    TensorFlow only, for the suite's time budget.)"""
    files = [
        "test_drop_in.py",
        "test_uncompiled_and_mixed_precision.py",
        "test_optimizers.py",
    ]
    printed = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", *files])
    assert re.search(r"\b\d+ passed\b", printed), printed[-2000:]
    assert not re.search(r"\d+ (failed|errors?)\b", printed), printed[-2000:]


def test_imports_and_trains_with_tensorflow_unimportable(tmp_path):
    printed = run(["no_tensorflow_job.py", str(tmp_path)])
    assert "tensorflow imported: False" in printed
    assert "sparsity 0.9" in printed
    assert "magnitude pruned: 0.9\n" in printed, printed  # Masks held on JAX.
    accuracy = float(re.search(r"accuracy (\S+)", printed).group(1))
    assert accuracy > 0.3, printed  # 10 classes: chance is 0.1.
    assert "non-finite stopped: Training stopped at step" in printed
    assert "tf.data refused: output='tf.data' builds a `tf.data` pipeline" in printed


def test_data_parallel_on_two_devices_equals_one_device():
    """With and without cached gates, both phases included."""
    printed = run(
        ["data_parallel_job.py"], XLA_FLAGS="--xla_force_host_platform_device_count=2"
    )
    runs = re.findall(
        r"cache (\S+): devices (\d+), switcher steps (\d+), largest weight difference (\S+)",
        printed,
    )
    assert [run[:3] for run in runs] == [("None", "2", "4"), ("2", "2", "2")], printed
    assert all(float(run[3]) < 1e-5 for run in runs), printed


def test_backend_without_a_trainer_is_refused_at_compile():
    printed = run(
        ["-c", (
            "import keras, keras_switcher as ks\n"
            "model = ks.applications.LeNet300100(input_shape=(8, 8, 1))\n"
            "try:\n"
            "    model.compile(optimizer='sgd', switcher_optimizer='sgd', loss='mse')\n"
            "except ValueError as error:\n"
            "    print('refused:', error)\n"
            "print('predicts', model.predict(keras.ops.zeros((2, 8, 8, 1)), verbose=0).shape)\n"
        )],
        KERAS_BACKEND="numpy",
    )
    assert "refused: `SwitchedModel` trains on the tensorflow, jax and torch backends; the Keras backend in use is 'numpy'" in printed
    assert "predicts (2, 10)" in printed
