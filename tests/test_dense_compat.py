"""Keras's own tests of `Dense`, run on `SwitchedDense`.

Ported from Keras 3.15's `keras/src/layers/core/dense_test.py` (Apache-2.0,
Copyright the Keras authors), with the test names of that file, on every
backend the package trains on (TensorFlow here, JAX from
`tests/test_backends.py`).

The layers use `switcher="magnitude"` unless a test says otherwise: it has no
weights, so the trainable weights are Dense's (kernel and bias), and with no
`target_sparsity` its gate is `|w| > 0`, all ones for a kernel without exact
zeros, so Dense's expected numbers hold as they are.

Ported as they are (the gate is all ones): `test_dense_invalid_units_raises`
(5 cases), `test_dense_errors`, `test_dense_no_activation`,
`test_dense_without_activation_set`, `test_dense_with_activation`,
`test_dense_constraints`.

Adapted:

- `test_dense_basics`, `test_dense_sparse` (`run_layer_test`): one more
  non-trainable weight than Dense, the layer's `observed_sparsity`;
- `test_dense_correctness`: also checks the gate is all ones, and
  `test_dense_correctness_with_target_sparsity` (new) checks
  `x @ (kernel * mask)` with the mask of the largest half of `|kernel|`,
  computed in NumPy;
- `test_dense_sparse`: on TensorFlow the kernel's gradient is a dense
  tensor equal to the dense input's, not Dense's `tf.IndexedSlices` (the
  product with the gate densifies it); Keras's skip condition is kept;
- `test_legacy_load_own_variables`: only its float case applies (a store
  with numeric keys); its quantized cases are skipped with the others.

Skipped: the 7 LoRA tests and the 51 quantization tests (their names are in
`LORA_TESTS` and `QUANTIZATION_TESTS`): a switched layer takes neither; the
tests that follow them check that it refuses both and points to
`keras_switcher.strip`, whose plain Keras layers take both.

Added: the refusals (`lora_rank`, `lora_alpha`, `quantization_config`, a
LoRA Dense's config, `enable_lora`, `quantize`, a quantized
`dtype_policy`), and a Dense layer's config and weights taken. Two strict
A layer-level store of a `Dense` layer is not loaded by `SwitchedDense`:
Keras files name a layer's variables by its class, so a `Dense` model's
file reaches a switched model through `SwitchedModel.load_weights` (tested
in `test_drop_in.py`), not through `load_own_variables`.
"""

import keras
import numpy as np
import pytest
from absl.testing import parameterized
from keras import ops
from keras.src import backend
from keras.src import testing

from keras_switcher import MagnitudeSwitcher, SwitchedDense

OUT_OF_SCOPE = (
    "a switched layer takes neither LoRA nor quantization: strip() first "
    "(keras_switcher.strip returns plain Keras layers, which Keras's own "
    "dense_test.py covers); the refusals are tested below"
)

# Keras's tests (parameterized ones by their base name) not ported.
LORA_TESTS = (
    "test_enable_lora",
    "test_enable_lora_with_alpha",
    "test_lora_weight_name",
    "test_lora_rank_argument",
    "test_enable_lora_with_kernel_constraint",
    "test_enable_lora_on_unbuilt_layer",
    "test_enable_lora_when_already_enabled",
)
QUANTIZATION_TESTS = (
    "test_dense_quantize_config",  # 3 cases
    "test_quantize_int",  # 2
    "test_quantize_on_unbuilt_layer",  # 3
    "test_quantize_on_subclass",  # 3
    "test_quantize_when_already_quantized",  # 3
    "test_quantize_by_setting_dtype_policy",  # 3
    "test_quantize_invalid_mode",  # 2
    "test_quantize_dtype_argument",  # 3
    "test_quantize_lora_integration",  # 2
    "test_quantize_float8",
    "test_quantize_float8_fitting",
    "test_quantize_float8_inference",
    "test_gptq_serialization",
    "test_awq_serialization",
    "test_int4_kernel_returns_unpacked_form",
    "test_legacy_load_own_variables (its quantized cases)",
    "test_int4_gptq_kernel_returns_unpacked_form",
    "test_gptq_kernel_packing",
    "test_int4_awq_kernel_returns_unpacked_form",
    "test_awq_kernel_packing",
    "test_dense_int8_custom_quantizer",
    "test_dense_int8_weight_only_quantizer",
    "test_dense_int4_custom_quantizer",
    "test_int4_quantization_block_size",  # 4
    "test_int4_block_size_serialization",  # 3
    "test_int4_block_size_with_lora",  # 2
    "test_int4_grouped_vs_perchannel_scale_shapes",
    "test_int4_subchannel_g_idx_created",  # 2
    "test_int4_perchannel_no_g_idx",
    "test_int4_subchannel_g_idx_serialization",
)

