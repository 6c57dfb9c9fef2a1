"""Every sparsity method is a switcher: the kinds by name, the scoring-rule
base, and what a Keras user pastes. Runs on TensorFlow and (through
test_backends.py) on JAX."""

import keras
import numpy as np
import pytest
from keras import ops
from sklearn.datasets import load_digits

import keras_switcher as ks
from keras_switcher import switchers
from keras_switcher.layers import SwitchedDense

KINDS = sorted(switchers.NAMES)
on_tensorflow = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TFLite export runs on TensorFlow"
)


def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16).astype("float32"), y


def dense_model():
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("name", KINDS)
def test_what_a_keras_user_pastes_reaches_the_target(name):
    # The README's snippet, as written, for every kind.
    keras.utils.set_random_seed(0)
    x, y = digits()
    model = dense_model()
    sparse = ks.switch(model, switcher=name, target_sparsity=0.9)
    sparse.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    sparse.fit(x[:1500], y[:1500], epochs=10, callbacks=[ks.SparsityRamp(end_epoch=5)], verbose=0)
    sparsity = ks.report(sparse)["total"]["sparsity"]
    accuracy = sparse.evaluate(x[1500:], y[1500:], verbose=0)[1]
    assert abs(sparsity - 0.9) < 1e-3, sparsity
    zeros = sum(
        int((ops.convert_to_numpy(layer.kernel * layer.gate()) == 0).sum())
        for layer in sparse.switched_layers
    )
    assert abs(zeros / (64 * 256 + 256 * 10) - 0.9) < 1e-3
    # 10 classes: chance is 0.1. The neuron switcher keeps about one input
    # pixel in ten at this target, which costs it more.
    assert accuracy > (0.3 if name == "neuron" else 0.5), accuracy


def test_weightless_kinds_need_no_switcher_optimizer_and_skip_the_switcher_phase():
    model = ks.switch(dense_model(), switcher="magnitude", target_sparsity=0.5)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert model.switcher_optimizer is None
    assert model.schedule.phases() == ["task"]
    assert model.gate_refresh_steps == ks.models.RULE_REFRESH_STEPS
    unet = ks.switch(dense_model(), switcher=ks.UNetSwitcher(depth=1), target_sparsity=0.5)
    unet.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(unet.switcher_optimizer, keras.optimizers.Adam)  # The documented default.


def test_movement_scores_accumulate_minus_w_times_the_gradient():
    keras.utils.set_random_seed(1)
    x, y = digits()
    model = ks.switch(dense_model(), switcher="movement", target_sparsity=0.5)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    layer = model.switched_layers[0]
    kernel = ops.convert_to_numpy(layer.kernel)
    # With a learning rate of 0 the kernels and cached gates stay; the
    # scores gather -W * dL/d(W * G) over the two steps.
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, shuffle=False, verbose=0)
    twin = dense_model()
    for switched, plain in zip(model.switched_layers, twin.layers):
        plain.kernel.assign(ops.convert_to_numpy(switched.kernel * switched.cached_gate))
        plain.bias.assign(ops.convert_to_numpy(switched.bias))
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    expected = np.zeros_like(kernel)
    for start in (0, 32):
        batch, labels = x[start : start + 32], y[start : start + 32]
        gradient = _gradient(lambda: loss_fn(labels, twin(batch)), twin.layers[0].kernel)
        expected -= kernel * gradient
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer.switcher.movement), expected, atol=1e-6, rtol=1e-4
    )


def _gradient(loss, variable):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = loss()
        return tape.gradient(value, variable.value).numpy()
    if backend == "torch":
        import torch

        return torch.autograd.grad(loss(), variable.value)[0].numpy()
    import jax

    def of(value):
        with keras.StatelessScope(state_mapping=[(variable, value)]):
            return loss()

    return np.asarray(jax.grad(of)(variable.value))


