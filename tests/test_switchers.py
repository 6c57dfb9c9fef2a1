import keras
import numpy as np
import pytest
from keras.src import testing

from keras_switcher import SwitchedDense, switchers
from keras_switcher.switchers import UNetSwitcher


class UNetSwitcherTest(testing.TestCase):
    def test_authors_network_size(self):
        switcher = UNetSwitcher(depth=5, base_channels=8)
        switcher.build((784, 300))
        convolutions = sum(
            int(np.prod(v.shape)) for v in switcher.weights if "kernel" in v.path
        )
        # 3x3 encoder 1->8->...->256, 2x2 up-convolutions, 3x3 merges, 3x3 gate.
        self.assertEqual(convolutions, 960_400)
        # Explicit sizes are kept whatever the kernel, the gamma and beta too.
        self.assertEqual(switcher.count_params(), 962_402)
        self.assertEqual(switcher.network_params(5, 8), 962_402)

    def test_gate_shape_for_odd_and_tiny_kernels(self):
        for shape in [(1, 1), (3, 7), (784, 300), (100, 10)]:
            switcher = UNetSwitcher(depth=3, base_channels=2)
            gate = switcher(keras.random.normal(shape, seed=1))
            self.assertEqual(tuple(gate.shape), shape)
            self.assertTrue(np.all(keras.ops.convert_to_numpy(gate) >= 0))

    def test_gate_is_a_pure_function_of_the_kernel(self):
        switcher = UNetSwitcher(depth=2, base_channels=4)
        kernel = keras.random.normal((40, 30), seed=2)
        first = switcher(kernel, training=True)
        second = switcher(kernel, training=False)
        self.assertAllClose(first, second)

    def test_about_half_the_gates_start_off(self):
        switcher = UNetSwitcher()
        gate = keras.ops.convert_to_numpy(
            switcher(keras.random.normal((300, 100), seed=3))
        )
        self.assertBetween(float((gate == 0).mean()), 0.3, 0.7)

    def test_serialization_round_trip(self):
        switcher = UNetSwitcher(depth=2, base_channels=3, epsilon=1e-3)
        clone = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(switcher)
        )
        self.assertEqual(clone.get_config(), switcher.get_config())

    def test_fresh_copies_the_setting_not_the_weights(self):
        original = UNetSwitcher(depth=2)
        copy = switchers.fresh(original)
        self.assertIsNot(copy, original)
        self.assertEqual(copy.depth, 2)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"depth": -1}, "depth"),
        ({"depth": 1.5}, "depth"),
        ({"base_channels": 0}, "base_channels"),
        ({"epsilon": 0}, "epsilon"),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        UNetSwitcher(**kwargs)


def test_get_rejects_unknown_identifiers():
    with pytest.raises(ValueError, match="switcher='magic'"):
        switchers.get("magic")


@pytest.mark.parametrize("target", [0.0, 0.5, 0.9, 0.98])
def test_target_sparsity_is_met_and_kept_gates_average_one(target):
    switcher = UNetSwitcher(depth=2, base_channels=4, target_sparsity=target)
    gate = keras.ops.convert_to_numpy(switcher(keras.random.normal((200, 50), seed=4)))
    assert abs(float((gate == 0).mean()) - target) < 0.002
    assert np.isclose(gate[gate > 0].mean(), 1.0, atol=1e-4)


def test_target_sparsity_must_be_a_fraction():
    with pytest.raises(ValueError, match="target_sparsity=1.0"):
        UNetSwitcher(target_sparsity=1.0)


def test_fresh_overrides_and_rejects_unknown_arguments():
    assert switchers.fresh(UNetSwitcher(depth=2), target_sparsity=0.9).target_sparsity == 0.9
    with pytest.raises(ValueError, match="no argument"):
        switchers.fresh(UNetSwitcher(), colour="red")


def test_neuron_switcher_switches_whole_rows():
    from keras_switcher import NeuronSwitcher

    switcher = NeuronSwitcher(depth=2, base_channels=4, target_sparsity=0.25, gate="binary")
    gate = keras.ops.convert_to_numpy(switcher(keras.random.normal((40, 7), seed=5)))
    assert gate.shape == (40, 7)
    assert np.all(gate == gate[:, :1])  # One gate per input neuron.
    assert int((gate[:, 0] == 0).sum()) == 10


def test_magnitude_prior_starts_as_magnitude_pruning():
    kernel = keras.random.normal((60, 20), seed=6)
    switcher = UNetSwitcher(depth=2, base_channels=4, target_sparsity=0.9, gate="binary", magnitude_prior=True)
    mask = keras.ops.convert_to_numpy(switcher(kernel)) > 0
    magnitude = np.abs(keras.ops.convert_to_numpy(kernel))
    assert mask.sum() == 120
    assert magnitude[mask].min() >= magnitude[~mask].max()


def test_binary_gate_passes_gradients_straight_through():
    import tensorflow as tf

    switcher = UNetSwitcher(depth=1, base_channels=2, gate="binary", target_sparsity=0.5)
    kernel = keras.random.normal((10, 6), seed=7)
    switcher.build(kernel.shape)
    with tf.GradientTape() as tape:
        gate = switcher(kernel)
        loss = tf.reduce_sum(gate * keras.random.normal((10, 6), seed=8))
    gradients = tape.gradient(loss, [v.value for v in switcher.trainable_variables])
    assert set(np.unique(keras.ops.convert_to_numpy(gate))) <= {0.0, 1.0}
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients if g is not None)


