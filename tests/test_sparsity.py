import numpy as np
import pytest

from keras_switcher import UNetSwitcher, report
from keras_switcher.applications import LeNet300100
from keras_switcher.callbacks import SparsityRamp
from keras_switcher.sparsity import erk_sparsities

SHAPES = [(784, 300), (300, 100), (100, 10)]


@pytest.mark.parametrize("overall", [0.0, 0.5, 0.9, 0.95, 0.98])
def test_erk_reaches_the_overall_sparsity(overall):
    sparsities = erk_sparsities(SHAPES, overall)
    sizes = [a * b for a, b in SHAPES]
    kept = sum((1 - s) * n for s, n in zip(sparsities, sizes))
    assert np.isclose(1 - kept / sum(sizes), overall)
    assert all(0 <= s < 1 for s in sparsities)
    assert sparsities == sorted(sparsities, reverse=True)  # Larger layers sparser.


def test_erk_rejects_a_full_sparsity():
    with pytest.raises(ValueError, match="overall=1"):
        erk_sparsities(SHAPES, 1)


def test_builder_target_sparsity_is_counted_from_the_weights():
    model = LeNet300100(switcher=UNetSwitcher(depth=1, base_channels=2), target_sparsity=0.95)
    assert np.isclose(report(model)["total"]["sparsity"], 0.95, atol=0.001)


def test_sparsity_ramp_raises_the_sparsity_in_use():
    model = LeNet300100(switcher=UNetSwitcher(depth=1, base_channels=2), target_sparsity=0.9, input_shape=(4, 4, 1))
    model.compile(optimizer="adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = np.random.rand(32, 4, 4, 1), np.arange(32) % 10
    ramp = SparsityRamp(end_epoch=2)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[ramp])
    halfway = [float(l.switcher.sparsity.numpy()) for l in model.switched_layers]
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[ramp])
    final = [float(l.switcher.sparsity.numpy()) for l in model.switched_layers]
    targets = [l.switcher.target_sparsity for l in model.switched_layers]
    assert all(0 < h < t for h, t in zip(halfway, targets))
    assert np.allclose(final, targets)


def test_sparsity_ramp_rejects_an_empty_window():
    with pytest.raises(ValueError, match="start_epoch=3, end_epoch=3"):
        SparsityRamp(end_epoch=3, start_epoch=3)


def test_magnitude_allocation_splits_like_a_global_threshold():
    model = LeNet300100(switcher=UNetSwitcher(depth=1, base_channels=2, gate="binary", magnitude_prior=True),
                        target_sparsity=0.9, input_shape=(8, 8, 1))
    model.compile(optimizer="adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy")
    ramp = SparsityRamp(end_epoch=1, allocation="magnitude")
    model.fit(np.random.rand(16, 8, 8, 1), np.arange(16) % 10, batch_size=16, epochs=2, verbose=0, callbacks=[ramp])
    ramp.on_train_batch_begin(0)  # Past the ramp: the full target, split on today's weights.
    kernels = [np.abs(l.kernel.numpy()) for l in model.switched_layers]
    threshold = np.quantile(np.concatenate([k.ravel() for k in kernels]), 0.9)
    for layer, kernel in zip(model.switched_layers, kernels):
        assert np.isclose(float(layer.switcher.sparsity.numpy()), (kernel <= threshold).mean(), atol=1e-6)
    assert np.isclose(report(model)["total"]["sparsity"], 0.9, atol=0.01)


@pytest.mark.parametrize("epochs, frequency", [(1, 100), (2, 7)])
def test_ramp_reaches_its_target_at_its_end_epoch_whatever_the_steps_per_epoch(epochs, frequency):
    from keras_switcher import training

    model = training.build_model("lenet300100", (8, 8, 1), epochs, setting="recommended")
    x = np.random.RandomState(0).rand(92, 8, 8, 1).astype("float32")  # 23 steps of 4.
    y = np.arange(92) % 10
    ramp = SparsityRamp(end_epoch=epochs, allocation="magnitude", frequency=frequency)
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[ramp])
    assert np.isclose(report(model)["total"]["sparsity"], 0.9, atol=0.002)
