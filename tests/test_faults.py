import keras
import numpy as np
import pytest

from keras_switcher import UNetSwitcher, report, saving
from keras_switcher.applications import LeNet300100


def model_and_data():
    keras.utils.set_random_seed(0)
    model = LeNet300100(input_shape=(8, 8, 1), switcher=UNetSwitcher(depth=1, base_channels=2), alternate=4)
    model.compile(optimizer="sgd", switcher_optimizer="sgd", loss="sparse_categorical_crossentropy")
    rng = np.random.RandomState(0)
    return model, rng.rand(64, 8, 8, 1).astype("float32"), rng.randint(0, 10, 64)


class Poison(keras.callbacks.Callback):
    """Writes a NaN into one kernel at the start of the second epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            kernel = self.model.get_layer("fc2").kernel
            kernel.assign(np.where(np.eye(*kernel.shape) > 0, np.nan, kernel.numpy()))


def test_nan_in_a_kernel_stops_training_naming_the_layer_and_keeps_the_checkpoint(tmp_path):
    model, x, y = model_and_data()
    path = tmp_path / "best.keras"
    checkpoint = keras.callbacks.ModelCheckpoint(path)
    with pytest.raises(FloatingPointError, match="Layer 'fc2' has 100 non-finite kernel values"):
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
