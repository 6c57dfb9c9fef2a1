"""Schedules that raise the sparsity in use gradually during training."""

import keras


UPDATES_PER_EPOCH = 5


def update_period(frequency, steps_per_epoch):
    """Steps between two updates of a gradual sparsity schedule.

    Args:
        frequency: A positive number of steps, or `None` for about
            `UPDATES_PER_EPOCH` updates per epoch: a schedule that moves once
            per epoch on a short epoch (23 steps of the 8x8 digits) removes
            connections in large jumps that the weights cannot follow.
        steps_per_epoch: Steps in an epoch, or `None` if unknown (then
            `None` gives 100).

    Returns:
        A positive integer.
    """
    if frequency is not None:
        return frequency
    if not steps_per_epoch:
        return 100
    return max(1, round(steps_per_epoch / UPDATES_PER_EPOCH))


def check_frequency(frequency):
    """Raises unless `frequency` is `None` or a positive integer."""
    if frequency is not None and (
        not isinstance(frequency, int) or isinstance(frequency, bool) or frequency <= 0
    ):
        raise ValueError(
            "Received an invalid value for `frequency`, expected None (about "
            f"{UPDATES_PER_EPOCH} updates per epoch) or a positive integer. "
            f"Received: frequency={frequency!r}"
        )


def cubic_schedule(initial, final, progress):
    """The sparsity in use at a point of a gradual pruning schedule.

    The cubic schedule of Zhu & Gupta (2017): it falls fast at first and
    levels off at the end, `final + (initial - final) * (1 - progress) ** 3`.

    Args:
        initial: Sparsity at the start (a float or a NumPy array).
        final: Sparsity at the end, of the same kind.
        progress: Fraction of the schedule done; clipped to `[0, 1]`.

    Returns:
        The sparsity in use, of the kind of `initial` and `final`.

    Example:

    >>> cubic_schedule(0.0, 0.9, 0.5)
    0.7875
    """
    remaining = (1.0 - min(max(progress, 0.0), 1.0)) ** 3
    return final + (initial - final) * remaining


class GradualUpdates(keras.callbacks.Callback):
    """Base of callbacks that move a sparsity along a schedule during `fit`.

    Calls `_update(epoch)`, with the (fractional) epoch reached, every
    `frequency` steps counted over the whole run and once more when an
    epoch's training steps are done, so a schedule reaches its end whatever
    the epoch's length. That last update comes before `fit` validates, so
    the validation metrics describe the model the epoch ends with (the one
    a checkpoint callback saves).
    Subclasses implement `_update`; `_first_epoch` says which epoch an
    epoch of this `fit` is (by default `fit`'s own count).

    Args:
        frequency: `None` or a positive integer, see `update_period`.
    """

    def __init__(self, frequency=None):
        super().__init__()
        check_frequency(frequency)
        self.frequency = frequency
        self._steps_taken = 0
        self._epoch_start = 0
        self._epoch_pending = False

    def _first_epoch(self, epoch):
        return epoch

    def on_train_begin(self, logs=None):
        self._steps_taken = 0
        self._period = update_period(self.frequency, self.params.get("steps"))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self._first_epoch(epoch)
        self._epoch_pending = True

    def on_train_batch_begin(self, batch, logs=None):
        if self._steps_taken % self._period == 0:
            steps = self.params.get("steps") or 1
            self._sync_backend_state()
            self._update(self._epoch_start + min(batch / steps, 1.0))
        self._steps_taken += 1

    def on_test_begin(self, logs=None):
        # Inside `fit`, validation starts once the epoch's steps are done.
        self._finish_epoch()

    def on_epoch_end(self, epoch, logs=None):
        self._finish_epoch()

    def _finish_epoch(self):
        if self._epoch_pending:
            self._epoch_pending = False
            self._sync_backend_state()
            self._update(self._epoch_start + 1.0)

    def _sync_backend_state(self):
        # On JAX, `fit` holds the variables in a state of its own during an
        # epoch; a callback that changes variables first writes that state
        # back (Keras's `jax_state_sync`), and the next step reads them again.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
