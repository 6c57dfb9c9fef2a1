import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_switcher import (
    SwitchedDense,
    SwitchedModel,
    UNetSwitcher,
    cli,
    datasets,
    export,
    saving,
)
from keras_switcher.applications import LeNet300100

SAVED = os.path.join(os.path.dirname(__file__), "..", "saved_models", "lenet300100_mnist.keras")


def block_lenet(block_size=4, target=0.9):
    keras.utils.set_random_seed(0)
    return LeNet300100(
        input_shape=(8, 8, 1),
        switcher=UNetSwitcher(
            depth=2, base_channels=4, gate="binary", magnitude_prior=True, block_size=block_size
        ),
        target_sparsity=target,
    )


def digits(count=200):
    images, _ = next(iter(datasets.load("digits", split="test", batch_size=count)))
    return np.asarray(images)


def test_block_gates_switch_whole_blocks_along_the_input_axis():
    model = block_lenet(block_size=4)
    for layer in model.switched_layers:
        mask = np.asarray(layer.mask())
        rows = mask.shape[0] - mask.shape[0] % 4
        blocks = mask[:rows].reshape(rows // 4, 4, mask.shape[1])
        assert np.all(blocks.all(axis=1) == blocks.any(axis=1)), layer.name


def test_block_size_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="block_size=0"):
        UNetSwitcher(block_size=0)


@pytest.mark.parametrize("quantize", [None, "dynamic", "float16"])
def test_export_matches_keras_and_reports_sparsity(tmp_path, quantize):
    model = block_lenet()
    images = digits()
    path = tmp_path / "model.tflite"
    result = export.to_tflite(model, path, quantize=quantize, sample_inputs=images)
    assert path.stat().st_size == result["bytes"]
    assert result["samples"] == len(images)
    expected = model.predict(images, verbose=0)
    actual = export.run_tflite(path, images)
    assert np.max(np.abs(actual - expected)) == pytest.approx(result["max_abs_error"], abs=1e-7)
    if quantize is None:
        assert result["max_abs_error"] <= 1e-5
    else:
        assert result["argmax_agreement"] >= 0.9
    counted = [float(1 - np.asarray(layer.mask()).mean()) for layer in model.switched_layers]
    assert [row["sparsity"] for row in result["layers"]] == pytest.approx(counted)
    assert sorted(os.listdir(tmp_path)) == ["model.tflite"]


def test_sparse_float_file_is_smaller_than_the_dense_one(tmp_path):
    dense = export.to_tflite(block_lenet(target=0.0), tmp_path / "dense.tflite")
    sparse = export.to_tflite(block_lenet(target=0.9), tmp_path / "sparse.tflite")
    assert sparse["bytes"] < 0.35 * dense["bytes"]


def test_int8_needs_representative_data(tmp_path):
    with pytest.raises(ValueError, match="representative_data"):
        export.to_tflite(block_lenet(16), tmp_path / "m.tflite", quantize="int8")
    result = export.to_tflite(
        block_lenet(16), tmp_path / "m.tflite", quantize="int8", representative_data=digits()
    )
    assert result["quantize"] == "int8" and np.isfinite(result["max_abs_error"])


def test_bad_calls_raise_and_keep_the_previous_file(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"previous")
    inputs = keras.Input((4,))
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match="no `SwitchedDense`"):
        export.to_tflite(plain, path)
    with pytest.raises(ValueError, match="not built"):
        export.to_tflite(keras.Sequential([SwitchedDense(2)]), path)
    with pytest.raises(ValueError, match="quantize='int4'"):
        export.to_tflite(block_lenet(), path, quantize="int4")
    with pytest.raises(ValueError, match="'.tflite'"):
        export.to_tflite(block_lenet(), tmp_path / "model.keras")
    with pytest.raises(OSError, match="does not exist"):
        export.to_tflite(block_lenet(), tmp_path / "missing" / "model.tflite")
    assert path.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["model.tflite"]


def test_corrupt_tflite_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "model.tflite"
    export.to_tflite(block_lenet(), path)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated, corrupt"):
        export.run_tflite(path, digits(4))
    with pytest.raises(FileNotFoundError):
        export.load_interpreter(tmp_path / "none.tflite")