def test_exact_top_k_on_a_kernel_above_two_to_the_24():
    # 4100 x 4100 = 16,810,000 > 2**24 weights with heavy ties (ten values):
    # exactly round(0.75 * n) are switched off, whatever the ties.
    shape = (4100, 4100)
    kernel = ops.convert_to_tensor(
        np.random.RandomState(0).randint(0, 10, size=shape).astype("float32")
    )
    switcher = ks.MagnitudeSwitcher(target_sparsity=0.75)
    switcher.build(shape)
    off = int((ops.convert_to_numpy(switcher(kernel)) == 0).sum())
    assert off == round(0.75 * shape[0] * shape[1])


@keras.saving.register_keras_serializable(package="tests")
class RowWeighted(switchers.Switcher):
    """A rule in a few lines: |w| weighted by its input row's mean |w|."""

    def scores(self, kernel):
        magnitude = ops.abs(kernel)
        return magnitude * ops.mean(magnitude, axis=1, keepdims=True)


def test_a_custom_rule_trains_with_a_target_the_ramp_and_blocks():
    keras.utils.set_random_seed(2)
    x, y = digits()
    rule = RowWeighted(target_sparsity=0.8, gate="binary", block_size=4)
    model = ks.switch(dense_model(), switcher=rule, target_sparsity=0.8, gate_cache_steps=5)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:1000], y[:1000], epochs=3, callbacks=[ks.SparsityRamp(end_epoch=2)], verbose=0)
    assert abs(ks.report(model)["total"]["sparsity"] - 0.8) < 0.01
    mask = ops.convert_to_numpy(model.switched_layers[0].mask())
    blocks = mask.reshape(16, 4, 256)  # 64 inputs: 16 blocks of 4 along the input axis.
    assert np.all(blocks.min(axis=1) == blocks.max(axis=1))
    assert model.evaluate(x[1000:], y[1000:], verbose=0)[1] > 0.5


class WrongShape(switchers.Switcher):
    def scores(self, kernel):
        return ops.sum(kernel, axis=0)


def test_a_rule_with_scores_of_the_wrong_shape_is_refused_at_build():
    layer = SwitchedDense(3, switcher=WrongShape())
    with pytest.raises(ValueError, match=r"WrongShape.*\(5, 3\).*must have shape \(5, 3\).*Received: scores of shape \(3,\)"):
        layer.build((None, 5))


def test_an_unknown_switcher_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="'magnitude', 'movement', 'movement\\+magnitude', 'neuron', 'unet'.*switcher='magnitud'"):
        SwitchedDense(3, switcher="magnitud")


@pytest.mark.parametrize("name", KINDS)
def test_each_kind_saves_reloads_and_strips_with_the_same_outputs(name, tmp_path):
    keras.utils.set_random_seed(3)
    x, y = digits()
    # The U-Net kinds in a light setting: the default network's weight is
    # the snippet test's to pay.
    light = {"depth": 1, "base_channels": 2} if name in ("unet", "neuron") else {}
    model = ks.switch(dense_model(), switcher=switchers.fresh(name, **light), target_sparsity=0.7)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:256], y[:256], epochs=1, verbose=0)
    expected = model.predict(x[:32], verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x[:32], verbose=0), expected, atol=1e-5)
    assert loaded.switched_layers[0].switcher.__class__ is model.switched_layers[0].switcher.__class__
    plain = ks.export.strip(loaded)
    np.testing.assert_allclose(plain.predict(x[:32], verbose=0), expected, atol=1e-5)
    loaded.fit(x[:64], y[:64], epochs=1, verbose=0)  # And continues training.


@on_tensorflow
@pytest.mark.parametrize("name", ["magnitude", "movement"])
def test_weightless_kinds_export_to_tflite_in_blocks(name, tmp_path):
    keras.utils.set_random_seed(4)
    x, y = digits()
    rule = switchers.fresh(name, block_size=4)
    model = ks.switch(dense_model(), switcher=rule, target_sparsity=0.9)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x[:512], y[:512], epochs=2, callbacks=[ks.SparsityRamp(end_epoch=1)], verbose=0)
    path = tmp_path / "model.tflite"
    ks.export.to_tflite(model, path)
    np.testing.assert_allclose(
        ks.export.run_tflite(path, x[:16]), model.predict(x[:16], verbose=0), atol=1e-5
    )
