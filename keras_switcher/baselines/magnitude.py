"""Magnitude pruning of plain `Dense` models by kernel constraints: a peer.

The package's own magnitude pruning is the `"magnitude"` switcher with
`SparsityRamp`. This module prunes an unswitched `keras.Model` instead, the
way the peers of Stier, Darji & Granitzer (2021) do: the masks of
`keras_switcher.sparsity.magnitude_masks` are held fixed by a kernel
constraint (`apply_masks`), one-shot or with `GradualMagnitudePruning`.
"""

import keras
import numpy as np

from keras_switcher.sparsity import GradualUpdates, cubic_schedule, magnitude_masks
from keras_switcher import keras_internals

def prunable_layers(model):
    """The `Dense` layers of a model, nested ones included."""
    return [
        layer
        for layer in keras_internals.flatten_layers(model)
        if isinstance(layer, keras.layers.Dense)
    ]


def zero_fraction(model):
    """Share of the weights of a model's `Dense` kernels that are zero.

    The sparsity of a magnitude-pruned (or any plain) model, counted from
    its weights.

    Args:
        model: A Keras model.

    Returns:
        A Python float in `[0, 1]`.
    """
    kernels = [keras.ops.convert_to_numpy(layer.kernel) for layer in prunable_layers(model)]
    zeros = sum(int((kernel == 0).sum()) for kernel in kernels)
    return zeros / sum(kernel.size for kernel in kernels)


@keras.saving.register_keras_serializable(package="keras_switcher")
class MaskConstraint(keras.constraints.Constraint):
    """Holds pruned weights at zero after every optimiser update.

    The mask lives in a variable, so a compiled training step sees it change
    when `apply_masks` prunes again.

    Args:
        mask: Boolean or 0/1 array of the kernel's shape.
    """

    def __init__(self, mask):
        self.mask = keras.Variable(
            np.asarray(mask, dtype="float32"), trainable=False, name="pruning_mask"
        )

    def __call__(self, w):
        return w * keras.ops.cast(self.mask, w.dtype)

    def get_config(self):
        return {"mask": keras.ops.convert_to_numpy(self.mask).tolist()}


def apply_masks(layers, masks):
    """Zeroes pruned weights and keeps them at zero during training.

    Args:
        layers: `Dense` layers.
        masks: One boolean array per layer, from `magnitude_masks`.
    """
    for layer, mask in zip(layers, masks):
        constraint = layer.kernel.constraint
        if isinstance(constraint, MaskConstraint):
            constraint.mask.assign(np.asarray(mask, dtype="float32"))
        else:
            constraint = MaskConstraint(mask)
            layer.kernel.constraint = constraint
        layer.kernel.assign(constraint(layer.kernel))


def remove_masks(layers):
    """Removes the mask constraints; pruned weights stay at zero."""
    for layer in layers:
        layer.kernel.constraint = None


class GradualMagnitudePruning(GradualUpdates):
    """Prunes a model's `Dense` layers gradually while it trains.

    Every `frequency` steps between `start_epoch` and `end_epoch` the masks
    are recomputed from the current weights at a sparsity that follows the
    cubic schedule of Zhu & Gupta (2017); after `end_epoch` the last masks
    stay fixed, so the remaining epochs retrain the pruned model.

    Args:
        sparsity: Final fraction of weights removed.
        end_epoch: Epoch at which the final sparsity is reached.
        start_epoch: Epoch at which pruning starts.
        method: One of `"blinded"`, `"uniform"`, `"distribution"`.
        frequency: Steps between mask updates, counted over the whole run,
            or `None` for about five updates per epoch. The masks are also
            updated at the end of every epoch of the schedule, so it
            reaches `sparsity` at `end_epoch` whatever the number of steps
            per epoch.
        layers: The `Dense` layers to prune; default all of the model's.
    """

    def __init__(
        self, sparsity, end_epoch, start_epoch=0, method="blinded", frequency=None, layers=None
    ):
        magnitude_masks([np.ones(1)], sparsity, method)  # Validates both.
        super().__init__(frequency)
        self.sparsity = sparsity
        self.end_epoch = end_epoch
        self.start_epoch = start_epoch
        self.method = method
        self.layers = layers

    def _update(self, epoch):
        """Prunes to the schedule's sparsity at a (fractional) epoch."""
        if self.start_epoch <= epoch <= self.end_epoch:
            progress = (epoch - self.start_epoch) / (self.end_epoch - self.start_epoch)
            self._prune(cubic_schedule(0.0, self.sparsity, progress))

    def _prune(self, sparsity):
        layers = self.layers or prunable_layers(self.model)
        masks = magnitude_masks([layer.kernel.numpy() for layer in layers], sparsity, self.method)
        apply_masks(layers, masks)
        if keras.backend.backend() == "jax":
            # Keras's JAX optimiser reads a constraint's mask as a constant
            # of the compiled step: compile it again with the new masks.
            self.model.make_train_function(force=True)
