import keras
import numpy as np
import pytest

from keras_switcher import SwitchedDense, SwitchedModel, UNetSwitcher
from keras_switcher.applications import LeNet5, LeNet300100

SMALL = UNetSwitcher(depth=1, base_channels=2)


def dense_params(model):
    return sum(
        int(np.prod(w.shape))
        for layer in model.layers
        for w in layer.trainable_weights
        if not isinstance(layer, SwitchedDense) or "switcher" not in w.path
    )


def test_lenet300100_plain_has_the_reference_size():
    assert LeNet300100(switched=False).count_params() == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10


def test_lenet5_plain_has_the_caffe_size():
    model = LeNet5(switched=False)
    assert model.get_layer("fc1").kernel.shape == (800, 500)
    assert model.count_params() == 431_080


@pytest.mark.parametrize("builder", [LeNet300100, LeNet5])
def test_switched_builders_train_and_round_trip(builder, tmp_path):
    model = builder(switcher=SMALL, alternate=1)
    assert isinstance(model, SwitchedModel)
    assert {l.name for l in model.switched_layers} >= {"fc1", "predictions"}
    model.compile(optimizer="sgd", switcher_optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.random.RandomState(0).rand(8, 28, 28, 1).astype("float32")
    y = np.arange(8) % 10
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert history.history["phase"] == [1.0]  # One task step, then one switcher step.
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_weights_file_is_loaded(tmp_path):
    model = LeNet300100(switcher=SMALL, input_shape=(8, 8, 1))
    model.save_weights(tmp_path / "w.weights.h5")
    again = LeNet300100(switcher=SMALL, input_shape=(8, 8, 1), weights=str(tmp_path / "w.weights.h5"))
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_headless_lenet5_with_pooling_is_a_plain_model():
    model = LeNet5(include_top=False, pooling="avg", input_shape=(32, 32, 3))
    assert model.output_shape == (None, 50)
    assert not isinstance(model, SwitchedModel)


def test_input_tensor_is_used():
    inputs = keras.Input((8, 8, 1))
    model = LeNet300100(input_tensor=inputs, switcher=SMALL, classes=3)
    assert model.inputs[0] is inputs
    assert model.output_shape == (None, 3)


@pytest.mark.parametrize(
    "builder, kwargs, message",
    [
        (LeNet300100, {"weights": "imagenet"}, "weights='imagenet'"),
        (LeNet300100, {"classes": 0}, "classes=0"),
        (LeNet5, {"input_shape": (8, 8, 1)}, r"input_shape=\(8, 8, 1\)"),
        (LeNet5, {"include_top": False, "pooling": "mean"}, "pooling='mean'"),
    ],
)
def test_bad_arguments_are_named(builder, kwargs, message):
    with pytest.raises(ValueError, match=message):
        builder(**kwargs)
