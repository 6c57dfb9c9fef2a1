import keras
import numpy as np
import pytest
from absl.testing import parameterized
from keras.src import testing

from keras_switcher import SwitchedDense, SwitchedModel, UNetSwitcher
from keras_switcher.schedule import AlternationSchedule


def make_data(n=64, features=12, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.rand(n, features).astype("float32")
    y = (x[:, : features // 2].sum(axis=1) > x[:, features // 2 :].sum(axis=1)).astype("int32")
    return x, y


def make_model(alternate="epoch", warmup_epochs=0, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12,))
    x = SwitchedDense(16, activation="relu", switcher=UNetSwitcher(depth=2, base_channels=4))(inputs)
    outputs = SwitchedDense(2, activation="softmax", switcher=UNetSwitcher(depth=2, base_channels=4))(x)
    model = SwitchedModel(inputs, outputs, alternate=alternate, warmup_epochs=warmup_epochs)
    model.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
        switcher_optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def values(variables):
    return [np.array(v.numpy()) for v in variables]


def changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


class SwitchedModelTest(testing.TestCase):
    def test_task_phase_updates_task_weights_only(self):
        model = make_model()
        x, y = make_data()
        task, switcher = values(model.task_variables), values(model.switcher_variables)
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        self.assertTrue(all(changed(task, model.task_variables)))
        self.assertFalse(any(changed(switcher, model.switcher_variables)))

    def test_switcher_phase_updates_switcher_weights_only(self):
        model = make_model()
        x, y = make_data()
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        self.assertEqual(model.current_phase(), "switcher")
        task, switcher = values(model.task_variables), values(model.switcher_variables)
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        self.assertFalse(any(changed(task, model.task_variables)))
        self.assertTrue(any(changed(switcher, model.switcher_variables)))
        self.assertEqual(history.history["phase"], [1.0])

    def test_both_phases_minimise_the_compiled_loss(self):
        x, y = make_data(n=16)
        for phase_epochs in (0, 1):
            model = make_model()
            model.epochs_seen.assign(phase_epochs)
            expected = model.compute_loss(x=x, y=y, y_pred=model(x), training=True)
            logs = model.train_on_batch(x, y, return_dict=True)
            self.assertAllClose(logs["loss"], expected, atol=1e-5, rtol=1e-5)

    def test_logs_show_sparsity_and_phase(self):
        model = make_model(alternate=2)
        x, y = make_data()
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        self.assertIn("sparsity", history.history)
        counted = sum(
            layer.sparsity() * np.prod(layer.kernel.shape) for layer in model.switched_layers
        ) / sum(np.prod(layer.kernel.shape) for layer in model.switched_layers)
        self.assertBetween(counted, 0.05, 0.95)
        self.assertEqual(int(model.steps_seen.numpy()), 8)

    def test_step_alternation(self):
        model = make_model(alternate=3)
        x, y = make_data(n=16)
        phases = [model.train_on_batch(x, y, return_dict=True)["phase"] for _ in range(7)]
        self.assertEqual(phases, [0, 0, 0, 1, 1, 1, 0])

    def test_warmup_trains_a_dense_model(self):
        model = make_model(warmup_epochs=1)
        x, y = make_data()
        switcher = values(model.switcher_variables)
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
        self.assertEqual(history.history["phase"], [-1.0])
        self.assertEqual(history.history["sparsity"], [0.0])
        self.assertFalse(any(changed(switcher, model.switcher_variables)))
        self.assertEqual(model.current_phase(), "task")

    def test_save_load_predict_identical(self):
        model = make_model()
        x, y = make_data()
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        path = self.get_temp_dir() + "/model.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        self.assertIsInstance(loaded, SwitchedModel)
        self.assertAllClose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=0, rtol=0)
        self.assertEqual(loaded.schedule.get_config(), model.schedule.get_config())
        self.assertEqual(int(loaded.epochs_seen.numpy()), 2)
        self.assertEqual(
            int(loaded.switcher_optimizer.iterations.numpy()),
            int(model.switcher_optimizer.iterations.numpy()),
        )

    def test_resume_from_file_matches_uninterrupted_run(self):
        x, y = make_data(n=96)
        uninterrupted = make_model(alternate="epoch", seed=7)
        uninterrupted.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)

        first = make_model(alternate="epoch", seed=7)
        first.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        path = self.get_temp_dir() + "/half.keras"
        first.save(path)
        resumed = keras.models.load_model(path)
        resumed.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)

        for a, b in zip(uninterrupted.weights, resumed.weights):
            self.assertAllClose(a, b, atol=1e-6, msg=a.path)
        for a, b in zip(uninterrupted.switcher_optimizer.variables, resumed.switcher_optimizer.variables):
            self.assertAllClose(a, b, atol=1e-6)

    def test_evaluate_and_predict_behave_as_in_keras(self):
        model = make_model()
        x, y = make_data()
        loss, accuracy = model.evaluate(x, y, verbose=0)
        self.assertBetween(accuracy, 0.0, 1.0)
        self.assertEqual(model.predict(x, verbose=0).shape, (64, 2))


