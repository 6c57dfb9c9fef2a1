"""LeNet-300-100 on real MNIST (skipped when ../shared/data/mnist is absent)."""

import keras
import numpy as np

from keras_switcher import UNetSwitcher, datasets, report
from keras_switcher.applications import LeNet300100


def test_lenet300100_learns_mnist_with_switched_off_connections(mnist_dir):
    keras.utils.set_random_seed(0)
    train = datasets.load("mnist", split="train[:6000]", batch_size=128, data_dir=mnist_dir, seed=0)
    test = datasets.load("mnist", split="test", batch_size=2000, data_dir=mnist_dir)
    model = LeNet300100(switcher=UNetSwitcher(depth=2, base_channels=4))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        switcher_optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(train, epochs=4, verbose=0, shuffle=False)
    assert history.history["phase"] == [0.0, 1.0, 0.0, 1.0]
    _, accuracy = model.evaluate(test, verbose=0)
    counted = report(model)
    kept = sum(int(np.sum(layer.mask())) for layer in model.switched_layers)
    assert counted["total"]["kept"] == kept
    assert accuracy > 0.90
    assert counted["total"]["sparsity"] > 0.0
