"""Wrong calls across the public API: each raises a clear error naming the argument."""

import keras
import numpy as np
import pytest

from keras_switcher import (
    MultiStepDecay,
    SparsityRamp,
    SwitchedDense,
    SwitchedModel,
    UNetSwitcher,
    applications,
    cli,
    datasets,
    export,
    switch,
)


def small_model():
    keras.utils.set_random_seed(0)
    return applications.LeNet300100(input_shape=(4, 4, 1), switcher=UNetSwitcher(depth=1))


def plain_model():
    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))


CASES = [
    (lambda: SwitchedDense(0), ValueError, "units=0"),
    (lambda: SwitchedDense(2.5), ValueError, "units=2.5"),
    (lambda: SwitchedDense(2, switcher="mlp"), ValueError, "switcher='mlp'"),
    (lambda: UNetSwitcher(depth=-1), ValueError, "depth=-1"),
    (lambda: UNetSwitcher(base_channels=0), ValueError, "base_channels=0"),
    (lambda: UNetSwitcher(gate="sigmoid"), ValueError, "gate='sigmoid'"),
    (lambda: UNetSwitcher(target_sparsity=1.0), ValueError, "target_sparsity=1.0"),
    (lambda: UNetSwitcher(block_size=3.0), ValueError, "block_size=3.0"),
    (lambda: UNetSwitcher(epsilon=0), ValueError, "epsilon=0"),
    (lambda: SwitchedModel(*_io(), alternate="often"), ValueError, "alternate"),
    (lambda: SwitchedModel(*_io(), gate_cache_steps=0), ValueError, "gate_cache_steps=0"),
    (lambda: small_model().compile(optimizer="sgd", loss="mse"), ValueError, "switcher_optimizer"),
    (lambda: applications.LeNet300100(classes=0), ValueError, "classes=0"),
    (lambda: applications.LeNet5(input_shape=(8, 8, 1)), ValueError, "input_shape"),
    (lambda: applications.ResNet18(weights="imagenet"), ValueError, "weights='imagenet'"),
    (lambda: applications.VGG16(pooling="sum", include_top=False), ValueError, "pooling='sum'"),
    (lambda: applications.MobileNet(alpha=-1), ValueError, "alpha=-1"),
    (lambda: applications.VGG16(weights="missing.weights.h5"), ValueError, "missing.weights.h5"),
    (lambda: switch(plain_model(), layer_names=["fc9"]), ValueError, "fc9"),
    (lambda: switch("model"), ValueError, "model='model'"),
    (lambda: datasets.load("imagenet"), ValueError, "name='imagenet'"),
    (lambda: datasets.load("digits", batch_size=0), ValueError, "batch_size=0"),
    (lambda: datasets.load("digits", split="valid"), ValueError, "split='valid'"),
    (lambda: datasets.load("mnist", data_dir="/no/such/folder"), FileNotFoundError, "/no/such/folder"),
    (lambda: datasets.load("cifar10", augment=True, data_dir="/no/such"), FileNotFoundError, "/no/such"),
    (lambda: datasets.load("digits", data_dir="/tmp"), ValueError, "data_dir='/tmp'"),
    (lambda: export.strip(plain_model()), ValueError, "no `SwitchedDense`"),
    (lambda: export.strip(small_model(), unit_multiple=-4), ValueError, "unit_multiple=-4"),
    (lambda: export.strip(keras.Sequential([SwitchedDense(2)])), ValueError, "not built"),
    (lambda: export.to_tflite(small_model(), "model.tfl"), ValueError, "'.tflite'"),
    (lambda: export.to_tflite(small_model(), "/no/such/m.tflite"), OSError, "/no/such"),
    (lambda: export.to_tflite(small_model(), "m.tflite", quantize="int4"), ValueError, "quantize='int4'"),
    (lambda: export.to_tflite(small_model(), "m.tflite", quantize="int8"), ValueError, "representative_data"),
    (lambda: export.run_tflite(b"not a model", np.zeros((1, 4))), ValueError, "corrupt"),
    (lambda: MultiStepDecay((10, 5)), ValueError, "milestones"),
    (lambda: SparsityRamp(end_epoch=0), ValueError, "end_epoch=0"),
    (lambda: SparsityRamp(end_epoch=5, allocation="random"), ValueError, "allocation='random'"),
]


def _io():
    inputs = keras.Input((4,))
    return inputs, SwitchedDense(2, switcher=UNetSwitcher(depth=1))(inputs)


@pytest.mark.parametrize("call, error, words", CASES, ids=[c[2] for c in CASES])
def test_wrong_call_names_the_argument(call, error, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error) as raised:
        call()
    assert words in str(raised.value)
    assert not list(tmp_path.iterdir())  # Nothing half-written.


@pytest.mark.parametrize(
    "argv, words",
    [
        (["train", "--dataset", "mnist", "--data-dir", "/no/such", "--output", "m.keras"], "/no/such"),
        (["train", "--output", "model.h5"], "'.keras'"),
        (["export", "missing.keras", "--tflite", "m.tflite"], "missing.keras"),
        (["export", "m.keras", "--tflite", "m.onnx"], "'.tflite'"),
        (["report", "missing.keras"], "missing.keras"),
    ],
)
def test_cli_exits_non_zero_with_one_line(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 1
    error = capsys.readouterr().err.strip()
    assert words in error and "\n" not in error and "Traceback" not in error
