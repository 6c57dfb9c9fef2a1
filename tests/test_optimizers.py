"""`PairedOptimizer`: the task and switcher optimisers as `model.optimizer`.
Runs on TensorFlow and (through test_backends.py and test_torch.py) on JAX
and PyTorch."""

import keras
import numpy as np
import pytest
from keras.src import testing

from keras_switcher import PairedOptimizer, SwitchedDense, SwitchedModel, UNetSwitcher, keras_internals
from keras_switcher.trainers import backend_trainer
from keras_switcher.trainers.base import SwitchedTrainer


def make_model(**kwargs):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    outputs = SwitchedDense(2, switcher=UNetSwitcher(depth=1, base_channels=2))(inputs)
    return SwitchedModel(inputs, outputs, **kwargs)


def make_data(n=16):
    rng = np.random.RandomState(0)
    return rng.rand(n, 4).astype("float32"), rng.rand(n, 2).astype("float32")


def rate(optimizer):
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class PairedOptimizerTest(testing.TestCase):
    def test_compile_puts_it_in_model_optimizer(self):
        model = make_model()
        task, switcher = keras.optimizers.SGD(0.1), keras.optimizers.Adam(1e-3)
        model.compile(optimizer=task, switcher_optimizer=switcher, loss="mse")
        self.assertIsInstance(model.optimizer, PairedOptimizer)
        self.assertIs(model.optimizer.task_optimizer, task)
        self.assertIs(model.switcher_optimizer, switcher)
        self.assertIs(model.optimizer.iterations, task.iterations)
        self.assertIs(model.optimizer.learning_rate, task.learning_rate)

    def test_variables_are_the_task_optimizers_then_the_switchers(self):
        model = make_model(alternate=2)
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), switcher_optimizer="adam", loss="mse")
        optimizer = model.optimizer
        expected = list(optimizer.task_optimizer.variables) + list(model.switcher_optimizer.variables)
        self.assertEqual([id(v) for v in optimizer.variables], [id(v) for v in expected])
        # Both were built for their own variables.
        self.assertLen(optimizer.task_optimizer.variables, 2 + len(model.task_variables))
        self.assertLen(model.switcher_optimizer.variables, 2 + 2 * len(model.switcher_variables))

    def test_setting_the_rate_scales_the_switchers_in_proportion(self):
        paired = PairedOptimizer(keras.optimizers.SGD(0.1), keras.optimizers.Adam(0.002))
        paired.learning_rate = 0.05
        self.assertAllClose(rate(paired.task_optimizer), 0.05)
        self.assertAllClose(rate(paired.switcher_optimizer), 0.001)
        self.assertAllClose(rate(paired), 0.05)

    def test_rates_from_a_schedule_are_left_alone(self):
        schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.5)
        paired = PairedOptimizer(keras.optimizers.SGD(0.1), keras.optimizers.Adam(schedule))
        paired.learning_rate = 0.05
        self.assertAllClose(rate(paired.task_optimizer), 0.05)
        self.assertAllClose(rate(paired.switcher_optimizer), 0.01)  # The schedule's.
        # A task rate of 0 gives no proportion to follow.
        paired = PairedOptimizer(keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.02))
        paired.learning_rate = 0.1
        self.assertAllClose(rate(paired.switcher_optimizer), 0.02)

    def test_learning_rate_scheduler_reaches_both_optimizers(self):
        model = make_model(alternate=2)
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            switcher_optimizer=keras.optimizers.SGD(0.02),
            loss="mse",
        )
        halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)
        x, y = make_data()
        model.fit(x, y, epochs=2, batch_size=4, callbacks=[halve], verbose=0)
        self.assertAllClose(rate(model.optimizer), 0.025)
        self.assertAllClose(rate(model.switcher_optimizer), 0.005)

    def test_fit_finalizes_each_optimizer_with_its_own_variables(self):
        # With `use_ema`, each optimiser writes its averages into its own
        # variables at the end of `fit` (as many as it averages).
        model = make_model(alternate=1)
        model.compile(
            optimizer=keras.optimizers.SGD(0.1, use_ema=True),
            switcher_optimizer=keras.optimizers.SGD(0.01, use_ema=True),
            loss="mse",
        )
        before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
        x, y = make_data()
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
        after = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
        self.assertTrue(any(not np.allclose(a, b) for a, b in zip(after, before)))

    def test_without_switcher_optimizer(self):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        outputs = SwitchedDense(2, switcher="magnitude")(inputs)
        model = SwitchedModel(inputs, outputs)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        self.assertIsNone(model.switcher_optimizer)
        self.assertEqual(
            [id(v) for v in model.optimizer.variables],
            [id(v) for v in model.optimizer.task_optimizer.variables],
        )
        model.optimizer.learning_rate = 0.05
        self.assertAllClose(rate(model.optimizer), 0.05)

    def test_config_round_trip(self):
        paired = PairedOptimizer(
            keras.optimizers.SGD(0.1, momentum=0.5),
            keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(2e-3)),
            name="pair",
        )
        config = keras.saving.serialize_keras_object(paired)
        restored = keras.saving.deserialize_keras_object(config)
        self.assertIsInstance(restored, PairedOptimizer)
        self.assertEqual(restored.name, "pair")
        self.assertEqual(restored.task_optimizer.get_config(), paired.task_optimizer.get_config())
        self.assertIsInstance(restored.switcher_optimizer, keras.optimizers.LossScaleOptimizer)
        self.assertEqual(restored.switcher_optimizer.get_config(), paired.switcher_optimizer.get_config())
        alone = PairedOptimizer.from_config(PairedOptimizer(keras.optimizers.SGD()).get_config())
        self.assertIsNone(alone.switcher_optimizer)

    def test_compile_takes_a_paired_optimizer(self):
        model = make_model()
        task, switcher = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.01)
        model.compile(optimizer=PairedOptimizer(task, switcher), loss="mse")
        self.assertIs(model.optimizer.task_optimizer, task)
        self.assertIs(model.switcher_optimizer, switcher)
        # The compile config names the two, as with separate arguments.
        config = model.get_compile_config()
        self.assertEqual(config["optimizer"]["class_name"], "SGD")
        self.assertEqual(config["switcher_optimizer"]["class_name"], "SGD")
        with self.assertRaisesRegex(ValueError, "switcher_optimizer="):
            model.compile(optimizer=PairedOptimizer(task, switcher), switcher_optimizer="sgd", loss="mse")

    def test_errors_name_the_argument(self):
        with self.assertRaisesRegex(ValueError, "task_optimizer='sgd'"):
            PairedOptimizer("sgd")
        with self.assertRaisesRegex(ValueError, "switcher_optimizer=3"):
            PairedOptimizer(keras.optimizers.SGD(), 3)
        optimizer = keras.optimizers.SGD()
        with self.assertRaisesRegex(ValueError, "different optimizer instance"):
            PairedOptimizer(optimizer, optimizer)
        paired = PairedOptimizer(keras.optimizers.SGD(), keras.optimizers.SGD())
        with self.assertRaisesRegex(ValueError, "switcher_var_list=None"):
            paired.build([keras.Variable(1.0)])
        with self.assertRaisesRegex(ValueError, "applies no gradients itself"):
            paired.apply([1.0], [keras.Variable(1.0)])

    def test_the_trainers_override_no_private_keras_method(self):
        # Keras's own JAX trainer carries `model.optimizer.variables`
        # through the jitted step, the switcher optimiser's included.
        self.assertFalse(hasattr(keras_internals, "JAX_TRAINER_HOOKS"))
        jax_trainer = pytest.importorskip("keras_switcher.trainers.jax_trainer")
        for name in ("_get_jax_state", "jax_state_sync", "_get_state_sharding_spec"):
            self.assertNotIn(name, vars(jax_trainer.JAXSwitchedTrainer))
        for trainer in (SwitchedTrainer, backend_trainer()):
            private = [name for name in vars(trainer) if name.startswith("_") and not name.startswith("__")]
            self.assertEqual([name for name in private if hasattr(keras.Model, name)], [], trainer)
