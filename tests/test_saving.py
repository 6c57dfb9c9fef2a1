"""Every save path of a `SwitchedModel` is atomic: a failed save loses nothing."""

import keras
import numpy as np
import pytest

from keras_switcher import SwitchedModel, UNetSwitcher, saving
from keras_switcher.applications import LeNet300100


def small_model():
    keras.utils.set_random_seed(0)
    model = LeNet300100(input_shape=(4, 4, 1), switcher=UNetSwitcher(depth=1, base_channels=2), alternate=2)
    model.compile(optimizer="sgd", switcher_optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def half_written_then_failing(self, filepath, *args, **kwargs):
    """Stands in for a save that dies midway: writes part of a file, then fails."""
    with open(filepath, "wb") as file:
        file.write(b"half a zip archive")
    raise OSError("No space left on device")


@pytest.mark.parametrize("method, name", [("save", "model.keras"), ("save_weights", "model.weights.h5")])
def test_a_failed_save_keeps_the_previous_file_and_leaves_nothing_else(tmp_path, monkeypatch, method, name):
    path = tmp_path / name
    path.write_bytes(b"previous good file")
    monkeypatch.setattr(keras.Model, method, half_written_then_failing)
    with pytest.raises(OSError, match="No space left"):
        getattr(small_model(), method)(path)
    assert path.read_bytes() == b"previous good file"
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("method, name", [("save", "model.keras"), ("save_weights", "model.weights.h5")])
def test_a_successful_save_replaces_the_file_whole(tmp_path, method, name):
    path = tmp_path / name
    path.write_bytes(b"previous good file")
    model = small_model()
    getattr(model, method)(path)
    assert list(tmp_path.iterdir()) == [path]
    if method == "save":
        assert isinstance(saving.load_model(path), SwitchedModel)
    else:
        copy = small_model()
        copy.load_weights(path)


def test_model_checkpoint_keeps_the_last_good_file_when_a_save_fails(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.keras"
    model = small_model()
    x, y = np.random.RandomState(0).rand(16, 4, 4, 1).astype("float32"), np.arange(16) % 10
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(path)])
    good = path.read_bytes()
    monkeypatch.setattr(keras.Model, "save", half_written_then_failing)
    with pytest.raises(OSError):
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(path)])
    assert path.read_bytes() == good
    assert list(tmp_path.iterdir()) == [path]


def test_save_model_leaves_a_users_own_partial_file_alone(tmp_path):
    mine = tmp_path / "model.partial.keras"
    mine.write_bytes(b"the user's file")
    saving.save_model(small_model(), tmp_path / "model.keras")
    assert mine.read_bytes() == b"the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "model.partial.keras"]


def test_saved_files_are_readable_by_others(tmp_path):
    path = tmp_path / "model.keras"
    saving.save_model(small_model(), path)
    assert path.stat().st_mode & 0o044 == 0o044
