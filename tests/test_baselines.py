import keras
import numpy as np
import pytest

from keras_switcher import baselines, sparsity


def kernels():
    rng = np.random.RandomState(0)
    return [rng.randn(40, 30), 5 * rng.randn(30, 10)]


@pytest.mark.parametrize("method", ["blinded", "uniform", "distribution"])
def test_masks_reach_the_overall_sparsity(method):
    masks = sparsity.magnitude_masks(kernels(), 0.8, method)
    kept = sum(int(m.sum()) for m in masks)
    assert kept == round(0.2 * (1200 + 300))


def test_blinded_uses_one_global_threshold():
    small, large = kernels()
    masks = sparsity.magnitude_masks([small, large], 0.8, "blinded")
    threshold = min(np.abs(k)[m].min() for k, m in zip((small, large), masks))
    for kernel, mask in zip((small, large), masks):
        assert np.all(np.abs(kernel)[~mask] <= threshold)
    # The larger-scale layer keeps a bigger share than the smaller one.
    assert masks[1].mean() > masks[0].mean()


def test_uniform_prunes_each_layer_alike():
    masks = sparsity.magnitude_masks(kernels(), 0.75, "uniform")
    assert [m.mean() for m in masks] == [0.25, 0.25]


def test_distribution_scales_by_each_layers_std():
    small, large = kernels()
    masks = sparsity.magnitude_masks([small, large], 0.75, "distribution")
    # Thresholds in units of each layer's std: same lambda for both layers.
    lam = [np.abs(k)[m].min() / np.std(np.abs(k)) for k, m in zip((small, large), masks)]
    assert abs(lam[0] - lam[1]) < 0.1


def test_masks_stay_fixed_while_retraining():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.05), "mse")
    layers = baselines.prunable_layers(model)
    masks = sparsity.magnitude_masks([l.kernel.numpy() for l in layers], 0.7)
    baselines.apply_masks(layers, masks)
    model.fit(np.random.rand(64, 6), np.random.rand(64, 2), epochs=2, verbose=0)
    for layer, mask in zip(layers, masks):
        assert np.all(layer.kernel.numpy()[~mask] == 0)
        assert np.any(layer.kernel.numpy()[mask] != 0)
    baselines.remove_masks(layers)
    assert all(layer.kernel.constraint is None for layer in layers)


def test_gradual_pruning_reaches_the_target():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(20), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    callback = baselines.GradualMagnitudePruning(0.9, end_epoch=2, method="uniform", frequency=2)
    model.fit(np.random.rand(64, 6), np.random.rand(64, 2), batch_size=8, epochs=3, verbose=0, callbacks=[callback])
    for layer in baselines.prunable_layers(model):
        assert np.isclose((layer.kernel.numpy() == 0).mean(), 0.9, atol=0.02)


@pytest.mark.parametrize("kwargs, name", [({"method": "random"}, "method"), ({"sparsity": 1.0}, "sparsity")])
def test_bad_arguments_are_named(kwargs, name):
    args = {"kernels": kernels(), "sparsity": 0.5, **kwargs}
    with pytest.raises(ValueError, match=f"`{name}`"):
        sparsity.magnitude_masks(**args)


def test_linear_cka_properties():
    rng = np.random.RandomState(0)
    x = rng.randn(50, 8).astype("float32")
    rotation = np.linalg.qr(rng.randn(8, 8))[0].astype("float32")
    assert np.isclose(float(baselines.linear_cka(x, 3 * x @ rotation)), 1.0, atol=1e-5)
    assert float(baselines.linear_cka(x, rng.randn(50, 5).astype("float32"))) < 0.5


def test_cka_penalty_adds_a_loss_and_passes_its_input():
    inputs = keras.Input((5,))
    h1 = keras.layers.Dense(7)(inputs)
    h2 = keras.layers.Dense(4)(h1)
    out = baselines.CKAPenalty(0.5)([h2, h1])
    model = keras.Model(inputs, out)
    x = np.random.rand(16, 5).astype("float32")
    y = model(x)
    assert y.shape == (16, 4)
    assert len(model.losses) == 1 and 0 < float(model.losses[0]) <= 0.5
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((16, 4)), verbose=0)