def test_compile_without_switcher_optimizer_picks_the_documented_default():
    model = make_model()
    model.compile(optimizer="sgd", loss="mse")
    assert isinstance(model.switcher_optimizer, keras.optimizers.Adam)
    assert float(model.switcher_optimizer.learning_rate.numpy()) == pytest.approx(1e-3)


def test_one_optimizer_for_both_phases_is_an_error():
    model = make_model()
    optimizer = keras.optimizers.SGD()
    with pytest.raises(ValueError, match="different optimizer instance"):
        model.compile(optimizer=optimizer, switcher_optimizer=optimizer, loss="mse")


@pytest.mark.parametrize(
    "kwargs, argument",
    [({"alternate": "batch"}, "alternate"), ({"alternate": 0}, "alternate"), ({"warmup_epochs": -1}, "warmup_epochs")],
)
def test_invalid_schedule_is_an_error(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        AlternationSchedule(**kwargs)


def cached_model(steps, batch_switcher_optimizer, seed=3, task_rate=0.1, gradient_input=False, **model_kwargs):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12,))
    switcher = UNetSwitcher(depth=2, base_channels=4, gradient_input=gradient_input)
    x = SwitchedDense(16, activation="relu", switcher=switcher)(inputs)
    outputs = SwitchedDense(2, activation="softmax", switcher=UNetSwitcher.from_config(switcher.get_config()))(x)
    model = SwitchedModel(inputs, outputs, gate_cache_steps=steps, **model_kwargs)
    model.compile(
        optimizer=keras.optimizers.SGD(task_rate),
        switcher_optimizer=batch_switcher_optimizer,
        loss="sparse_categorical_crossentropy",
    )
    return model


class GateCacheTest(testing.TestCase):
    def test_accumulated_switcher_update_equals_one_large_batch_step(self):
        x, y = make_data(n=64)
        cached = cached_model(4, keras.optimizers.SGD(0.5))
        reference = cached_model(None, keras.optimizers.SGD(0.5))
        for model in (cached, reference):
            model.epochs_seen.assign(1)  # Start in the switcher phase.
        cached.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        reference.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
        self.assertEqual(int(cached.switcher_optimizer.iterations.numpy()), 1)
        for a, b in zip(cached.switcher_variables, reference.switcher_variables):
            self.assertAllClose(a, b, atol=1e-5, msg=a.path)
        # After the update the cache holds the new switchers' gates.
        # Compiled and eager gates may use different CPU kernels (oneDNN or
        # not), so they agree to float32 rounding, not bit for bit.
        for layer, gate in zip(cached.switched_layers, cached._gate_cache.gates):
            self.assertAllClose(gate, layer.gate(), atol=1e-5, rtol=1e-5)

    def test_task_phase_refreshes_gates_every_n_steps(self):
        x, y = make_data(n=80)
        model = cached_model(2, keras.optimizers.SGD(0.1))
        switcher = values(model.switcher_variables)
        refreshed = []
        for _ in range(5):
            before = model._gate_cache.gates[0].numpy().copy()
            model.train_on_batch(x[:16], y[:16])
            refreshed.append(not np.array_equal(before, model._gate_cache.gates[0].numpy()))
        self.assertEqual(refreshed, [True, False, True, False, True])
        self.assertFalse(any(changed(switcher, model.switcher_variables)))

    @parameterized.named_parameters(
        ("phases", {}),
        ("concurrent", {"alternate": (1, 0), "concurrent_switcher_updates": 2, "gradient_input": True}),
    )
    def test_cached_model_saves_and_resumes(self, options):
        x, y = make_data(n=96)
        uninterrupted = cached_model(4, keras.optimizers.Adam(1e-3), **options)
        uninterrupted.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
        first = cached_model(4, keras.optimizers.Adam(1e-3), **options)
        first.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
        path = self.get_temp_dir() + "/cached.keras"
        first.save(path)
        resumed = keras.models.load_model(path)
        self.assertEqual((resumed.gate_refresh_steps, resumed.switcher_accumulation_steps), (4, 4))
        self.assertEqual(resumed.concurrent_switcher_updates, options.get("concurrent_switcher_updates"))
        resumed.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        for a, b in zip(uninterrupted.weights, resumed.weights):
            self.assertAllClose(a, b, atol=1e-6, msg=a.path)


