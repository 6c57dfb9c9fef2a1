"""`SparsityPlan`: how sparse the switched layers are, and how layers share it."""

import math

import keras
import numpy as np
from keras import ops

from keras_switcher.sparsity.allocations import erk_sparsities, lowest, magnitude_masks

ALLOCATIONS = ("erk", "uniform", "magnitude", "learned")


@keras.saving.register_keras_serializable(package="keras_switcher")
class SparsityPlan:
    """The sparsity of a model's switched layers, given once.

    `target` is always *overall*: the fraction of all the switched layers'
    connections to switch off, counted over their kernels together.
    `allocation` says how it is shared among the layers:

    - `"erk"`: fixed shares, Erdős–Rényi style (`erk_sparsities`), so large
      layers are made sparser than small ones.
    - `"uniform"`: every layer switches off `target` of its own
      connections (a per-layer target).
    - `"magnitude"`: one threshold on `|kernel|` over all layers (the
      class-blinded split), recomputed from the current kernels each time
      `SparsityRamp` moves the sparsity; the layers start from `"erk"`.
    - `"learned"` (an extension): one threshold over all layers on the
      switchers' scores in the units of their magnitude prior
      (`UNetSwitcher.shared_scores`), recomputed at every gate refresh
      (`share_by_threshold`), so the switchers decide how many connections
      each layer keeps as well as which. It needs cached gates and
      `UNetSwitcher` switchers; with the magnitude prior it starts as
      `"magnitude"`, which is also how `SparsityRamp` splits each new
      overall sparsity before the next refresh re-splits it.

    Builders (`target_sparsity=`), `switch()`, the command line
    (`--target-sparsity`, `--allocation`) and the tuner turn their arguments
    into a plan; the model keeps it (`SwitchedModel.sparsity_plan`), each
    switcher gets its layer's share as `target_sparsity`, and `SparsityRamp`
    reads the plan from the model.

    Args:
        target: Overall fraction of switched connections to switch off, a
            float in `[0, 1)`.
        allocation: One of `"erk"`, `"uniform"`, `"magnitude"`.

    Example:

    >>> plan = SparsityPlan(0.9, allocation="uniform")
    >>> plan.layer_targets([(784, 300), (300, 100)])
    [0.9, 0.9]
    """

    def __init__(self, target, allocation="erk"):
        if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 <= target < 1:
            raise ValueError(
                "Received an invalid value for `target_sparsity`, expected a "
                "float in [0, 1) (the overall fraction of the switched "
                f"connections to switch off). Received: target_sparsity={target!r}"
            )
        if allocation not in ALLOCATIONS:
            raise ValueError(
                "Received an invalid value for `allocation`, expected one of "
                f"{ALLOCATIONS}. Received: allocation={allocation!r}"
            )
        self.target = float(target)
        self.allocation = allocation

    def layer_targets(self, shapes):
        """Each layer's sparsity target, for kernels of the given shapes.

        Args:
            shapes: Kernel shapes `(fan_in, fan_out)`, one per switched layer.

        Returns:
            A list of floats, one per layer, whose connections switched off
            add up to `target` of all connections.
        """
        if self.allocation == "uniform":
            return [self.target] * len(shapes)
        return erk_sparsities(shapes, self.target)

    def magnitude_shares(self, kernels, overall):
        """Each layer's share of `overall` under one threshold on `|kernel|`.

        Args:
            kernels: The layers' kernels, NumPy arrays.
            overall: Overall sparsity in use, in `[0, 1)`.

        Returns:
            A NumPy array of per-layer sparsities; each layer keeps at
            least one connection.
        """
        masks = magnitude_masks(kernels, overall, method="blinded")
        sizes = np.array([mask.size for mask in masks])
        shares = np.array([1.0 - float(mask.mean()) for mask in masks])
        return np.minimum(shares, 1.0 - 1.0 / sizes)

    def get_config(self):
        return {"target": self.target, "allocation": self.allocation}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, SparsityPlan) and self.get_config() == other.get_config()

    def __repr__(self):
        return f"SparsityPlan(target={self.target}, allocation={self.allocation!r})"


def get(value):
    """Returns the `SparsityPlan` an argument stands for.

    Args:
        value: `None` (no plan), a float (an overall target shared `"erk"`
            style), a `SparsityPlan`, or a plan's config dict.

    Returns:
        A `SparsityPlan` or `None`.
    """
    if value is None or isinstance(value, SparsityPlan):
        return value
    if isinstance(value, dict):
        return SparsityPlan.from_config(value)
    return SparsityPlan(value)


def share_by_threshold(layers):
    """Shares the layers' overall sparsity by one threshold on their scores.

    The overall sparsity in use (the layers' `sparsity` variables, weighted
    by their number of scores) is kept; each layer's `sparsity` becomes the
    fraction of its shared scores (`UNetSwitcher.shared_scores`) among the
    lowest of all layers' scores together, that many of them. A layer keeps
    at least one connection. It runs inside the training step.

    Args:
        layers: `SwitchedDense` layers with `UNetSwitcher`s that follow a
            sparsity target.

    Returns:
        Each layer's scores (`SwitchedDense.compute_scores`), from which
        `SwitchedDense.refresh_cached_gate` makes its gate.
    """
    scores, shared = [], []
    for layer in layers:
        kernel = ops.convert_to_tensor(layer.kernel)
        scores.append(layer.compute_scores(kernel))
        shared.append(ops.reshape(layer.switcher.shared_scores(kernel, scores[-1]), (-1,)))
    sizes = [int(flat.shape[0]) for flat in shared]
    # How many scores are switched off over all layers, kept exactly, so
    # that repeated re-splits do not drift.
    count = ops.cast(
        ops.round(
            sum(ops.cast(layer.switcher.sparsity, "float32") * size for layer, size in zip(layers, sizes))
        ),
        "int32",
    )
    off = lowest(ops.concatenate(shared), count)
    start = 0
    for layer, size in zip(layers, sizes):
        share = ops.mean(off[start : start + size])
        layer.switcher.sparsity.assign(ops.minimum(share, 1.0 - 1.0 / size))
        start += size
    return scores


def kernel_shapes(layers):
    """The kernels of dense layers as matrices (first axis by the others),
    for `layer_targets`."""
    shapes = [tuple(layer.kernel.shape) for layer in layers]
    return [(shape[0], math.prod(shape[1:])) for shape in shapes]
