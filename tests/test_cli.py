import keras
import pytest

from keras_switcher import SwitchedModel, cli


def test_train_runs_end_to_end_on_digits(tmp_path, capsys):
    output = tmp_path / "digits.keras"
    status = cli.main(
        ["train", "--epochs", "2", "--setting", "recommended", "--target-sparsity", "0.9",
         "--verbose", "0", "--output", str(output)]
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert "Test accuracy" in printed and "fc1" in printed and "predictions" in printed
    model = keras.models.load_model(output)
    assert isinstance(model, SwitchedModel)
    assert int(model.epochs_seen.numpy()) == 2
    assert "90.00%" in printed  # The target sparsity, counted from the weights.


def test_unreadable_data_dir_exits_non_zero_with_one_line(tmp_path, capsys):
    status = cli.main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "none"), "--output", str(tmp_path / "m.keras")])
    error = capsys.readouterr().err.strip()
    assert status == 1
    assert error.startswith("keras-switcher train: error:") and "none" in error
    assert "\n" not in error
    assert not (tmp_path / "m.keras").exists()


def test_output_must_be_a_keras_file(tmp_path, capsys):
    status = cli.main(["train", "--epochs", "1", "--verbose", "0", "--output", str(tmp_path / "m.h5")])
    assert status == 1
    assert "'.keras'" in capsys.readouterr().err


def test_bad_alternate_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--alternate", "sometimes"])


def test_save_is_atomic_and_keeps_the_previous_file(tmp_path):
    from keras_switcher import saving
    from keras_switcher.applications import LeNet300100
    from keras_switcher.switchers import UNetSwitcher

    path = tmp_path / "model.keras"
    path.write_bytes(b"previous model")

    class Unsaveable(keras.layers.Layer):
        def call(self, inputs):
            return inputs

        def get_config(self):
            raise RuntimeError("cannot serialise")

    inputs = keras.Input((3,))
    broken = keras.Model(inputs, Unsaveable()(inputs))
    with pytest.raises(RuntimeError):
        saving.save_model(broken, path)
    assert path.read_bytes() == b"previous model"
    assert list(tmp_path.iterdir()) == [path]
    saving.save_model(LeNet300100(switcher=UNetSwitcher(depth=1), input_shape=(4, 4, 1)), path)
    assert isinstance(keras.models.load_model(path), SwitchedModel)