class ConcurrentUpdatesTest(testing.TestCase):
    def test_task_steps_update_the_switchers_as_a_switcher_phase_would(self):
        # With the kernels held (task learning rate 0), two task steps'
        # gate gradients make the switcher phase's update of the same data.
        x, y = make_data(n=48)
        concurrent = cached_model(
            100, keras.optimizers.SGD(0.5), task_rate=0.0, alternate=(1, 0), concurrent_switcher_updates=2
        )
        phase = cached_model(2, keras.optimizers.SGD(0.5), task_rate=0.0)
        phase.epochs_seen.assign(1)  # The switcher phase.
        for start in (0, 16, 32):
            logs = concurrent.train_on_batch(x[start : start + 16], y[start : start + 16], return_dict=True)
            self.assertEqual(float(logs["phase"]), 0.0)
        for start in (0, 16):
            phase.train_on_batch(x[start : start + 16], y[start : start + 16])
        self.assertEqual(int(concurrent.switcher_optimizer.iterations.numpy()), 1)
        self.assertEqual(int(concurrent.optimizer.iterations.numpy()), 3)
        for a, b in zip(concurrent.switcher_variables, phase.switcher_variables):
            self.assertAllClose(a, b, atol=1e-6, msg=a.path)

    def test_frozen_switchers_are_not_updated_by_task_steps(self):
        x, y = make_data(n=64)  # Four steps an epoch; updates before steps 3, 5 and 7.
        updates = []
        for freeze in (None, 1):
            model = cached_model(
                100, keras.optimizers.SGD(0.5), alternate=(1, 0), concurrent_switcher_updates=2,
                freeze_switchers_after=freeze,
            )
            model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
            updates.append(int(model.switcher_optimizer.iterations.numpy()))
        # Frozen after epoch 1: the gradients gathered before still make the
        # update before step 5, and nothing is gathered after.
        self.assertEqual(updates, [3, 2])

    def test_the_switcher_reads_the_running_gate_gradient(self):
        x, y = make_data(n=96)
        model = cached_model(
            100, keras.optimizers.SGD(0.5), alternate=(1, 0), concurrent_switcher_updates=2, gradient_input=True
        )
        layer = model.switched_layers[0]
        # Updates before steps 3 and 5; the second one sees a running
        # gradient, so it moves the weight of that input.
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
        self.assertEqual(int(model.switcher_optimizer.iterations.numpy()), 2)
        self.assertGreater(float(np.abs(layer.gate_gradient_average.numpy()).max()), 0.0)
        self.assertNotEqual(float(layer.switcher.gradient_weight.numpy()), 0.0)
        gate = layer.gate()
        layer.gate_gradient_average.assign(-layer.gate_gradient_average)
        self.assertNotAllClose(gate, layer.gate())


def test_invalid_gate_cache_steps_is_an_error():
    with pytest.raises(ValueError, match="gate_cache_steps=0"):
        cached_model(0, keras.optimizers.SGD())


def test_asymmetric_step_alternation():
    schedule = AlternationSchedule(alternate=(3, 1), freeze_switchers_after=2)
    assert [schedule.phase(0, step) for step in range(9)] == ["task"] * 3 + ["switcher"] + ["task"] * 3 + ["switcher", "task"]
    assert schedule.phase(2, 3) == "task"  # Frozen switchers after epoch 2.
    assert AlternationSchedule(alternate=[5]).alternate == 5