KERNEL = np.array([[1.0, -2.0], [3.0, -4.0]])
INPUTS = np.array([[-1.0, 2.0]])


def built_layer(units=2, input_dim=2, **kwargs):
    kwargs.setdefault("switcher", "magnitude")
    layer = SwitchedDense(units=units, **kwargs)
    layer.build((None, input_dim))
    return layer


class DenseTest(testing.TestCase):
    def test_dense_basics(self):
        # 2D case, no bias.
        self.run_layer_test(
            SwitchedDense,
            init_kwargs={
                "units": 4,
                "activation": "relu",
                "kernel_initializer": "random_uniform",
                "bias_initializer": "ones",
                "use_bias": False,
                "switcher": "magnitude",
            },
            input_shape=(2, 3),
            expected_output_shape=(2, 4),
            expected_num_trainable_weights=1,
            # observed_sparsity (the magnitude switcher has no weights).
            expected_num_non_trainable_weights=1,
            expected_num_seed_generators=0,
            expected_num_losses=0,
            supports_masking=True,
        )
        # 3D case, some regularizers.
        self.run_layer_test(
            SwitchedDense,
            init_kwargs={
                "units": 5,
                "activation": "sigmoid",
                "kernel_regularizer": "l2",
                "bias_regularizer": "l2",
                "switcher": "magnitude",
            },
            input_shape=(2, 3, 4),
            expected_output_shape=(2, 3, 5),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=1,  # observed_sparsity.
            expected_num_seed_generators=0,
            expected_num_losses=2,  # we have 2 regularizers.
            supports_masking=True,
        )

    @parameterized.named_parameters(
        ("zero", 0),
        ("negative", -3),
        ("float", 2.5),
        ("none", None),
        ("string", "64"),
    )
    def test_dense_invalid_units_raises(self, units):
        with self.assertRaisesRegex(ValueError, "positive integer"):
            SwitchedDense(units, switcher="magnitude")

    def test_dense_correctness(self):
        # With bias and activation.
        layer = built_layer(activation="relu")
        layer.set_weights([KERNEL, np.array([5.0, -6.0])])
        # No weight is exactly zero: the magnitude gate keeps them all.
        self.assertAllClose(layer.gate(), np.ones((2, 2)))
        self.assertAllClose(layer(INPUTS), [[10.0, 0.0]])

        # Just a kernel matmul.
        layer = built_layer(use_bias=False)
        layer.set_weights([KERNEL])
        self.assertEqual(layer.bias, None)
        self.assertAllClose(layer(INPUTS), [[5.0, -6.0]])

    def test_dense_correctness_with_target_sparsity(self):
        layer = built_layer(
            units=6,
            input_dim=4,
            activation="relu",
            switcher=MagnitudeSwitcher(target_sparsity=0.5),
        )
        # observed_sparsity, and the switcher's sparsity (its target).
        self.assertLen(layer.trainable_weights, 2)
        self.assertLen(layer.non_trainable_weights, 2)
        rng = np.random.RandomState(0)
        kernel = rng.randn(4, 6).astype("float32")
        bias = rng.randn(6).astype("float32")
        inputs = rng.randn(3, 4).astype("float32")
        layer.set_weights([kernel, bias])

        # The mask of magnitude pruning: the largest half of |kernel| kept.
        mask = np.zeros(kernel.size, "float32")
        mask[np.argsort(np.abs(kernel), axis=None)[kernel.size // 2 :]] = 1.0
        mask = mask.reshape(kernel.shape)
        self.assertAllClose(layer.gate(), mask)
        expected = np.maximum(inputs @ (kernel * mask) + bias, 0.0)
        self.assertAllClose(layer(inputs), expected, atol=1e-5)
        self.assertAllClose(layer.observed_sparsity, 0.5)
        self.assertAlmostEqual(layer.sparsity(), 0.5)

        # Keras's 2x2 example: the connections from the second input stay.
        layer = built_layer(
            activation="relu", switcher=MagnitudeSwitcher(target_sparsity=0.5)
        )
        layer.set_weights([KERNEL, np.array([5.0, -6.0])])
        self.assertAllClose(layer.gate(), [[0.0, 0.0], [1.0, 1.0]])
        # relu([-1, 2] @ [[0, 0], [3, -4]] + [5, -6]) = relu([11, -14]).
        self.assertAllClose(layer(INPUTS), [[11.0, 0.0]])

    def test_dense_errors(self):
        with self.assertRaisesRegex(ValueError, "incompatible with the layer"):
            layer = SwitchedDense(units=2, activation="relu", switcher="magnitude")
            layer(keras.KerasTensor((1, 2)))
            layer(keras.KerasTensor((1, 3)))

    @pytest.mark.skipif(
        not backend.SUPPORTS_SPARSE_TENSORS,
        reason="Backend does not support sparse tensors.",
    )
    def test_dense_sparse(self):
        self.run_layer_test(
            SwitchedDense,
            init_kwargs={
                "units": 4,
                "switcher": "magnitude",
            },
            input_shape=(2, 3),
            input_sparse=True,
            expected_output_shape=(2, 4),
            expected_num_trainable_weights=2,
            expected_num_non_trainable_weights=1,  # observed_sparsity.
            expected_num_seed_generators=0,
            expected_num_losses=0,
        )

        dense_inputs = np.random.random((10, 10)).astype("float32")
        dense_inputs = np.multiply(dense_inputs, dense_inputs >= 0.8)

        if backend.backend() == "tensorflow":
            import tensorflow as tf

            inputs = tf.sparse.from_dense(dense_inputs)
        elif backend.backend() == "jax":
            import jax.experimental.sparse as jax_sparse

            inputs = jax_sparse.BCOO.fromdense(dense_inputs)
        else:
            self.fail(f"Sparse is unsupported with backend {backend.backend()}")

        layer = SwitchedDense(units=10, switcher="magnitude")
        outputs = layer(inputs)

        # Verify the computation is the same as if it had been a dense tensor
        expected_outputs = ops.add(
            ops.matmul(
                backend.convert_to_tensor(inputs, sparse=False), layer.kernel
            ),
            layer.bias,
        )
        self.assertAllClose(
            outputs, expected_outputs, tpu_atol=1e-2, tpu_rtol=1e-2
        )

        # Dense asserts that the kernel's gradient is a `tf.IndexedSlices`:
        # here the product with the gate (`kernel * gate`) makes it a dense
        # tensor, the dense input's gradient times the gate (all ones).
        if backend.backend() == "tensorflow":
            import tensorflow as tf

            with tf.GradientTape() as g:
                outputs = layer(inputs)
            gradient = g.gradient(outputs, layer.kernel)

            self.assertNotIsInstance(gradient, tf.IndexedSlices)
            self.assertAllClose(
                gradient, dense_inputs.T @ np.ones((10, 10), "float32")
            )

    def test_dense_no_activation(self):
        layer = built_layer(use_bias=False, activation=None)
        layer.set_weights([KERNEL])
        self.assertEqual(layer.bias, None)
        self.assertAllClose(layer(INPUTS), [[5.0, -6.0]])

    def test_dense_without_activation_set(self):
        layer = built_layer(use_bias=False)
        layer.set_weights([KERNEL])
        layer.activation = None
        self.assertEqual(layer.bias, None)
        self.assertAllClose(layer(INPUTS), [[5.0, -6.0]])

    def test_dense_with_activation(self):
        layer = built_layer(use_bias=False, activation="relu")
        layer.set_weights([KERNEL])

        output = layer(INPUTS)
        expected_output = np.array([[5.0, 0.0]])
        self.assertAllClose(output, expected_output)

    def test_dense_constraints(self):
        layer = built_layer(kernel_constraint="non_neg")
        self.assertIsInstance(layer.kernel.constraint, keras.constraints.NonNeg)
        layer = built_layer(bias_constraint="non_neg")
        self.assertIsInstance(layer.bias.constraint, keras.constraints.NonNeg)

    def test_legacy_load_own_variables(self):
        # Keras's float case: a store with numeric keys, here those of the
        # layer's own variables (kernel, bias, observed_sparsity).
        float32_store = {
            "0": np.random.random((8, 16)).astype("float32"),
            "1": np.random.random((16,)).astype("float32"),
            "2": np.array(0.25, "float32"),
        }
        layer = built_layer(units=16, input_dim=8)
        layer.load_own_variables(float32_store)
        self.assertAllClose(layer.kernel, float32_store["0"])
        self.assertAllClose(layer.bias, float32_store["1"])
        self.assertAllClose(layer.observed_sparsity, float32_store["2"])

    # LoRA and quantization: refused, with the way out.

    @pytest.mark.skip(reason=OUT_OF_SCOPE)
    def test_lora(self):
        """Keras's 7 LoRA tests, `LORA_TESTS`."""

    @pytest.mark.skip(reason=OUT_OF_SCOPE)
    def test_quantization(self):
        """Keras's 51 quantization tests, `QUANTIZATION_TESTS`."""

    @parameterized.named_parameters(
        ("lora_rank", {"lora_rank": 2}),
        ("lora_alpha", {"lora_alpha": 3.0}),
        ("quantization_config", {"quantization_config": {"mode": "int8"}}),
    )
    def test_lora_and_quantization_arguments_are_refused(self, kwargs):
        with self.assertRaisesRegex(ValueError, r"keras_switcher\.strip\(model\)"):
            SwitchedDense(3, switcher="magnitude", **kwargs)

    def test_lora_dense_config_is_refused(self):
        config = keras.layers.Dense(3, lora_rank=2).get_config()
        with self.assertRaisesRegex(ValueError, "lora_rank=2"):
            SwitchedDense(**config)

    def test_enable_lora_is_refused(self):
        layer = built_layer(units=16, input_dim=8)
        with self.assertRaisesRegex(NotImplementedError, r"strip\(model\)` first"):
            layer.enable_lora(2)
        with self.assertRaisesRegex(NotImplementedError, r"strip\(model\)` first"):
            layer.enable_lora(rank=4, lora_alpha=3.0)
        # No LoRA kernels were added: kernel, bias, observed_sparsity.
        self.assertLen(layer.weights, 3)

    @parameterized.named_parameters(
        ("int8", "int8"),
        ("int4", "int4"),
        ("float8", "float8"),
    )
    def test_quantize_is_refused(self, mode):
        layer = built_layer(units=16, input_dim=8)
        with self.assertRaisesRegex(NotImplementedError, r"strip\(model\)` first"):
            layer.quantize(mode)
        self.assertIsNone(layer.quantization_mode)
        self.assertEqual(backend.standardize_dtype(layer.kernel.dtype), "float32")

    def test_quantize_by_setting_dtype_policy_is_refused(self):
        # Keras's route of `test_quantize_by_setting_dtype_policy` calls
        # `layer.quantize`, and is refused with it.
        layer = built_layer(units=16, input_dim=8)
        with self.assertRaisesRegex(NotImplementedError, r"strip\(model\)` first"):
            layer.dtype_policy = "int8_from_float32"

    def test_quantize_dtype_argument_is_refused(self):
        with self.assertRaisesRegex((ValueError, NotImplementedError), "strip"):
            layer = SwitchedDense(5, switcher="magnitude", dtype="int8_from_float32")
            layer(np.ones((2, 4), "float32"))

    # A Dense layer's config and weights.

    def test_dense_config_is_taken(self):
        dense = keras.layers.Dense(
            3, activation="relu", use_bias=False, kernel_constraint="non_neg"
        )
        layer = SwitchedDense(**dense.get_config())
        self.assertEqual(layer.name, dense.name)
        self.assertEqual(layer.units, 3)
        self.assertFalse(layer.use_bias)
        self.assertIs(layer.activation, keras.activations.relu)
        self.assertIsInstance(layer.kernel_constraint, keras.constraints.NonNeg)
        # No switcher in a Dense config: the default, the U-Net.
        self.assertEqual(layer.switcher.__class__.__name__, "UNetSwitcher")

    @parameterized.named_parameters(("bias", True), ("no_bias", False))
    def test_set_weights_takes_dense_weights(self, use_bias):
        dense = keras.layers.Dense(4, use_bias=use_bias, bias_initializer="ones")
        dense.build((None, 3))
        layer = built_layer(units=4, input_dim=3, use_bias=use_bias)
        layer.set_weights(dense.get_weights())
        self.assertAllClose(layer.kernel, dense.kernel)
        if use_bias:
            self.assertAllClose(layer.bias, dense.bias)
        inputs = np.random.RandomState(1).randn(2, 3).astype("float32")
        self.assertAllClose(layer(inputs), dense(inputs))
        # The layer's own weights, observed_sparsity included, are taken too.
        values = [ops.convert_to_numpy(v) for v in layer.weights]
        other = built_layer(units=4, input_dim=3, use_bias=use_bias)
        other.set_weights(values)
        self.assertAllClose(other.kernel, dense.kernel)

    def test_set_weights_refuses_a_dense_kernel_of_another_shape(self):
        dense = keras.layers.Dense(4)
        dense.build((None, 5))
        layer = built_layer(units=4, input_dim=3)
        with self.assertRaisesRegex(ValueError, "not compatible"):
            layer.set_weights(dense.get_weights())
