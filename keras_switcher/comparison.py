"""Baselines trained beside a switched model: the plain model and magnitude pruning.

They answer what a user asks first of a switched model: what does the
sparsity cost against the same model with plain `Dense` layers, and does
the switcher beat class-blinded gradual magnitude pruning at the same
sparsity? Both baselines use the builder, setting, data, epochs, batch size
and learning-rate decay of the switched run, and the magnitude pruning
follows the same cubic ramp to the same share of connections.
"""

import time

import keras
import numpy as np

from keras_switcher import training
from keras_switcher.baselines import GradualMagnitudePruning, zero_fraction


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every epoch in `seconds`.

    Example:

    >>> model = ks.applications.LeNet300100(input_shape=(8, 8, 1), switcher="magnitude")
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> data = ks.datasets.load("digits", "train[:256]", batch_size=64)
    >>> timer = EpochTimer()
    >>> history = model.fit(data, epochs=3, callbacks=[timer], verbose=0)
    >>> len(timer.seconds), timer.steady_seconds() > 0  # Median epoch, the first (tracing) one left out.
    (3, True)
    """

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)

    def steady_seconds(self):
        """Median epoch time, leaving out the first (tracing) epoch when possible."""
        return float(np.median(self.seconds[1:] or self.seconds))


def baseline_runs(
    builder_name,
    input_shape,
    classes,
    setting,
    epochs,
    train_data,
    test_images,
    test_labels,
    sparsity,
    validation_data=None,
    decay_at=(0.5, 0.75),
    learning_rate=None,
    task_optimizer=None,
):
    """Trains the plain model and class-blinded magnitude pruning.

    Args:
        builder_name: A key of `keras_switcher.training.BUILDERS`.
        input_shape: Image shape without the batch axis.
        classes: Number of classes.
        setting: A key of `keras_switcher.training.SETTINGS`: its
            initializer, bias, optimiser, learning rate and ramp are used.
        epochs: Number of epochs.
        train_data: Batched training data, as for `fit`.
        test_images: Test images, an array.
        test_labels: Test labels, an array of class indices.
        sparsity: Fraction of the fully connected connections magnitude
            pruning removes (the switched model's counted sparsity).
        validation_data: Optional validation data, as for `fit`.
        decay_at: Fractions of the epochs at which the rate drops tenfold.
        learning_rate: Task learning rate; `None` keeps the setting's.
        task_optimizer: A key of `keras_switcher.training.TASK_OPTIMIZERS`;
            `None` keeps the setting's optimiser.

    Returns:
        Two dicts, `"dense"` then `"magnitude (class-blinded)"`, each with
        `method`, `test_correct`, `test_accuracy`, `sparsity` (counted from
        the kernels), `seconds_per_epoch` and `history`.
    """
    ramp_end = training.ramp_end_epoch(setting, epochs) or max(epochs // 2, 1)
    rows = []
    for method in ("dense", "magnitude (class-blinded)"):
        model = training.build_model(
            builder_name, input_shape, epochs, classes=classes, setting=setting,
            switched=False, learning_rate=learning_rate, task_optimizer=task_optimizer,
        )
        timer = EpochTimer()
        callbacks = [training.decay(epochs, decay_at), timer]
        if method != "dense":
            callbacks.append(
                GradualMagnitudePruning(sparsity, end_epoch=ramp_end)
            )
        history = model.fit(
            train_data, epochs=epochs, validation_data=validation_data, callbacks=callbacks,
            shuffle=False, verbose=0,
        )
        predictions = model.predict(test_images, batch_size=1000, verbose=0)
        correct = int(np.sum(np.argmax(predictions, -1) == test_labels))
        rows.append(
            {
                "method": method,
                "test_correct": correct,
                "test_accuracy": correct / len(test_labels),
                "sparsity": zero_fraction(model),
                "seconds_per_epoch": timer.steady_seconds(),
                "history": {key: [float(v) for v in values] for key, values in history.history.items()},
            }
        )
    return rows


def format_comparison(rows):
    """Formats comparison rows (the switched run's and the baselines') as a table.

    Args:
        rows: Dicts with `method`, `test_accuracy`, `sparsity` and
            `seconds_per_epoch`; the first is the switched run, against
            which times are given as ratios.

    Returns:
        A multi-line string.
    """
    header = f"{'method':<28}{'test accuracy':>15}{'sparsity':>10}{'s/epoch':>9}{'time':>8}"
    lines = [header, "-" * len(header)]
    dense = next((row for row in rows if row["method"] == "dense"), None)
    for row in rows:
        ratio = row["seconds_per_epoch"] / dense["seconds_per_epoch"] if dense else 1.0
        lines.append(
            f"{row['method']:<28}{row['test_accuracy']:>15.2%}{row['sparsity']:>10.2%}"
            f"{row['seconds_per_epoch']:>9.2f}{ratio:>7.2f}x"
        )
    return "\n".join(lines)
