"""`SparsityRamp`: the callback that raises the sparsity to the plan's target."""

import keras
import numpy as np
from keras import ops

from keras_switcher.sparsity.schedules import GradualUpdates, cubic_schedule


class SparsityRamp(GradualUpdates):
    """Raises the switchers' sparsity gradually to their targets.

    The sparsity in use follows the cubic schedule of Zhu & Gupta (2017):
    `target + (initial - target) * (1 - progress) ** 3`, with `progress`
    going from 0 at `start_epoch` to 1 at `end_epoch`. It applies to
    switchers built with a `target_sparsity` (an extension) and follows the
    model's `sparsity_plan`: with the `"magnitude"` allocation the overall
    sparsity is ramped and shared among layers by one threshold on the
    kernels' magnitudes, recomputed at each update (with `"learned"` too,
    when the overall sparsity changes, and the next gate refresh re-splits
    it by the switchers' scores); otherwise (or without a
    plan) each layer is ramped to its own switcher's target. Epochs count
    from the model's `epochs_seen`, so a resumed run continues the ramp
    where it stopped.

    Args:
        end_epoch: Epoch at which the target is reached.
        start_epoch: Epoch at which the ramp starts.
        initial: Sparsity at `start_epoch`, in `[0, 1)`.
        frequency: Steps between updates, counted over the whole run, or
            `None` for about five updates per epoch. The sparsity is also
            updated at the end of every epoch, so the ramp reaches its
            target at `end_epoch` whatever the number of steps per epoch.

    Example:

    >>> model = ks.applications.LeNet300100(
    ...     input_shape=(8, 8, 1), switcher="magnitude", target_sparsity=0.9)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    >>> data = ks.datasets.load("digits", "train[:256]", batch_size=64)
    >>> history = model.fit(data, epochs=4, callbacks=[SparsityRamp(end_epoch=2)], verbose=0)
    >>> sparsity = history.history["sparsity"]  # Rising to the target by epoch 2.
    >>> sparsity[0] < 0.85, [round(s, 2) for s in sparsity[1:]]
    (True, [0.9, 0.9, 0.9])
    """

    def __init__(self, end_epoch, start_epoch=0, initial=0.0, frequency=None):
        super().__init__(frequency)
        if not 0 <= start_epoch < end_epoch:
            raise ValueError(
                "Received invalid values for `start_epoch` and `end_epoch`, "
                "expected 0 <= start_epoch < end_epoch. Received: "
                f"start_epoch={start_epoch}, end_epoch={end_epoch}"
            )
        if not 0 <= initial < 1:
            raise ValueError(
                "Received an invalid value for `initial`, expected a float in "
                f"[0, 1). Received: initial={initial}"
            )
        self.end_epoch = end_epoch
        self.start_epoch = start_epoch
        self.initial = initial

    def _first_epoch(self, epoch):
        return int(ops.convert_to_numpy(self.model.epochs_seen))

    def _update(self, epoch):
        """Sets each layer's share of the sparsity at a (fractional) epoch."""
        layers = [
            layer
            for layer in self.model.switched_layers
            if getattr(layer.switcher, "target_sparsity", None) is not None
        ]
        if not layers:
            return
        progress = (epoch - self.start_epoch) / (self.end_epoch - self.start_epoch)
        plan = getattr(self.model, "sparsity_plan", None)
        in_use = np.array([float(layer.switcher.sparsity.numpy()) for layer in layers])
        if plan is not None and plan.allocation in ("magnitude", "learned"):
            overall = cubic_schedule(self.initial, plan.target, progress)
            sizes = np.array([np.prod(layer.kernel.shape) for layer in layers])
            if plan.allocation == "learned" and round(in_use @ sizes) == round(overall * sizes.sum()):
                return  # The overall count holds; the switchers keep their split.
            kernels = [keras.ops.convert_to_numpy(layer.kernel) for layer in layers]
            shares = plan.magnitude_shares(kernels, overall)
        else:
            targets = np.array([layer.switcher.target_sparsity for layer in layers])
            shares = cubic_schedule(self.initial, targets, progress)
        if np.allclose(in_use, shares, rtol=0, atol=1e-7):
            return  # Past the ramp: the cached gates stay valid.
        for layer, share in zip(layers, shares):
            layer.switcher.sparsity.assign(share)
        if hasattr(self.model, "mark_gates_stale"):
            self.model.mark_gates_stale()
