import keras
import numpy as np
import pytest

from keras_switcher import SwitchedDense, SwitchedModel, UNetSwitcher, switch


def dense_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((10,))
    x = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    x = keras.layers.BatchNormalization(name="norm")(x)
    outputs = keras.layers.Dense(3, name="out")(x)
    return keras.Model(inputs, outputs)


def test_switch_keeps_trained_weights_and_leaves_the_original_alone():
    model = dense_model()
    x = np.random.RandomState(1).rand(32, 10).astype("float32")
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((32, 3)), verbose=0, epochs=1)
    before = [w.numpy().copy() for w in model.weights]
    switched = switch(model, switcher=UNetSwitcher(depth=1))
    assert isinstance(switched, SwitchedModel)
    assert [type(l).__name__ for l in switched.layers[1:]] == ["SwitchedDense", "BatchNormalization", "SwitchedDense"]
    np.testing.assert_array_equal(switched.get_layer("hidden").kernel.numpy(), model.get_layer("hidden").kernel.numpy())
    np.testing.assert_array_equal(switched.get_layer("norm").moving_mean.numpy(), model.get_layer("norm").moving_mean.numpy())
    # The gate is applied: outputs equal x @ (kernel * gate) for the first layer.
    layer = switched.get_layer("hidden")
    expected = np.maximum(x @ (layer.kernel.numpy() * layer.gate().numpy()) + layer.bias.numpy(), 0)
    probe = keras.Model(switched.inputs, layer.output)
    np.testing.assert_allclose(probe.predict(x, verbose=0), expected, atol=1e-5)
    # Training the switched copy leaves the original untouched.
    switched.compile(optimizer="sgd", switcher_optimizer="sgd", loss="mse")
    switched.fit(x, np.ones((32, 3)), verbose=0, epochs=2)
    for a, b in zip(before, model.weights):
        np.testing.assert_array_equal(a, b.numpy())


def test_switch_named_layers_of_a_sequential_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, name="a"), keras.layers.Dense(2, name="b")])
    switched = switch(model, layer_names=["b"], alternate=5)
    assert type(switched.get_layer("a")) is keras.layers.Dense
    assert isinstance(switched.get_layer("b"), SwitchedDense)
    assert switched.schedule.alternate == 5


def test_each_switched_layer_gets_its_own_switcher():
    switched = switch(dense_model(), switcher=UNetSwitcher(depth=1))
    first, second = switched.switched_layers
    assert first.switcher is not second.switcher


def test_unknown_layer_names_are_an_error():
    with pytest.raises(ValueError, match=r"\['nope'\] are not `Dense` or `EinsumDense` layers"):
        switch(dense_model(), layer_names=["nope"])


def test_unbuilt_model_is_an_error():
    with pytest.raises(ValueError, match="not built"):
        switch(keras.Sequential([keras.layers.Dense(3)]))


def test_model_without_dense_layers_is_an_error():
    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="no `Dense` or `EinsumDense` layer"):
        switch(keras.Model(inputs, keras.layers.ReLU()(inputs)))
