"""Wrong calls across the public API: each raises a clear error naming the argument."""

import keras
import numpy as np
import pytest

from keras_switcher import (
    MultiStepDecay,
    NonFiniteGuard,
    SparsityPlan,
    SparsityRamp,
    SwitchedDense,
    SwitchedModel,
    Switcher,
    UNetSwitcher,
    applications,
    cli,
    datasets,
    export,
    switch,
    training,
    tuner,
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
    (lambda: SparsityPlan(0.9, allocation="random"), ValueError, "allocation='random'"),
    (lambda: SparsityPlan(1.0), ValueError, "target_sparsity=1.0"),
    (lambda: applications.VGG16(include_top=False, target_sparsity=0.9), ValueError, "include_top=False"),
    (lambda: training.build_model("lenet300100", (8, 8, 1), 2, setting="paper", allocation="uniform"), ValueError, "without a target"),
    (lambda: training.build_model("lenet300100", (8, 8, 1), 2, target_sparsity=SparsityPlan(0.5), allocation="erk"), ValueError, "has its own"),
    (lambda: SwitchedModel(*_layers_with_target(0.5), sparsity_plan=0.9), ValueError, "gives it 0.9"),
    (lambda: SwitchedModel(*_layers_with_target(0.5), alternate=(5, 0), gate_cache_steps=2), ValueError, "alternate=(5, 0)"),
    (lambda: SwitchedModel(*_layers_with_target(0.5), concurrent_switcher_updates=2), ValueError, "concurrent_switcher_updates=2, gate_refresh_steps=None"),
    (lambda: SwitchedModel(*_layers_with_target(0.5, gradient_input=True)), ValueError, "gradient_input=True"),
    (lambda: SwitchedModel(*_layers_with_target(0.5), sparsity_plan=SparsityPlan(0.5, "learned")), ValueError, "gate_refresh_steps=None"),
    (lambda: SwitchedModel(*_layers_with_target(0.5, switcher=_QuantileSwitcher), gate_cache_steps=2,
                           sparsity_plan=SparsityPlan(0.5, "learned")), ValueError, "_QuantileSwitcher, which has no `shared_scores`"),
    (lambda: UNetSwitcher(gradient_input="yes"), ValueError, "gradient_input='yes'"),
    (lambda: tuner.SwitchedHyperModel("lenet300100", (8, 8, 1), search_space={"sparsity_allocation": "even"}), ValueError, "sparsity_allocation"),
    (lambda: SparsityRamp(end_epoch=5, frequency=0), ValueError, "frequency=0"),
    (lambda: NonFiniteGuard(frequency=0), ValueError, "frequency=0"),
    (lambda: SwitchedDense(2, use_bias="no"), ValueError, "use_bias='no'"),
    (lambda: UNetSwitcher(magnitude_prior="no"), ValueError, "magnitude_prior='no'"),
    (lambda: UNetSwitcher(target_sparsity="0.9"), ValueError, "target_sparsity='0.9'"),
    (lambda: applications.LeNet300100(target_sparsity="0.9"), ValueError, "target_sparsity='0.9'"),
    (lambda: applications.LeNet300100(frobnicate=3), TypeError, "frobnicate"),
    (lambda: applications.LeNet300100(switched=False, target_sparsity=0.9), ValueError, "switched=False"),
    (lambda: applications.LeNet300100(switched=False, alternate=2), ValueError, "switched=False"),
    (lambda: _two_layers_one_switcher(), ValueError, "already belongs to layer"),
    (lambda: switch(plain_model(), layer_names=[]), ValueError, "layer_names=[]"),
    (lambda: small_model().compile(optimizer="sgd", switcher_optimizer="adamx", loss="mse"), ValueError, "switcher_optimizer='adamx'"),
    (lambda: _fit(_unswitched_model()), ValueError, "no `SwitchedDense` layer"),
    (lambda: datasets.load("digits", split="train[500:100]"), ValueError, "split='train[500:100]', which selects no examples"),
    (lambda: datasets.load("digits", split="train[:0]"), ValueError, "selects no examples"),
    (lambda: training.build_model("lenet300100", (8, 8, 1), 2, learning_rate=-0.1), ValueError, "learning_rate=-0.1"),
    (lambda: training.build_model("lenet300100", (8, 8, 1), 2, switcher_learning_rate=0), ValueError, "switcher_learning_rate=0"),
    (lambda: tuner.SwitchedHyperModel("lenet300100", (8, 8, 1), search_space={"target_sparsity": [1.5]}), ValueError, "target_sparsity"),
    (lambda: tuner.SwitchedHyperModel("lenet300100", (8, 8, 1), search_space={"optimizer": "rmsprop"}), ValueError, "optimizer='rmsprop'"),
    (lambda: tuner.SwitchedHyperModel("lenet300100", (8, 8, 1), search_space={"learning_rate": (1e-2, 1e-4)}), ValueError, "min < max"),
]


