import keras
import numpy as np
import pytest


from keras_switcher import SparsityPlan, SwitchedModel, UNetSwitcher, report, switch
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
                        target_sparsity=SparsityPlan(0.9, "magnitude"), input_shape=(8, 8, 1))
    model.compile(optimizer="adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy")
    ramp = SparsityRamp(end_epoch=1)
    model.fit(np.random.rand(16, 8, 8, 1), np.arange(16) % 10, batch_size=16, epochs=2, verbose=0, callbacks=[ramp])
    ramp.on_train_batch_begin(0)  # Past the ramp: the full target, split on today's weights.
    kernels = [np.abs(l.kernel.numpy()) for l in model.switched_layers]
    everything = np.sort(np.concatenate([k.ravel() for k in kernels]))
    smallest_kept = everything[-round(0.1 * everything.size)]
    for layer, kernel in zip(model.switched_layers, kernels):
        assert np.isclose(float(layer.switcher.sparsity.numpy()), (kernel < smallest_kept).mean(), atol=1e-6)
    assert np.isclose(report(model)["total"]["sparsity"], 0.9, atol=0.01)


def test_plan_targets_per_allocation():
    assert SparsityPlan(0.9, "uniform").layer_targets(SHAPES) == [0.9, 0.9, 0.9]
    assert SparsityPlan(0.95, "erk").layer_targets(SHAPES) == erk_sparsities(SHAPES, 0.95)
    assert SparsityPlan(0.95, "magnitude").layer_targets(SHAPES) == erk_sparsities(SHAPES, 0.95)
    plan = SparsityPlan(0.8, "uniform")
    assert SparsityPlan.from_config(plan.get_config()) == plan


def test_a_plan_reaches_the_layers_the_same_way_from_a_builder_and_from_switch():
    plan = SparsityPlan(0.9, "uniform")
    switcher = UNetSwitcher(depth=1, base_channels=2)
    built = LeNet300100(switcher=switcher, target_sparsity=plan, input_shape=(8, 8, 1))
    dense = LeNet300100(switched=False, input_shape=(8, 8, 1))
    switched = switch(dense, switcher=switcher, target_sparsity=plan)
    for model in (built, switched):
        assert model.sparsity_plan == plan
        assert [l.switcher.target_sparsity for l in model.switched_layers] == [0.9, 0.9, 0.9]
        assert np.isclose(report(model)["total"]["sparsity"], 0.9, atol=0.002)
    restored = SwitchedModel.from_config(built.get_config())
    assert restored.sparsity_plan == plan


@pytest.mark.parametrize("epochs, frequency", [(1, 100), (2, 7)])
def test_ramp_reaches_its_target_at_its_end_epoch_whatever_the_steps_per_epoch(epochs, frequency):
    from keras_switcher import training

    model = training.build_model("lenet300100", (8, 8, 1), epochs, setting="recommended")
    x = np.random.RandomState(0).rand(92, 8, 8, 1).astype("float32")  # 23 steps of 4.
    y = np.arange(92) % 10
    assert model.sparsity_plan == SparsityPlan(0.9, "magnitude")
    ramp = SparsityRamp(end_epoch=epochs, frequency=frequency)
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, callbacks=[ramp])
    assert np.isclose(report(model)["total"]["sparsity"], 0.9, atol=0.002)



@pytest.mark.parametrize("switched", [True, False])
def test_validation_sees_the_model_the_epoch_ends_with(switched):
    # The schedule's last update of an epoch comes before `fit` validates,
    # so the logged validation loss is the loss of the model a checkpoint saves.
    from keras_switcher import baselines

    if switched:
        model = LeNet300100(switcher=UNetSwitcher(depth=1, base_channels=2), target_sparsity=0.9, input_shape=(4, 4, 1))
        model.compile(optimizer="adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy")
        callback = SparsityRamp(end_epoch=1)
        sparsity = lambda: report(model)["total"]["sparsity"]
    else:
        model = LeNet300100(switched=False, input_shape=(4, 4, 1))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        callback = baselines.GradualMagnitudePruning(0.9, end_epoch=1)
        sparsity = lambda: baselines.zero_fraction(model)
    x, y = np.random.RandomState(0).rand(64, 4, 4, 1), np.arange(64) % 10
    history = model.fit(x, y, batch_size=16, epochs=1, validation_data=(x, y), verbose=0, callbacks=[callback])
    assert np.isclose(sparsity(), 0.9, atol=0.002)
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


