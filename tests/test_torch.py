"""The trainer on the PyTorch backend.

The trainer, drop-in, switcher-kind, fault and `PairedOptimizer` tests run
in one process with KERAS_BACKEND=torch (Keras picks its backend once, at
import), together with the checks below that are PyTorch's own; the
package also imports and trains with TensorFlow unimportable, as on JAX.
"""

import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

HERE = os.path.dirname(__file__)

pytest.importorskip("torch", reason="PyTorch is a test dependency: pip install -e '.[test]'")

on_torch = pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="PyTorch's own checks: test_trainer_tests_pass_on_torch runs them with KERAS_BACKEND=torch",
)
not_on_torch = pytest.mark.skipif(
    keras.backend.backend() == "torch", reason="starts the PyTorch process itself"
)

# Run with KERAS_BACKEND=torch. Of test_switcher_kinds.py: every kind trains,
# saves, reloads and strips, and the README snippet runs for the weightless
# kinds (the U-Net kinds' are the slowest, and the trainer tests train
# U-Nets); the exact top-k above 2**24 weights is left out: Keras's
# `ops.scatter`, which `sparsity.lowest` uses, loops in Python on PyTorch.
FILES = [
    "test_models.py",
    "test_drop_in.py",
    "test_dense_compat.py",
    "test_uncompiled_and_mixed_precision.py",
    "test_switcher_kinds.py",
    "test_faults.py",
    "test_optimizers.py",
    "test_torch.py",
]
SELECTION = (
    "not test_switcher_kinds or (pastes and not unet and not neuron) or movement_scores or custom"
    " or saves_reloads or weightless_kinds_need or wrong_shape or unknown_switcher"
)


def run(args, **environment):
    env = {
        **os.environ,
        "KERAS_BACKEND": "torch",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # Eager PyTorch steps are small: with a thread per core, on CPUs
        # that the other test workers share, they ran ten times slower.
        "OMP_NUM_THREADS": "1",
        **environment,
    }
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, env=env, cwd=HERE
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


@not_on_torch
def test_trainer_tests_pass_on_torch():
    """Phase isolation, schedules, warm-up, freezing, save -> load ->
    continue, the gate cache's equality with one large-batch step,
    concurrent updates, both optimisers under `mixed_float16`, every
    switcher kind and the non-finite guard, as on TensorFlow."""
    printed = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *FILES, "-k", SELECTION])
    assert not re.search(r"\d+ (failed|errors?)\b", printed), printed[-4000:]
    passed = int(re.search(r"\b(\d+) passed\b", printed).group(1))
    assert passed >= 100, printed[-4000:]
    # This file's PyTorch checks ran: only the two tests that start
    # PyTorch processes are skipped in it.
    skipped = [row for row in printed.splitlines() if row.startswith("SKIPPED") and "test_torch.py" in row]
    assert all("starts the PyTorch process itself" in row for row in skipped), printed[-4000:]


@not_on_torch
def test_imports_and_trains_with_tensorflow_unimportable(tmp_path):
    printed = run(["no_tensorflow_job.py", str(tmp_path)])
    assert "tensorflow imported: False" in printed
    assert "sparsity 0.9" in printed
    assert "magnitude pruned: 0.9\n" in printed, printed
    accuracy = float(re.search(r"accuracy (\S+)", printed).group(1))
    assert accuracy > 0.3, printed  # 10 classes: chance is 0.1.
    assert "non-finite stopped: Training stopped at step" in printed
    assert "tf.data refused: output='tf.data' builds a `tf.data` pipeline" in printed


def small_model(**kwargs):
    from keras_switcher import SwitchedDense, SwitchedModel, UNetSwitcher

    keras.utils.set_random_seed(0)
    inputs = keras.Input((12,))
    # One base channel: the U-Net's merge convolutions, like its last one,
    # go from several channels to one (see `unet._conv`).
    hidden = SwitchedDense(16, activation="relu", switcher=UNetSwitcher(depth=2, base_channels=1))(inputs)
    outputs = SwitchedDense(2, activation="softmax", switcher=UNetSwitcher(depth=1, base_channels=2))(hidden)
    return SwitchedModel(inputs, outputs, **kwargs)


def data(n=64):
    rng = np.random.RandomState(0)
    x = rng.rand(n, 12).astype("float32")
    return x, (x[:, :6].sum(axis=1) > x[:, 6:].sum(axis=1)).astype("int32")


@on_torch
@pytest.mark.parametrize("options", [{"alternate": 2}, {"alternate": 2, "gate_cache_steps": 2}])
def test_training_leaves_no_gradient_on_the_variables(options):
    """Gradients come from `torch.autograd.grad`: no `.grad` is kept for
    the next step to add to, and the cached gates, which need a gradient
    during a step, are non-trainable again after it."""
    model = small_model(**options)
    model.compile(optimizer="sgd", switcher_optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert model.switcher_optimizer.iterations.numpy() > 0
    assert all(variable.value.grad is None for variable in model.variables)
    assert all(parameter.grad is None for parameter in model.parameters())
    assert not any(variable.value.requires_grad for variable in model.non_trainable_variables)


@on_torch
def test_a_switched_layer_trains_in_a_plain_keras_model():
    """PyTorch's CPU convolution cannot take the kernel's gradient from
    several channels to one on one image ("slow_conv2d: grad_weight must be
    contiguous"): the U-Net computes those convolutions otherwise."""
    from keras_switcher import SwitchedDense, UNetSwitcher

    keras.utils.set_random_seed(0)
    inputs = keras.Input((12,))
    layer = SwitchedDense(2, switcher=UNetSwitcher(depth=2, base_channels=1))
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = [keras.ops.convert_to_numpy(v) for v in layer.switcher.trainable_variables]
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    after = [keras.ops.convert_to_numpy(v) for v in layer.switcher.trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))


@on_torch
def test_steps_per_execution_above_one_is_refused_as_keras_does():
    model = small_model()
    model.compile(
        optimizer="sgd", switcher_optimizer="adam", loss="sparse_categorical_crossentropy", steps_per_execution=2
    )
    with pytest.raises(ValueError, match="`steps_per_execution` must be 1 with the PyTorch backend"):
        model.fit(*data(), verbose=0)


@on_torch
def test_evaluate_without_compile_says_to_compile():
    # As on TensorFlow and JAX (Keras's PyTorch trainer reads the missing
    # optimiser first).
    with pytest.raises(ValueError, match="You must call `compile\\(\\)`"):
        small_model().evaluate(*data(), verbose=0)


@on_torch
def test_tflite_export_names_the_backends_that_convert(tmp_path, capsys):
    from keras_switcher import cli, export

    model = small_model()
    with pytest.raises(RuntimeError, match="KERAS_BACKEND=tensorflow keras-switcher export"):
        export.to_tflite(model, str(tmp_path / "model.tflite"))
    assert not (tmp_path / "model.tflite").exists()
    assert cli.main(["train", "--output", str(tmp_path / "model.keras")]) == 1
    assert "Run it with KERAS_BACKEND=tensorflow" in capsys.readouterr().err
    assert not (tmp_path / "model.keras").exists()
