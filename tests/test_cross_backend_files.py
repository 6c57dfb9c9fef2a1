"""A `.keras` file saved (compiled) on one backend loads, predicts the same
and trains on on each other: TensorFlow -> JAX -> torch -> TensorFlow. Each
leg also loads shipped models of `saved_models/` and checks their cards:
all three on JAX and torch; on TensorFlow the one test_saved_models.py
leaves out."""

import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)

pytest.importorskip("jax", reason="JAX is a test dependency: pip install -e '.[test]'")
pytest.importorskip("torch", reason="torch is a test dependency: pip install -e '.[test]'")


def leg(backend, folder, previous=None):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, "cross_backend_job.py", str(folder)] + ([previous] if previous else [])
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, env=env, cwd=HERE)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def test_a_file_crosses_every_backend_and_trains_on(tmp_path):
    printed = leg("tensorflow", tmp_path)
    for previous, backend in (("tensorflow", "jax"), ("jax", "torch"), ("torch", "tensorflow")):
        printed += leg(backend, tmp_path, previous)
    assert len(re.findall(r"largest difference", printed)) == 3, printed
    steps = [int(n) for n in re.findall(r"steps_seen (\d+)", printed)]
    assert steps == [4, 8, 12, 16], printed  # Each leg resumes the schedule.
    assert len(re.findall(r"kept \d+ as its card", printed)) == 8, printed
