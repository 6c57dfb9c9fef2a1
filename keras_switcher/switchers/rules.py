"""Switchers without a network: magnitude and movement pruning as scoring rules."""

import keras
from keras import ops

from keras_switcher.switchers.base import Switcher, check_non_negative_float, standardise


@keras.saving.register_keras_serializable(package="keras_switcher")
class MagnitudeSwitcher(Switcher):
    """Magnitude pruning as a switcher: a connection's score is `|w|`.

    It has no weights, so it needs no switcher optimiser and its model has
    no switcher phase. With `SparsityRamp` it is gradual magnitude pruning
    (Zhu & Gupta, 2017); the sparsity plan's allocation decides how layers
    share the target: `"magnitude"` is class-blinded (one threshold over all
    layers), `"uniform"` class-uniform, `"erk"` Erdős–Rényi shares. With
    blocks, a block's score is its mean `|w|` (its L1 norm over its size).

    Args:
        target_sparsity: As in `Switcher`. `None` keeps every connection
            that is not exactly zero.
        gate: As in `Switcher`; `"binary"` (the default) is the mask of
            magnitude pruning.
        block_size: As in `Switcher`.
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    >>> switcher = MagnitudeSwitcher(target_sparsity=0.5)
    >>> gate = switcher(keras.ops.convert_to_tensor([[1.0, -3.0], [0.5, 2.0]]))
    >>> keras.ops.convert_to_numpy(gate).tolist()
    [[0.0, 1.0], [0.0, 1.0]]
    """

    def __init__(self, target_sparsity=None, gate="binary", block_size=1, **kwargs):
        super().__init__(target_sparsity=target_sparsity, gate=gate, block_size=block_size, **kwargs)

    def scores(self, kernel):
        return ops.abs(kernel)


@keras.saving.register_keras_serializable(package="keras_switcher")
class MovementSwitcher(Switcher):
    """Movement pruning as a switcher (Sanh, Wolf & Rush, 2020).

    A connection's score is the sum, over the task steps so far, of
    `-w * dL/dw'`, where `w' = w * gate` is the weight the layer uses:
    weights moving away from zero gain, weights moving towards it lose.
    The layer hands it the loss gradient with respect to its gate after
    every task step (`observe`), which is exactly `w * dL/dw'`; so it needs
    cached gates, which a model of weightless switchers has by default.

    With `magnitude_weight > 0` the score mixes in the magnitude:
    `z(movement) + magnitude_weight * z(|w|)`, each standardised over the
    layer (the `"movement+magnitude"` switcher). That helps when a trained
    model is fine-tuned briefly, before the movement has built up.

    Args:
        magnitude_weight: Non-negative float, weight of `z(|w|)`; `0` is
            plain movement pruning.
        target_sparsity: As in `Switcher`.
        gate: As in `Switcher`; `"binary"` by default.
        block_size: As in `Switcher`.
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    >>> switcher = MovementSwitcher(target_sparsity=0.5)
    >>> switcher.build((2, 2))
    >>> switcher.observe(keras.ops.convert_to_tensor([[1.0, -1.0], [2.0, -2.0]]))
    >>> keras.ops.convert_to_numpy(switcher(keras.ops.ones((2, 2)))).tolist()
    [[0.0, 1.0], [0.0, 1.0]]
    """

    observes_task_gradient = True

    def __init__(self, magnitude_weight=0.0, target_sparsity=None, gate="binary", block_size=1, **kwargs):
        super().__init__(target_sparsity=target_sparsity, gate=gate, block_size=block_size, **kwargs)
        self.magnitude_weight = check_non_negative_float("magnitude_weight", magnitude_weight)

    def build(self, kernel_shape):
        super().build(kernel_shape)
        self.movement = self.add_weight(
            name="movement", shape=tuple(kernel_shape), initializer="zeros", trainable=False
        )

    def observe(self, gate_gradient):
        """Adds one task step's `-w * dL/dw'` (minus the gate gradient).

        Args:
            gate_gradient: The loss gradient with respect to the gate, of
                the kernel's shape.
        """
        self.movement.assign_add(-ops.cast(gate_gradient, self.movement.dtype))

    def scores(self, kernel):
        movement = ops.cast(ops.convert_to_tensor(self.movement), kernel.dtype)
        if not self.magnitude_weight:
            return movement
        return standardise(movement) + self.magnitude_weight * standardise(ops.abs(kernel))

    def get_config(self):
        config = super().get_config()
        config["magnitude_weight"] = self.magnitude_weight
        return config
