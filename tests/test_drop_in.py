"""Switched layers as drop-ins for `Dense` in a user's own model: cloning,
nested models and `EinsumDense`, inference at the stripped model's cost,
schedules on small datasets, callbacks, weights from `Dense`, and the
refusals of quantization and LoRA. Backend-agnostic: `test_backends.py`
runs them on JAX too."""

import keras
import numpy as np
import pytest

import keras_switcher as ks
from keras_switcher import SwitchedDense, SwitchedEinsumDense, SwitchedModel
from keras_switcher.export import strip


def data(n=64, features=4, outputs=2, seed=0):
    rng = np.random.RandomState(seed)
    return rng.rand(n, features).astype("float32"), rng.rand(n, outputs).astype("float32")


def small_model(switcher="magnitude", **model_kwargs):
    inputs = keras.Input((4,))
    hidden = SwitchedDense(8, activation="relu", switcher=switcher, name="hidden")(inputs)
    outputs = SwitchedDense(2, switcher=ks.switchers.fresh(switcher), name="out")(hidden)
    return SwitchedModel(inputs, outputs, **model_kwargs)


def tiny_unet(**kwargs):
    return ks.UNetSwitcher(depth=1, base_channels=2, **kwargs)


def nested_dense_model():
    """A functional model whose feed-forward block is a nested `Sequential`
    (as in the keras.io Transformer example) and a nested functional model."""
    block_inputs = keras.Input((6,))
    block = keras.Model(block_inputs, keras.layers.Dense(6, name="inner_proj")(block_inputs), name="block")
    ffn = keras.Sequential([keras.layers.Dense(12, activation="relu", name="ffn_1"), keras.layers.Dense(6, name="ffn_2")], name="ffn")
    inputs = keras.Input((6,))
    x = ffn(inputs)
    x = block(x)
    outputs = keras.layers.Dense(3, name="head")(x)
    return keras.Model(inputs, outputs)


def test_clone_model_keeps_every_switched_model_argument():
    model = small_model(
        alternate=(5, 2), warmup_epochs=1, gate_refresh_steps=7, sparsity_plan=None
    )
    for clone in (
        keras.models.clone_model(model),
        keras.models.clone_model(model, clone_function=lambda layer: layer.__class__.from_config(layer.get_config())),
    ):
        assert isinstance(clone, SwitchedModel)
        config, expected = clone.get_config(), model.get_config()
        for key in ("alternate", "warmup_epochs", "freeze_switchers_after", "gate_refresh_steps",
                    "switcher_accumulation_steps", "concurrent_switcher_updates", "sparsity_plan"):
            assert config[key] == expected[key], key


