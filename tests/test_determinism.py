import keras
import numpy as np

from keras_switcher import UNetSwitcher, datasets
from keras_switcher.applications import LeNet300100


def train_once():
    keras.utils.set_random_seed(7)
    model = LeNet300100(
        input_shape=(8, 8, 1),
        switcher=UNetSwitcher(depth=2, base_channels=2, gate="binary", magnitude_prior=True),
        target_sparsity=0.8,
        alternate=(4, 2),
        gate_cache_steps=2,
    )
    model.compile(optimizer="adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(datasets.load("digits", "train[:512]", 32, seed=7), epochs=2, verbose=0)
    return [np.asarray(layer.mask()) for layer in model.switched_layers], [
        np.asarray(variable) for variable in model.weights
    ]


def test_same_seed_same_masks_and_weights():
    masks, weights = train_once()
    again_masks, again_weights = train_once()
    for first, second in zip(masks, again_masks):
        np.testing.assert_array_equal(first, second)
    assert len(weights) == len(again_weights)
    for first, second in zip(weights, again_weights):
        np.testing.assert_array_equal(first, second)
