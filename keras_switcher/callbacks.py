"""Callbacks for `SwitchedModel` training."""

import keras


class MultiStepDecay(keras.callbacks.Callback):
    """Multiplies the learning rate of both optimisers at given epochs.

    This is the authors' MNIST schedule (`milestones=(50, 75)`,
    `factor=0.1` over 100 epochs). Plain `keras.callbacks.LearningRateScheduler`
    only reaches `model.optimizer`; this also sets the switcher optimiser's.
    Epochs count from the model's `epochs_seen`, so the decay survives
    saving and reloading.

    Args:
        milestones: Increasing epoch indices at which the rate is multiplied.
        factor: Multiplier applied at each milestone, in `(0, 1]`.

    Example:

    >>> model.fit(data, epochs=100, callbacks=[MultiStepDecay((50, 75))])
    """

    def __init__(self, milestones, factor=0.1):
        super().__init__()
        milestones = tuple(milestones)
        if any(not isinstance(m, int) or m < 0 for m in milestones) or list(
            milestones
        ) != sorted(milestones):
            raise ValueError(
                "Received an invalid value for `milestones`, expected "
                f"increasing non-negative integers. Received: milestones={milestones}"
            )
        if not 0 < factor <= 1:
            raise ValueError(
                "Received an invalid value for `factor`, expected a float in "
                f"(0, 1]. Received: factor={factor}"
            )
        self.milestones = milestones
        self.factor = factor
        self._base_rates = None

    def on_train_begin(self, logs=None):
        if self._base_rates is None:
            epoch = int(self.model.epochs_seen.numpy())
            scale = self.factor ** sum(m <= epoch for m in self.milestones)
            self._base_rates = [
                float(optimizer.learning_rate.numpy()) / scale
                for optimizer in self._optimizers()
            ]

    def on_epoch_begin(self, epoch, logs=None):
        seen = int(self.model.epochs_seen.numpy())
        scale = self.factor ** sum(m <= seen for m in self.milestones)
        for optimizer, base in zip(self._optimizers(), self._base_rates):
            optimizer.learning_rate = base * scale

    def _optimizers(self):
        return [self.model.optimizer, self.model.switcher_optimizer]