def test_switcher_with_a_target_but_no_sparsity_variable_is_refused():
    import keras

    from keras_switcher import SwitchedDense, Switcher

    class Thresholded(Switcher):
        def build(self, kernel_shape):  # Without `super().build`.
            pass

        def scores(self, kernel):
            return keras.ops.ones_like(kernel)

    layer = SwitchedDense(4, switcher=Thresholded(target_sparsity=0.5))
    with pytest.raises(ValueError, match="target_sparsity=0.5 but no scalar `sparsity` variable.*must call `super\(\).build"):
        layer(keras.ops.ones((2, 3)))
    # Without a target, the same switcher is accepted.
    assert tuple(SwitchedDense(4, switcher=Thresholded())(keras.ops.ones((2, 3))).shape) == (2, 4)


def test_gradient_input_starts_as_without_it_and_then_regrows_by_the_gradient():
    kernel = keras.random.normal((16, 8), seed=1)
    gradient = keras.random.normal((16, 8), seed=2) * 1e-4
    setting = dict(depth=1, base_channels=2, gate="binary", magnitude_prior=True, target_sparsity=0.75)
    keras.utils.set_random_seed(0)
    plain = UNetSwitcher(**setting)
    keras.utils.set_random_seed(0)
    reading = UNetSwitcher(gradient_input=True, **setting)
    np.testing.assert_array_equal(plain(kernel), reading(kernel, gate_gradient=gradient))
    reading.gradient_weight.assign(1e5)  # The gradient's order alone decides.
    kept = np.asarray(reading(kernel, gate_gradient=gradient)) > 0
    np.testing.assert_array_equal(kept, np.asarray(-gradient) > np.quantile(-np.asarray(gradient), 0.75))


def _trainable_params(switcher):
    return sum(int(np.prod(v.shape)) for v in switcher.trainable_weights)


@pytest.mark.parametrize("kind", [UNetSwitcher, switchers.NeuronSwitcher])
@pytest.mark.parametrize("kwargs", [{}, {"gradient_input": True}, {"target_sparsity": 0.5}])
@pytest.mark.parametrize("shape", [(16, 8), (100, 10), (784, 300)])
def test_default_network_is_no_larger_than_the_kernel(kind, kwargs, shape):
    switcher = kind(**kwargs)
    switcher.build(shape)
    sizes = (switcher.built_depth, switcher.built_base_channels)
    assert _trainable_params(switcher) == switcher.network_params(*sizes) <= shape[0] * shape[1]
    assert 2**switcher.built_depth <= min(shape)
    assert switcher.get_config()["depth"] is None and switcher.get_config()["base_channels"] is None


def test_default_size_follows_the_kernel():
    sizes = {}
    for shape in [(3, 7), (8, 16), (300, 100), (784, 300), (1024, 1024)]:
        switcher = UNetSwitcher()
        switcher.build(shape)
        sizes[shape] = (switcher.built_depth, switcher.built_base_channels, switcher.count_params())
    assert sizes == {
        (3, 7): (0, 1, 22),  # The floor, above the 21 weights.
        (8, 16): (1, 1, 74),
        (300, 100): (4, 2, 15_242),
        (784, 300): (4, 4, 60_402),
        (1024, 1024): (5, 8, 962_402),  # The authors' network.
    }


def test_one_size_given_chooses_the_other():
    deep = UNetSwitcher(base_channels=8)
    deep.build((300, 100))
    wide = UNetSwitcher(depth=1)
    wide.build((300, 100))
    assert (deep.built_depth, wide.built_base_channels) == (2, 8)


def test_switched_dense_on_8_inputs_has_a_small_switcher_and_reports_it():
    from keras_switcher import SwitchedModel, format_report, report

    inputs = keras.Input((8,))
    model = SwitchedModel(inputs, SwitchedDense(16, name="small")(inputs))
    counted = report(model)
    row = counted["layers"][0]
    assert row["switcher_params"] == model.get_layer("small").switcher.count_params() == 74 <= 128
    assert row["params"] == 8 * 16 + 16
    assert (counted["total"]["params"], counted["total"]["switcher_params"]) == (144, 74)
    header, _, line, _, total = format_report(counted).splitlines()
    assert header.split()[-2:] == ["params", "switcher"]
    assert line.split()[-2:] == total.split()[-2:] == ["144", "74"]


def test_default_sizes_survive_saving(tmp_path):
    inputs = keras.Input((8,))
    model = keras.Model(inputs, SwitchedDense(16)(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    before, after = model.layers[-1].switcher, loaded.layers[-1].switcher
    assert (after.built_depth, after.built_base_channels) == (before.built_depth, before.built_base_channels)
    for saved, restored in zip(before.weights, after.weights):
        np.testing.assert_array_equal(saved, restored)


def test_authors_settings_keep_the_authors_network():
    from keras_switcher import training

    for name in ("paper", "adam"):
        switcher = training.SETTINGS[name].switcher()
        assert (switcher.depth, switcher.base_channels) == (5, 8), name
