"""The install: a core of Keras and NumPy, extras for the rest, and the core
working without them (`.ci/run` installs `.[jax]` into a fresh virtual
environment and checks that it brings no TensorFlow)."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(__file__)


def _load_extras():
    """`keras_switcher._extras` by itself: importing the package would
    import Keras, and its backend, in this process (seconds)."""
    path = os.path.join(HERE, "..", "keras_switcher", "_extras.py")
    spec = importlib.util.spec_from_file_location("_keras_switcher_extras", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_extras = _load_extras()
PYPROJECT = os.path.join(HERE, "..", "pyproject.toml")
# Module of `_extras.EXTRAS`: the distribution that installs it.
DISTRIBUTIONS = {
    "tensorflow": "tensorflow",
    "tensorflow_datasets": "tensorflow-datasets",
    "ai_edge_litert": "ai-edge-litert",
    "tensorboard": "tensorboard",
    "keras_tuner": "keras-tuner",
    "matplotlib": "matplotlib",
    "sklearn": "scikit-learn",
    "jax": "jax",
    "torch": "torch",
}


def _project():
    tomllib = pytest.importorskip("tomllib")
    with open(PYPROJECT, "rb") as file:
        return tomllib.load(file)["project"]


def _name(requirement):
    return re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower().replace("_", "-")


def test_the_core_is_keras_and_numpy_and_each_extra_installs_its_modules():
    project = _project()
    extras = project["optional-dependencies"]
    assert sorted(_name(r) for r in project["dependencies"]) == ["keras", "numpy"]
    assert extras["torch"] == ["torch==2.13.0"]  # A looser pin: a CUDA build.
    for extra in ("jax", "torch"):
        assert not any(_name(r).startswith("tensorflow") for r in extras[extra]), extra
    for module, (_, extra) in _extras.EXTRAS.items():
        assert DISTRIBUTIONS[module] in [_name(r) for r in extras[extra]], (module, extra)
    (everything,) = extras["all"]
    assert everything.startswith("keras-switcher[")
    assert set(everything[len("keras-switcher["):-1].split(",")) == {e for _, e in _extras.EXTRAS.values()}
    assert "keras-switcher[all]" in extras["test"]


def test_the_core_works_without_the_extras(tmp_path):
    """With TensorFlow, tensorflow-datasets, LiteRT, TensorBoard, Keras
    Tuner, Matplotlib, scikit-learn and PyTorch unimportable and no
    KERAS_BACKEND, the command line picks JAX; a switched model builds,
    predicts, saves and is reported; what needs an extra names it."""
    pytest.importorskip("jax", reason="JAX is a test dependency: pip install -e '.[test]'")
    (tmp_path / "keras_home").mkdir()  # No keras.json: Keras would pick TensorFlow.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_HOME": str(tmp_path / "keras_home")}
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(
        [sys.executable, "no_extras_job.py", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env, cwd=HERE,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed[-4000:]
    assert "backend: jax" in printed
    assert "predicts: (2, 4)" in printed
    assert re.search(r"^total +192 +192 ", printed, re.M), printed  # The report's table.
    assert "report status: 0" in printed
    assert "keras-switcher export: error: keras-switcher export (the TFLite converter) needs TensorFlow" in printed
    assert "export status: 1" in printed
    assert "strip: Functional" in printed
    hint = {"tensorflow": "'keras-switcher[tensorflow]'", "sklearn": "'keras-switcher[sklearn]'",
            "plot": "'keras-switcher[plot]'", "tuner": "'keras-switcher[tuner]'"}
    for line, extra in [
        ("to_tflite refused: keras_switcher.export.to_tflite", "tensorflow"),
        ("digits refused: The 'digits' dataset needs scikit-learn", "sklearn"),
        ("mnist refused: Loading 'mnist' without data_dir", "tensorflow"),
        ("plot refused: keras_switcher.plot needs Matplotlib", "plot"),
        ("logger refused: SparsityLogger(log_dir=...)", "tensorflow"),
        ("tuner refused: keras_switcher.tuner needs Keras Tuner", "tuner"),
    ]:
        found = [row for row in printed.splitlines() if row.startswith(line)]
        assert found and f"pip install {hint[extra]}" in found[0], (line, printed[-4000:])
    assert "imported: []" in printed
