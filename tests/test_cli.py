import json

import keras
import pytest

from keras_switcher import SwitchedModel, cli


def test_train_runs_end_to_end_on_digits(tmp_path, capsys):
    output = tmp_path / "digits.keras"
    status = cli.main(
        ["train", "--epochs", "4", "--setting", "recommended", "--target-sparsity", "0.9",
         "--verbose", "0", "--output", str(output)]
    )
    printed = capsys.readouterr().out
    assert status == 0
    assert "Test accuracy" in printed and "fc1" in printed and "predictions" in printed
    model = keras.models.load_model(output)
    assert isinstance(model, SwitchedModel)
    assert int(model.epochs_seen.numpy()) == 4
    assert "90.00%" in printed  # The target sparsity, counted from the weights.

    summary = json.loads((tmp_path / "digits.json").read_text())
    rows = summary["comparison"]
    assert [row["method"] for row in rows] == ["switcher (recommended)", "dense", "magnitude (class-blinded)"]
    for row in rows:  # Every figure printed is the one in the summary.
        line = next(line for line in printed.splitlines() if line.startswith(row["method"]))
        assert line.split()[-4:-1] == [f"{row['test_accuracy']:.2%}", f"{row['sparsity']:.2%}", f"{row['seconds_per_epoch']:.2f}"]
        assert row["test_correct"] == round(row["test_accuracy"] * summary["test_examples"])
        assert len(row["history"]["val_accuracy"]) == len(row["history"]["accuracy"]) == 4
    assert rows[0]["test_correct"] == summary["keras_correct"]
    assert rows[1]["sparsity"] == 0 and abs(rows[2]["sparsity"] - rows[0]["sparsity"]) < 1e-3
    assert summary["events"] == {"ramp ends": 2, "switchers freeze": 3}
    assert summary["train_split"] == "train[:90%]"
    for picture in ["curves", "model", "pixels_fc1", "mask_fc1", "mask_fc2", "mask_predictions"]:
        path = tmp_path / f"digits_{picture}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    assert not (tmp_path / "digits_pixels_fc2.png").exists()  # fc2 is not fed by the image.


def test_no_compare_and_no_validation(tmp_path, capsys):
    output = tmp_path / "m.keras"
    assert cli.main(["train", "--epochs", "1", "--no-compare", "--validation-split", "0", "--verbose", "0", "--output", str(output)]) == 0
    summary = json.loads((tmp_path / "m.json").read_text())
    assert [row["method"] for row in summary["comparison"]] == ["switcher (recommended)"]
    assert "val_accuracy" not in summary["comparison"][0]["history"]
    assert summary["train_split"] == "train"


def test_switcher_is_chosen_by_name(tmp_path, capsys):
    output = tmp_path / "m.keras"
    assert cli.main(["train", "--epochs", "1", "--no-compare", "--validation-split", "0", "--verbose", "0",
                     "--switcher", "magnitude", "--output", str(output)]) == 0
    model = keras.saving.load_model(output)
    assert {layer.switcher.__class__.__name__ for layer in model.switched_layers} == {"MagnitudeSwitcher"}


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


@pytest.mark.parametrize("command", ["train", "report", "export"])
def test_help_of_every_command_prints(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: keras-switcher " + command in capsys.readouterr().out


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


def test_export_keeps_the_converters_native_log_lines_off_the_terminal(tmp_path):
    import os
    import subprocess
    import sys

    from keras_switcher import saving
    from keras_switcher.applications import LeNet300100
    from keras_switcher.switchers import UNetSwitcher

    saving.save_model(LeNet300100(switcher=UNetSwitcher(depth=1), input_shape=(4, 4, 1)), tmp_path / "m.keras")
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "keras_switcher.cli", "export", "m.keras", "--tflite", "m.tflite"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sparsity" in result.stdout  # The export report.
    for line in ("Reading SavedModel", "flatbuffer", "XNNPACK"):
        assert line not in result.stderr, result.stderr[-2000:]
