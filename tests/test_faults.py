import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_switcher import NonFiniteGuard, UNetSwitcher, report, saving, training
from keras_switcher.applications import LeNet300100


def model_and_data():
    keras.utils.set_random_seed(0)
    model = LeNet300100(input_shape=(8, 8, 1), switcher=UNetSwitcher(depth=1, base_channels=2), alternate=4)
    model.compile(optimizer="sgd", switcher_optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.RandomState(0)
    return model, rng.rand(64, 8, 8, 1).astype("float32"), rng.randint(0, 10, 64)


class Poison(keras.callbacks.Callback):
    """Writes a NaN (or another value) into a variable at a given step.

    Args:
        path: Regular expression of the variable's path, such as `"fc2/kernel"`.
        epoch: Epoch of the injection.
        batch: Step within that epoch, or `None` for the epoch's start.
        value: The value written on the variable's diagonal (or first entry).
    """

    def __init__(self, path="fc2/kernel", epoch=1, batch=None, value=np.nan):
        super().__init__()
        self.path, self.epoch, self.batch, self.value = path, epoch, batch, value

    def _poison(self):
        (variable,) = [v for v in self.model.variables if re.fullmatch(self.path, v.path)]
        old = variable.numpy()
        where = np.eye(*old.shape) > 0 if old.ndim == 2 else np.arange(old.size).reshape(old.shape) == 0
        variable.assign(np.where(where, self.value, old).astype(old.dtype))

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch and self.batch is None:
            self._poison()

    def on_train_batch_begin(self, batch, logs=None):
        if self._epoch_now == self.epoch and batch == self.batch:
            self._poison()

    def on_epoch_end(self, epoch, logs=None):
        self._epoch_now = epoch + 1

    _epoch_now = 0


def test_nan_in_a_kernel_stops_training_naming_the_layer_and_keeps_the_checkpoint(tmp_path):
    model, x, y = model_and_data()
    path = tmp_path / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(path)
    with pytest.raises(FloatingPointError, match="Layer 'fc2' has 100 non-finite values in 'kernel'"):
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[Poison(), checkpoint])
    saved = saving.load_model(path)
    assert int(saved.epochs_seen.numpy()) == 1  # The last good epoch.
    assert all(np.isfinite(w).all() for w in saved.get_weights())


def test_dead_layer_is_reported_not_hidden():
    model, x, y = model_and_data()
    model.get_layer("fc2").kernel.assign(np.zeros((300, 100), "float32"))  # A flat image: no gate on.
    model.get_layer("fc2").trainable = False
    with pytest.warns(UserWarning, match="Layer 'fc2' is dead"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    row = {r["name"]: r for r in report(model)["layers"]}["fc2"]
    assert row["kept"] == 0 and row["sparsity"] == 1.0 and row["dead_outputs"] == 100


def test_truncated_keras_file_gives_a_clear_error(tmp_path):
    model, _, _ = model_and_data()
    path = tmp_path / "model.keras"
    saving.save_model(model, path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match="truncated, corrupt"):
        saving.load_model(path)


def recommended_lenet():
    keras.utils.set_random_seed(0)
    model = training.build_model("lenet300100", (8, 8, 1), epochs=4, setting="recommended", alternate=(4, 2))
    rng = np.random.RandomState(0)
    return model, rng.rand(96, 8, 8, 1).astype("float32"), rng.randint(0, 10, 96)


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("fc1/kernel", np.nan, r"Layer 'fc1' has \d+ non-finite values in 'kernel'"),
        ("fc2/bias", np.inf, "Layer 'fc2' has \\d+ non-finite values in 'bias'"),
        (
            r"predictions/u_net_switcher\w*/gate_gamma",
            np.inf,
            r"Layer 'predictions' has 1 non-finite values in 'u_net_switcher\w*/gate_gamma'.*switcher learning rate",
        ),
    ],
)
def test_mid_epoch_injection_with_the_recommended_setting_stops_at_once(tmp_path, path, value, message):
    model, x, y = recommended_lenet()
    checkpoint = tmp_path / "last.keras"
    callbacks = [NonFiniteGuard(frequency=1), Poison(path, epoch=1, batch=2, value=value), keras.callbacks.ModelCheckpoint(checkpoint)]
    with pytest.raises(FloatingPointError, match=f"step 2\\..*{message}"):
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=callbacks)
    saved = saving.load_model(checkpoint)
    assert int(saved.epochs_seen.numpy()) == 1
    assert all(np.isfinite(w).all() for w in saved.get_weights())


def test_nan_in_a_cached_gate_is_caught():
    model, x, y = recommended_lenet()
    poison = Poison("fc2/cached_gate", epoch=1, batch=1)
    with pytest.raises(FloatingPointError, match=r"step 1\..*Layer 'fc2' has \d+ non-finite values in 'cached_gate'"):
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[NonFiniteGuard(frequency=1), poison])


def test_report_refuses_to_count_non_finite_gates():
    model, _, _ = model_and_data()
    model.get_layer("fc1").kernel.assign(np.full((64, 300), np.nan, "float32"))
    with pytest.raises(ValueError, match="Layer 'fc1' has 19200 non-finite gates"):
        report(model)


@pytest.mark.skipif(os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0", reason="already the run without oneDNN")
@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="TF_ENABLE_ONEDNN_OPTS switches TensorFlow's oneDNN kernels; other backends do not read it",
)
def test_guard_holds_without_onednn_too():
    """The guard tests again in a process whose CPU kernels are not oneDNN's.

    oneDNN (on by default on x86) fuses MatMul + BiasAdd + ReLU and on some
    CPUs turns NaN into 0 there; the plain kernels propagate it. The guard
    must stop training on both paths.
    """
    environment = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k", "nan_in_a or fc1/kernel"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
