import keras
import numpy as np
import pytest

from keras_switcher import UNetSwitcher
from keras_switcher.applications import LeNet300100
from keras_switcher.export import strip
from keras_switcher.layers import SwitchedDense


def sparse_lenet(target=0.95):
    keras.utils.set_random_seed(0)
    return LeNet300100(
        input_shape=(8, 8, 1),
        switcher=UNetSwitcher(depth=2, base_channels=4, gate="binary", magnitude_prior=True),
        target_sparsity=target,
    )


def test_strip_keeps_outputs_and_drops_switchers():
    model = sparse_lenet()
    x = np.random.RandomState(0).rand(32, 8, 8, 1).astype("float32")
    plain = strip(model)
    assert not any(isinstance(layer, SwitchedDense) for layer in plain.layers)
    assert plain.count_params() == 64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    np.testing.assert_allclose(plain.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)
    zeros = sum(int((layer.kernel.numpy() == 0).sum()) for layer in plain.layers if hasattr(layer, "kernel"))
    assert zeros >= 0.95 * (64 * 300 + 300 * 100 + 100 * 10) - 1


def test_shrink_removes_dead_units_and_keeps_outputs():
    model = sparse_lenet(0.98)  # At 98% many hidden units lose all inputs or outputs.
    # Biases make the units without inputs constant but non-zero: they must be folded.
    model.get_layer("fc1").bias.assign(np.linspace(-1, 1, 300).astype("float32"))
    x = np.random.RandomState(1).rand(32, 8, 8, 1).astype("float32")
    plain = strip(model)
    shrunk = strip(model, shrink=True)
    units = [shrunk.get_layer(n).units for n in ("fc1", "fc2", "predictions")]
    assert units[0] < 300 and units[2] == 10
    np.testing.assert_allclose(shrunk.predict(x, verbose=0), plain.predict(x, verbose=0), atol=1e-5)


def test_shrink_folds_constant_units_into_the_next_bias():
    inputs = keras.Input((4,))
    hidden = SwitchedDense(3, activation="relu", name="a", switcher=UNetSwitcher(depth=1))(inputs)
    outputs = SwitchedDense(2, name="b", switcher=UNetSwitcher(depth=1))(hidden)
    model = keras.Model(inputs, outputs)
    a = model.get_layer("a")
    # Gates of a depth-1 U-Net are data-dependent: make the dead unit explicit in the kernel.
    kernel = np.ones((4, 3), "float32")
    kernel[:, 1] = 0.0  # Unit 1 has no incoming connection: outputs relu(bias) = 0.5.
    a.kernel.assign(kernel)
    a.bias.assign(np.array([0.0, 0.5, 0.0], "float32"))
    x = np.random.RandomState(2).rand(16, 4).astype("float32")
    plain, shrunk = strip(model), strip(model, shrink=True)
    np.testing.assert_allclose(shrunk.predict(x, verbose=0), plain.predict(x, verbose=0), atol=1e-5)
    assert shrunk.get_layer("a").units <= 2


@pytest.mark.parametrize(
    "model, message",
    [
        (keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), "no `SwitchedDense`"),
        ("model.keras", "functional or `Sequential` Keras model"),
    ],
)
def test_bad_models_are_errors(model, message):
    with pytest.raises(ValueError, match=message):
        strip(model)


def test_shrink_keeps_a_multiple_of_units_when_asked():
    model = sparse_lenet(0.98)
    x = np.random.RandomState(2).rand(16, 8, 8, 1).astype("float32")
    shrunk = strip(model, shrink=True, unit_multiple=4)
    assert all(shrunk.get_layer(n).units % 4 == 0 for n in ("fc1", "fc2"))
    assert shrunk.get_layer("fc1").units < 300
    np.testing.assert_allclose(shrunk.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(ValueError, match="unit_multiple=0"):
        strip(model, shrink=True, unit_multiple=0)