def _learned_split_model(target=0.9, **model_kwargs):
    switcher = UNetSwitcher(depth=1, base_channels=2, gate="binary", magnitude_prior=True)
    return LeNet300100(switcher=switcher, target_sparsity=SparsityPlan(target, "learned"),
                       input_shape=(8, 8, 1), gate_cache_steps=2, **model_kwargs)


def test_learned_allocation_starts_as_one_threshold_on_the_magnitudes():
    # A fresh switcher with the magnitude prior scores each connection by
    # its magnitude, so one threshold on the shared scores is class-blinded
    # magnitude pruning, and the overall count is kept exactly.
    model = _learned_split_model(0.95)
    model._gate_cache.refresh()
    kernels = [np.abs(l.kernel.numpy()) for l in model.switched_layers]
    everything = np.sort(np.concatenate([k.ravel() for k in kernels]))
    largest_off = everything[round(0.95 * everything.size) - 1]
    for layer, kernel in zip(model.switched_layers, kernels):
        assert np.isclose(float(layer.switcher.sparsity.numpy()), (kernel <= largest_off).mean(), atol=1e-6)
        assert np.array_equal(layer.cached_gate.numpy() > 0, kernel > largest_off)
    assert report(model)["total"]["kept"] == everything.size - round(0.95 * everything.size)


def test_learned_allocation_follows_the_switchers_scores():
    # Raising one layer's scores (its switcher's output offset) moves
    # budget to it, while the overall count stays.
    model = _learned_split_model(0.9)
    model._gate_cache.refresh()
    before = [float(l.switcher.sparsity.numpy()) for l in model.switched_layers]
    kept = report(model)["total"]["kept"]
    _, _, beta = model.switched_layers[1].switcher._output_block
    beta.assign(beta.numpy() + 1.0)
    model._gate_cache.refresh()
    after = [float(l.switcher.sparsity.numpy()) for l in model.switched_layers]
    assert after[1] < before[1] and after[0] > before[0]
    # Each switcher's own float32 quantile may keep one connection more or less.
    assert abs(report(model)["total"]["kept"] - kept) <= len(after)


def test_learned_allocation_keeps_its_split_through_training_and_the_ramp():
    keras.utils.set_random_seed(0)
    model = _learned_split_model(0.9, alternate=(1, 0), concurrent_switcher_updates=1)
    model.compile(optimizer="adam", switcher_optimizer=keras.optimizers.Adam(0.5),
                  loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).random((64, 8, 8, 1)), np.arange(64) % 10
    ramp = SparsityRamp(end_epoch=1)
    model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[ramp])
    split = [float(l.switcher.sparsity.numpy()) for l in model.switched_layers]
    kernels = [np.abs(l.kernel.numpy()) for l in model.switched_layers]
    shares = model.sparsity_plan.magnitude_shares(kernels, 0.9)
    assert not np.allclose(split, shares, atol=1e-4)  # The switchers moved it.
    ramp.on_train_batch_begin(0)  # Past the ramp, the overall holds: the split stays.
    assert np.allclose([float(l.switcher.sparsity.numpy()) for l in model.switched_layers], split)
    assert np.isclose(report(model)["total"]["sparsity"], 0.9, atol=1e-4)


def test_learned_allocation_survives_saving(tmp_path):
    model = _learned_split_model(0.9)
    model.compile(optimizer="adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy")
    _, _, beta = model.switched_layers[1].switcher._output_block
    beta.assign(beta.numpy() + 1.0)
    model._gate_cache.refresh()
    path = str(tmp_path / "learned.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.sparsity_plan == SparsityPlan(0.9, "learned")
    assert loaded._gate_cache.shared_threshold
    for original, copy in zip(model.switched_layers, loaded.switched_layers):
        assert float(copy.switcher.sparsity.numpy()) == float(original.switcher.sparsity.numpy())
        assert np.array_equal(keras.ops.convert_to_numpy(copy.mask()), keras.ops.convert_to_numpy(original.mask()))
