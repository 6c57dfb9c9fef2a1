import keras
import numpy as np
import pytest
from keras.src import testing

from keras_switcher import Switcher, SwitchedDense, UNetSwitcher


def small_switcher():
    return {"class_name": "UNetSwitcher", "config": {"depth": 1, "base_channels": 2},
            "module": "keras_switcher.switchers", "registered_name": "keras_switcher>UNetSwitcher"}


class WrongShapeSwitcher(Switcher):
    def scores(self, kernel):
        return keras.ops.ones((3, 3))


class SwitchedDenseTest(testing.TestCase):
    def test_run_layer_test(self):
        self.run_layer_test(
            SwitchedDense,
            init_kwargs={"units": 4, "activation": "relu", "switcher": small_switcher()},
            input_shape=(2, 3),
            expected_output_shape=(2, 4),
            # kernel, bias + 3 blocks of (kernel, gamma, beta) in the switcher.
            expected_num_trainable_weights=2 + 3 * 5,
            expected_num_non_trainable_weights=1,
            supports_masking=True,
        )

    def test_run_layer_test_rank_3_without_bias(self):
        self.run_layer_test(
            SwitchedDense,
            init_kwargs={"units": 5, "use_bias": False, "switcher": small_switcher()},
            input_shape=(2, 3, 6),
            expected_output_shape=(2, 3, 5),
            expected_num_trainable_weights=1 + 3 * 5,
            expected_num_non_trainable_weights=1,
        )

    def test_output_is_dense_with_gated_kernel(self):
        layer = SwitchedDense(6, activation="tanh", switcher=UNetSwitcher(depth=2))
        x = np.random.RandomState(0).randn(5, 7).astype("float32")
        y = layer(x)
        gate = keras.ops.convert_to_numpy(layer.gate())
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        expected = np.tanh(x @ (kernel * gate) + keras.ops.convert_to_numpy(layer.bias))
        self.assertAllClose(y, expected, atol=1e-5)
        mask = keras.ops.convert_to_numpy(layer.mask())
        self.assertAllEqual(mask, gate > 0)
        self.assertAlmostEqual(layer.sparsity(), float((gate == 0).mean()))
        self.assertAlmostEqual(float(layer.observed_sparsity.numpy()), layer.sparsity(), decimal=6)

    def test_zero_gates_remove_connections(self):
        layer = SwitchedDense(4, use_bias=False, switcher=UNetSwitcher(depth=1))
        x = np.eye(3, dtype="float32")
        y = keras.ops.convert_to_numpy(layer(x))
        mask = keras.ops.convert_to_numpy(layer.mask())
        # Row i of the output is row i of kernel * gate: zero where switched off.
        self.assertTrue(np.all(y[~mask] == 0))

    def test_config_round_trip_keeps_switcher_setting(self):
        layer = SwitchedDense(3, switcher=UNetSwitcher(depth=2, base_channels=5))
        clone = SwitchedDense.from_config(layer.get_config())
        self.assertEqual(clone.switcher.base_channels, 5)
        self.assertEqual(clone.get_config(), layer.get_config())


@pytest.mark.parametrize("units", [0, -3, 2.5, None, True])
def test_units_must_be_a_positive_integer(units):
    with pytest.raises(ValueError, match=f"units={units}"):
        SwitchedDense(units)


def test_switcher_with_wrong_shape_is_rejected():
    layer = SwitchedDense(4, switcher=WrongShapeSwitcher())
    with pytest.raises(ValueError, match=r"WrongShapeSwitcher for a kernel of shape \(5, 4\) must have shape \(5, 4\)"):
        layer(np.ones((2, 5), "float32"))


def test_input_of_wrong_last_dimension_is_rejected():
    layer = SwitchedDense(4, switcher=UNetSwitcher(depth=1))
    layer(np.ones((2, 5), "float32"))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 5"):
        layer(np.ones((2, 6), "float32"))


def test_invalid_switcher_is_rejected():
    with pytest.raises(ValueError, match="`switcher`"):
        SwitchedDense(4, switcher=keras.layers.Dense(3))


def test_gate_before_build_is_a_clear_error():
    with pytest.raises(ValueError, match="not built"):
        SwitchedDense(4).gate()