def embedding_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8,), dtype="int32")
    x = keras.layers.Embedding(50, 16)(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return SwitchedModel(inputs, SwitchedDense(4, switcher="magnitude")(x))


def test_models_on_token_ids_export_and_run_on_integer_inputs(tmp_path):
    model = embedding_model()
    ids = np.random.RandomState(1).randint(0, 50, (64, 8))
    path = tmp_path / "float.tflite"
    result = export.to_tflite(model, path)  # Random ids below input_dim=50.
    assert result["samples"] == 256
    assert result["max_abs_error"] <= export.litert.FLOAT_TOLERANCE
    expected = model.predict(ids, verbose=0)
    np.testing.assert_allclose(export.run_tflite(path, ids), expected, atol=1e-6)
    np.testing.assert_allclose(export.run_tflite(path, ids.astype("float32")), expected, atol=1e-6)
    assert export.load_interpreter(path).get_input_details()[0]["dtype"] == np.int32
    result = export.to_tflite(
        model, tmp_path / "dynamic.tflite", quantize="dynamic", sample_inputs=ids
    )
    assert result["max_abs_error"] <= 1e-3
    calibration = tf.data.Dataset.from_tensor_slices((ids, np.zeros(64))).batch(16)
    result = export.to_tflite(
        model, tmp_path / "int8.tflite", quantize="int8", representative_data=calibration
    )
    assert result["samples"] == 64 and result["argmax_agreement"] >= 0.9


def test_bad_token_ids_are_reported_as_such_not_as_a_corrupt_file(tmp_path):
    path = tmp_path / "model.tflite"
    export.to_tflite(embedding_model(), path)
    with pytest.raises(ValueError, match="int32 inputs.*float64.*Received: `inputs` holding 0.5"):
        export.run_tflite(path, np.full((2, 8), 0.5))
    with pytest.raises(ValueError, match="model.tflite' on the given int32 inputs.*GATHER.*ids") as info:
        export.run_tflite(path, np.full((2, 8), 50))
    assert "corrupt" not in str(info.value)
    with pytest.raises(ValueError, match="`sample_inputs` holding 0.5"):
        export.to_tflite(embedding_model(), path, sample_inputs=np.full((2, 8), 0.5))


def test_cli_export(tmp_path, capsys):
    keras_path = tmp_path / "model.keras"
    saving.save_model(block_lenet(), keras_path)
    tflite_path = tmp_path / "model.tflite"
    status = cli.main(
        ["export", str(keras_path), "--tflite", str(tflite_path), "--shrink", "--dataset", "digits"]
    )
    printed = capsys.readouterr().out
    assert status == 0 and tflite_path.exists()
    assert "fc1" in printed and "same argmax on 100.00%" in printed
    status = cli.main(["export", str(tmp_path / "none.keras"), "--tflite", str(tflite_path)])
    error = capsys.readouterr().err.strip()
    assert status == 1 and "none.keras" in error and "\n" not in error
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    status = cli.main(["export", str(tmp_path / "bad.keras"), "--tflite", str(tflite_path)])
    error = capsys.readouterr().err.strip()
    assert status == 1 and "corrupt" in error and "\n" not in error


def test_float_and_int8_exports_of_the_saved_mnist_model(tmp_path, mnist_dir):
    if not os.path.isfile(SAVED):
        pytest.skip(f"{SAVED} not found")
    model = saving.load_model(SAVED, compile=False)
    test = datasets.load("mnist", split="test[:1000]", batch_size=1000, data_dir=mnist_dir)
    calibration = datasets.load("mnist", split="train[:1000]", batch_size=1000, data_dir=mnist_dir)
    result = export.to_tflite(model, tmp_path / "float.tflite", sample_inputs=test)
    assert result["samples"] == 1000 and result["max_abs_error"] <= 1e-5
    result = export.to_tflite(
        model,
        tmp_path / "int8.tflite",
        quantize="int8",
        representative_data=calibration,
        sample_inputs=test,
    )
    assert result["argmax_agreement"] >= 0.99