class _QuantileSwitcher(Switcher):
    """Follows a sparsity target by magnitude, with no scores to share."""

    def scores(self, kernel):
        return keras.ops.abs(kernel)


def _layers_with_target(target, switcher=UNetSwitcher, **switcher_kwargs):
    inputs = keras.Input((4,))
    if switcher is UNetSwitcher:
        switcher_kwargs.setdefault("depth", 1)
    switcher = switcher(target_sparsity=target, **switcher_kwargs)
    return inputs, SwitchedDense(2, switcher=switcher)(inputs)


def _two_layers_one_switcher():
    shared = UNetSwitcher(depth=1)
    SwitchedDense(2, switcher=shared)
    SwitchedDense(2, switcher=shared)


def _unswitched_model():
    inputs = keras.Input((4,))
    model = SwitchedModel(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", switcher_optimizer="sgd", loss="mse")
    return model


def _fit(model):
    model.fit(np.zeros((4, 4)), np.zeros((4, 2)), epochs=1, verbose=0)


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


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--epochs", "0", "expected a positive integer, received '0'"),
        ("--epochs", "-1", "expected a positive integer, received '-1'"),
        ("--batch-size", "0", "expected a positive integer"),
        ("--alternate", "0", "expected 'epoch' or a positive number of steps"),
        ("--lr", "0", "expected a positive number, received '0'"),
        ("--lr", "-0.1", "expected a positive number, received '-0.1'"),
        ("--switcher-lr", "0", "expected a positive number"),
        ("--block-size", "0", "expected a positive integer"),
        ("--target-sparsity", "2", "expected a fraction in [0, 1), received '2'"),
        ("--decay-at", "1.5", "expected a fraction of the epochs in (0, 1]"),
        ("--warmup-epochs", "-1", "expected a non-negative integer"),
    ],
)
def test_cli_refuses_bad_numbers_before_touching_the_output(option, value, words, tmp_path, capsys):
    output = tmp_path / "model.keras"
    output.write_bytes(b"a model trained yesterday")
    with pytest.raises(SystemExit) as raised:
        cli.main(["train", option, value, "--output", str(output)])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}" in error and words in error
    assert output.read_bytes() == b"a model trained yesterday"


@pytest.mark.parametrize("validation", ["0.1", "0"])
def test_cli_refuses_an_empty_training_split(tmp_path, capsys, validation):
    output = tmp_path / "model.keras"
    output.write_bytes(b"a model trained yesterday")
    argv = ["train", "--train-split", "train[:0]", "--validation-split", validation, "--output", str(output)]
    assert cli.main(argv) == 1
    assert "split='train[:0]', which selects no examples" in capsys.readouterr().err
    assert output.read_bytes() == b"a model trained yesterday"


def test_export_to_a_folder_is_refused_before_converting(tmp_path):
    folder = tmp_path / "model.tflite"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        export.to_tflite(small_model(), folder)
    assert list(folder.iterdir()) == []


def test_litert_runtime_errors_become_a_clear_error(tmp_path, monkeypatch):
    """LiteRT raises bare RuntimeErrors on tensors it cannot run; the user
    gets the same clear error as for a truncated file. (Random corruption is
    not tested: LiteRT can crash the process on some, which no Python code
    can catch.)"""
    from ai_edge_litert.interpreter import Interpreter

    path = tmp_path / "model.tflite"
    export.to_tflite(small_model(), path)

    def fails(self):
        raise RuntimeError("tensorflow/lite/kernels/fully_connected.cc Node number 2 (FULLY_CONNECTED) failed to invoke.")

    monkeypatch.setattr(Interpreter, "invoke", fails)
    with pytest.raises(ValueError, match="model.tflite.*could not run it on zero inputs.*FULLY_CONNECTED"):
        export.run_tflite(path, np.zeros((1, 4, 4, 1), "float32"))


def test_layer_names_may_be_one_string():
    model = switch(plain_model(), layer_names="dense", switcher=UNetSwitcher(depth=1))
    assert [layer.name for layer in model.switched_layers] == ["dense"]


def test_the_hypermodel_takes_the_builders_own_name():
    assert tuner.SwitchedHyperModel("LeNet300100", (8, 8, 1)).backbone == "lenet300100"


def test_package_submodules_are_reachable_as_attributes():
    import keras_switcher as ks

    assert callable(ks.export.to_tflite) and callable(ks.saving.save_model)
    assert "recommended" in ks.training.SETTINGS and ks.tuner.SwitchedHyperModel
    with pytest.raises(AttributeError, match="no attribute 'exports'"):
        ks.exports
