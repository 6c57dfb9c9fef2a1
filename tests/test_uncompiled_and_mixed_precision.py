"""Inference without `compile`, and training under `mixed_float16` and
`LossScaleOptimizer`s. Runs on TensorFlow and (through test_backends.py)
on JAX."""

import contextlib
import os

import keras
import numpy as np
from absl.testing import parameterized
from keras.src import testing

import keras_switcher as ks
from keras_switcher import SwitchedDense, SwitchedModel, UNetSwitcher


def small_switcher():
    return UNetSwitcher(depth=1, base_channels=2)


def make_model(switcher=None, **kwargs):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    outputs = SwitchedDense(2, switcher=switcher or small_switcher())(inputs)
    return SwitchedModel(inputs, outputs, **kwargs)


def make_data(n=12):
    rng = np.random.RandomState(0)
    return rng.rand(n, 4).astype("float32"), rng.rand(n, 2).astype("float32")


@contextlib.contextmanager
def dtype_policy(name):
    """Sets the global dtype policy, and restores the previous one after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def scaled(optimizer):
    # A power of two that doubles every step: exact scaling and unscaling,
    # and a scale that the update changes.
    return keras.optimizers.LossScaleOptimizer(
        optimizer, initial_scale=2.0, dynamic_growth_steps=1
    )


class UncompiledPredictTest(testing.TestCase):
    def test_model_built_in_code_predicts(self):
        model = make_model()
        x, _ = make_data()
        expected = keras.ops.convert_to_numpy(model(x))
        self.assertAllClose(model.predict(x, verbose=0), expected)
        self.assertAllClose(model.predict_on_batch(x), expected)

    def test_builder_predicts(self):
        model = ks.applications.LeNet300100(input_shape=(2, 2, 1), switcher="magnitude")
        self.assertEqual(model.predict(np.ones((2, 2, 2, 1)), verbose=0).shape, (2, 10))

    def test_model_loaded_without_compile_predicts(self):
        model = make_model()
        model.compile(optimizer="sgd", loss="mse")
        x, _ = make_data()
        path = os.path.join(self.get_temp_dir(), "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, compile=False)
        self.assertFalse(loaded.compiled)
        expected = model.predict(x, verbose=0)
        self.assertAllClose(loaded.predict(x, verbose=0), expected)
        self.assertAllClose(loaded.predict_on_batch(x), expected)

    def test_switched_copy_predicts(self):
        keras.utils.set_random_seed(0)
        dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        switched = ks.switch(dense, switcher=small_switcher(), verbose=False)
        self.assertEqual(switched.predict(make_data()[0], verbose=0).shape, (12, 2))


class MixedPrecisionTest(testing.TestCase):
    @parameterized.named_parameters(
        ("unet", {}),
        ("magnitude", {"switcher": "magnitude"}),
        ("cached_gates", {"gate_refresh_steps": 5}),
    )
    def test_trains_under_mixed_float16(self, kwargs):
        x, y = make_data()
        with dtype_policy("mixed_float16"):
            model = make_model(alternate=2, **kwargs)
            model.compile(optimizer="sgd", loss="mse")
            history = model.fit(x, y, batch_size=2, verbose=0, shuffle=False)
        # Each optimiser wrapped, as Keras wraps `optimizer` (magnitude
        # switchers have none).
        self.assertIsInstance(model.optimizer, ks.PairedOptimizer)
        for optimizer in (model.optimizer.task_optimizer, model.switcher_optimizer):
            if optimizer is not None:
                self.assertIsInstance(optimizer, keras.optimizers.LossScaleOptimizer)
        self.assertTrue(np.isfinite(history.history["loss"]).all(), history.history)
        for layer in model.switched_layers:
            self.assertEqual(layer.kernel.dtype, "float32")
            self.assertEqual(layer.compute_dtype, "float16")
        for variable in model.switcher_variables:
            self.assertEqual(variable.dtype, "float32")

    @parameterized.named_parameters(
        # Both phases, each optimiser scaled.
        ("both_phases", {"alternate": 2}, ("optimizer", "switcher_optimizer")),
        # The gate gradients of the task steps, measured on the scaled loss.
        (
            "concurrent_updates",
            {"alternate": (4, 0), "gate_refresh_steps": 2, "concurrent_switcher_updates": 2},
            ("optimizer",),
        ),
    )
    def test_loss_scale_optimizers_change_no_update(self, kwargs, wrapped):
        x, y = make_data(16)
        weights = []
        for scale in (False, True):
            model = make_model(**kwargs)
            optimizers = {
                "optimizer": keras.optimizers.SGD(0.1),
                "switcher_optimizer": keras.optimizers.SGD(0.1),
            }
            if scale:
                optimizers = {
                    key: scaled(optimizer) if key in wrapped else optimizer
                    for key, optimizer in optimizers.items()
                }
            model.compile(loss="mse", **optimizers)
            model.fit(x, y, batch_size=2, verbose=0, shuffle=False)
            weights.append([keras.ops.convert_to_numpy(v) for v in model.trainable_variables])
        self.assertGreater(keras.ops.convert_to_numpy(model.optimizer.task_optimizer.dynamic_scale), 2.0)
        for plain, with_scale in zip(*weights):
            self.assertAllClose(with_scale, plain, atol=1e-6, rtol=1e-6)

    def test_skipped_loss_scale_steps_leave_gate_gradients_finite(self):
        # An infinite scale: every task step is skipped, and so are its gate
        # gradients, which are not finite either.
        model = make_model(alternate=(4, 0), gate_refresh_steps=2, concurrent_switcher_updates=2)
        optimizer = keras.optimizers.LossScaleOptimizer(
            keras.optimizers.SGD(), initial_scale=float("inf")
        )
        model.compile(optimizer=optimizer, loss="mse")
        switcher = [keras.ops.convert_to_numpy(v) for v in model.switcher_variables]
        x, y = make_data(8)
        model.fit(x, y, batch_size=2, verbose=0, shuffle=False)
        self.assertEqual(keras.ops.convert_to_numpy(optimizer.iterations), 0)
        for layer in model.switched_layers:
            self.assertAllClose(layer.gate_gradient, np.zeros(layer.kernel.shape))
        for before, variable in zip(switcher, model.switcher_variables):
            self.assertAllClose(variable, before)