def test_switch_reaches_nested_models_and_says_which_layers(capsys):
    model = nested_dense_model()
    switched = ks.switch(model, switcher="magnitude", target_sparsity=0.5)
    printed = capsys.readouterr().out
    assert "4 of 4 Dense and EinsumDense layers switched" in printed
    for name in ("ffn_1", "ffn_2", "inner_proj", "head"):
        assert name in printed
    assert sorted(layer.name for layer in switched.switched_layers) == [
        "ffn_1", "ffn_2", "head", "inner_proj"
    ]
    x = np.random.RandomState(0).rand(5, 6).astype("float32")
    # With the gates open (sparsity 0) the switched model is the original.
    for layer in switched.switched_layers:
        layer.switcher.sparsity.assign(0.0)
    switched.mark_serving_gates_stale()
    np.testing.assert_allclose(switched.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    plain = strip(switched)
    assert not ks.reporting.switched_layers(plain)
    np.testing.assert_allclose(plain.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_switch_warns_about_layers_inside_other_layers():
    inputs = keras.Input((5, 8))
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="attention")(inputs, inputs)
    outputs = keras.layers.Dense(2, name="head")(keras.layers.GlobalAveragePooling1D()(x))
    with pytest.warns(UserWarning, match=r"left 4 layers inside other layers.*attention/query"):
        switched = ks.switch(keras.Model(inputs, outputs), switcher="magnitude", verbose=False)
    assert [layer.name for layer in switched.switched_layers] == ["head"]


def test_einsum_dense_is_switched_trained_and_stripped():
    inputs = keras.Input((5, 8))
    x = keras.layers.EinsumDense("abc,cde->abde", (5, 2, 4), bias_axes="de", name="proj")(inputs)
    x = keras.layers.Reshape((5, 8))(x)
    outputs = keras.layers.Dense(2, name="head")(keras.layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    switched = ks.switch(model, switcher="magnitude", target_sparsity=0.75, verbose=False)
    projection = switched.get_layer("proj")
    assert isinstance(projection, SwitchedEinsumDense)
    assert projection.gate_shape == (8, 8)
    np.testing.assert_array_equal(np.asarray(projection.kernel), np.asarray(model.get_layer("proj").kernel))
    x_train = np.random.RandomState(0).rand(32, 5, 8).astype("float32")
    y_train = np.random.RandomState(1).rand(32, 2).astype("float32")
    switched.compile("adam", loss="mse")
    history = switched.fit(x_train, y_train, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert abs(ks.report(switched)["total"]["sparsity"] - 0.75) < 0.01
    plain = strip(switched)
    assert type(plain.get_layer("proj")) is keras.layers.EinsumDense
    kernel = np.asarray(plain.get_layer("proj").kernel)
    share = ks.report(switched)["layers"][0]["sparsity"]
    assert (kernel == 0).mean() == pytest.approx(share, abs=1e-6)
    np.testing.assert_allclose(plain.predict(x_train, verbose=0), switched.predict(x_train, verbose=0), atol=1e-5)


def test_strip_refuses_switched_layers_it_cannot_reach():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = SwitchedDense(3, switcher="magnitude")

        def call(self, x):
            return self.dense(x)

    inputs = keras.Input((4,))
    model = keras.Model(inputs, Block(name="block")(inputs))
    with pytest.raises(ValueError, match="switched layers inside other layers.*block"):
        strip(model)


def test_predict_uses_the_serving_gate_without_running_the_switcher():
    model = small_model(switcher=tiny_unet(), alternate=2)
    x, y = data()
    model.compile("adam", loss="mse")
    expected = keras.ops.convert_to_numpy(model(x))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)
    # Fresh serving gates: the switchers are not called again.
    calls = []
    for layer in model.switched_layers:
        original = layer.switcher.call
        layer.switcher.call = lambda *a, _original=original, **k: calls.append(1) or _original(*a, **k)
    model.predict_on_batch(x[:8])
    model.evaluate(x, y, verbose=0)
    assert not calls
    # Training changes the weights; the next predict follows them.
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    after = model.predict(x, verbose=0)
    assert calls  # Recomputed once per layer, then served.
    np.testing.assert_allclose(after, keras.ops.convert_to_numpy(model(x)), atol=1e-5)
    assert np.abs(after - expected).max() > 1e-4


def test_validation_during_fit_sees_the_epochs_weights():
    model = small_model(switcher="movement")
    x, y = data()
    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=16, validation_data=(x, y), verbose=0)
    assert len(set(np.round(history.history["val_loss"], 6))) == 3
    np.testing.assert_allclose(history.history["val_loss"][-1], model.evaluate(x, y, verbose=0), rtol=1e-5)


def test_assigning_a_kernel_by_hand_needs_mark_serving_gates_stale():
    model = small_model()
    x, _ = data()
    model.predict(x, verbose=0)
    kernel = model.get_layer("out").kernel
    kernel.assign(np.asarray(kernel) * 2)
    model.mark_serving_gates_stale()
    np.testing.assert_allclose(model.predict(x, verbose=0), keras.ops.convert_to_numpy(model(x)), atol=1e-5)


def test_recommended_schedule_trains_the_switcher_on_12_step_epochs():
    """`recommended` alternates (200, 20) steps and freezes at 75% of the
    epochs; on 12-step epochs its cycle is fitted to one epoch."""
    setting = ks.training.SETTINGS["recommended"]
    epochs = 4
    inputs = keras.Input((4,))
    outputs = SwitchedDense(2, switcher=tiny_unet(gate="binary", magnitude_prior=True, target_sparsity=0.5))(inputs)
    model = SwitchedModel(
        inputs,
        outputs,
        alternate=setting.alternate,
        gate_cache_steps=setting.gate_cache_steps,
        freeze_switchers_after=ks.training.freeze_epoch("recommended", epochs),
        fit_alternation_to_epoch=setting.fit_alternation_to_epoch,
    )
    model.compile("adam", switcher_optimizer="adam", loss="mse")
    before = [np.asarray(v) for v in model.switcher_variables]
    x, y = data(n=96)
    history = model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    assert model.schedule.cycle == (11, 1)
    assert model.get_config()["fit_alternation_to_epoch"]
    assert any(not np.allclose(a, np.asarray(b)) for a, b in zip(before, model.switcher_variables))
    assert int(model.steps_seen.numpy()) == 48
    assert history.history["phase"]  # Logged every epoch.


def test_reduce_lr_on_plateau_lowers_both_rates():
    model = small_model(switcher=tiny_unet(), alternate=2)
    x, y = data()
    model.compile(keras.optimizers.SGD(0.0), switcher_optimizer=keras.optimizers.SGD(0.02), loss="mse")
    model.optimizer.learning_rate.assign(0.01)
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    model.fit(x, y, epochs=2, batch_size=32, callbacks=[plateau], verbose=0)
    task, switcher = (float(np.asarray(o.learning_rate)) for o in (model.optimizer, model.switcher_optimizer))
    assert task == pytest.approx(0.005)  # Halved once, after the second epoch.
    assert switcher == pytest.approx(0.01)


def test_early_stopping_restores_weights_but_not_the_schedule():
    model = small_model(switcher=tiny_unet(), alternate=2)
    x, y = data()
    model.compile(keras.optimizers.SGD(0.05), switcher_optimizer="sgd", loss="mse")
    stopping = keras.callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=10.0, restore_best_weights=True)
    model.fit(x, y, epochs=5, batch_size=32, callbacks=[stopping], verbose=0)
    assert int(model.epochs_seen.numpy()) == 2
    assert int(model.steps_seen.numpy()) == 4
    assert len(model.get_weights()) == len(model.weights) - 2 - 2  # Counters, serving kernels.


def test_weights_of_a_dense_layer_and_model_are_taken():
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="hidden"), keras.layers.Dense(2, name="out")])
    switched = small_model(switcher=tiny_unet())
    layer = switched.get_layer("out")
    layer.set_weights(dense.get_layer("out").get_weights())
    np.testing.assert_array_equal(np.asarray(layer.kernel), np.asarray(dense.get_layer("out").kernel))
    with pytest.raises(ValueError, match="not compatible"):
        layer.set_weights(dense.get_layer("hidden").get_weights())


def test_a_dense_models_weights_file_loads_into_its_switched_twin(tmp_path):
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    dense = keras.Model(inputs, keras.layers.Dense(2, name="out")(hidden))
    path = str(tmp_path / "dense.weights.h5")
    dense.save_weights(path)
    switched = small_model(switcher=tiny_unet())
    switcher_weights = [np.asarray(v) for v in switched.switcher_variables]
    switched.load_weights(path)
    for name in ("hidden", "out"):
        np.testing.assert_array_equal(np.asarray(switched.get_layer(name).kernel), np.asarray(dense.get_layer(name).kernel))
    for before, variable in zip(switcher_weights, switched.switcher_variables):
        np.testing.assert_array_equal(before, np.asarray(variable))


def test_quantization_and_lora_are_refused_with_what_to_do():
    model = small_model()
    with pytest.raises(NotImplementedError, match=r"strip\(model\)` first"):
        model.quantize("int8")
    with pytest.raises(NotImplementedError, match="cannot take LoRA"):
        model.get_layer("out").enable_lora(2)
    with pytest.raises(ValueError, match="Received lora_rank=4.*strip"):
        SwitchedDense(3, lora_rank=4)
    # A Dense layer's config is taken as it is.
    layer = SwitchedDense(**keras.layers.Dense(3, name="from_dense").get_config())
    assert layer.units == 3
    # The stripped model is plain Keras, and quantizes.
    plain = strip(model)
    plain.quantize("int8")
    assert plain.get_layer("out").quantization_mode == "int8"
