"""How an overall sparsity is shared among layers, and which connections go.

- `erk_sparsities`: fixed per-layer shares, Erdős–Rényi style.
- `magnitude_masks`: the three magnitude splits compared by Stier, Darji &
  Granitzer (2021, arXiv 2107.12917): class-blinded (one threshold on `|w|`
  over all layers), class-uniform (the same fraction of every layer) and
  class-distribution (each layer's threshold scaled by its std).
- `lowest`: the exact top-k rule every switcher's gate is made with.
"""

import math

import numpy as np
from keras import ops


def erk_sparsities(shapes, overall):
    """Per-layer sparsities that reach an overall sparsity, Erdős–Rényi style.

    Each layer keeps a fraction of its connections proportional to
    `(fan_in + fan_out) / (fan_in * fan_out)`, so large layers are made
    sparser than small ones (Evci et al., 2020, "Rigging the Lottery").
    A layer that would keep everything is kept dense and the rest is
    spread again over the others.

    Args:
        shapes: Kernel shapes `(fan_in, fan_out)`, one per layer.
        overall: Fraction of all connections to switch off, in `[0, 1)`.

    Returns:
        A list of per-layer sparsities; the kept connections add up to
        `(1 - overall)` of all connections.

    Example:

    >>> [round(s, 3) for s in erk_sparsities([(784, 300), (300, 100), (100, 10)], 0.95)]
    [0.962, 0.889, 0.081]
    """
    if not 0 <= overall < 1:
        raise ValueError(
            "Received an invalid value for `overall`, expected a float in "
            f"[0, 1). Received: overall={overall!r}"
        )
    sizes = [math.prod(shape) for shape in shapes]
    budget = (1 - overall) * sum(sizes)
    dense = set()
    while True:
        free = [i for i in range(len(shapes)) if i not in dense]
        if not free:
            density = {}
            break
        remaining = budget - sum(sizes[i] for i in dense)
        weights = {i: sum(shapes[i]) for i in free}  # density * size
        scale = remaining / sum(weights.values())
        density = {i: scale * sum(shapes[i]) / sizes[i] for i in free}
        overflow = [i for i in free if density[i] >= 1]
        if not overflow:
            break
        dense.update(overflow)
    return [0.0 if i in dense else 1 - density[i] for i in range(len(shapes))]


MAGNITUDE_METHODS = ("blinded", "uniform", "distribution")


def _keep_count(sizes, sparsity):
    return int(round((1.0 - sparsity) * sum(sizes)))


def magnitude_masks(kernels, sparsity, method="blinded"):
    """Masks keeping the largest-magnitude weights.

    Args:
        kernels: List of kernel arrays.
        sparsity: Fraction of all weights to remove, in `[0, 1)`.
        method: One of `"blinded"`, `"uniform"`, `"distribution"`.

    Returns:
        A list of boolean arrays, `True` for weights that stay.

    Example:

    >>> masks = magnitude_masks([np.array([[1., -3.], [0.5, 2.]])], 0.5)
    >>> masks[0].tolist()
    [[False, True], [False, True]]
    """
    if method not in MAGNITUDE_METHODS:
        raise ValueError(
            f"Received an invalid value for `method`, expected one of {MAGNITUDE_METHODS}. "
            f"Received: method={method!r}"
        )
    if not 0 <= sparsity < 1:
        raise ValueError(
            "Received an invalid value for `sparsity`, expected a float in "
            f"[0, 1). Received: sparsity={sparsity!r}"
        )
    magnitudes = [np.abs(np.asarray(kernel)) for kernel in kernels]
    if method == "uniform":
        masks = []
        for magnitude in magnitudes:
            keep = _keep_count([magnitude.size], sparsity)
            masks.append(_top(magnitude.ravel(), keep).reshape(magnitude.shape))
        return masks
    if method == "distribution":
        magnitudes = [m / (np.std(m) or 1.0) for m in magnitudes]
    flat = np.concatenate([m.ravel() for m in magnitudes])
    keep = _top(flat, _keep_count([m.size for m in magnitudes], sparsity))
    masks, start = [], 0
    for magnitude in magnitudes:
        masks.append(keep[start : start + magnitude.size].reshape(magnitude.shape))
        start += magnitude.size
    return masks


def _top(values, keep):
    """Boolean mask of the `keep` largest values (ties broken by position)."""
    mask = np.zeros(values.shape, bool)
    if keep > 0:
        mask[np.argpartition(-values, keep - 1)[:keep]] = True
    return mask


def lowest(values, count):
    """Marks the `count` lowest of a flat tensor, ties broken by position.

    One sort, whose first `count` places are scattered back, so exactly
    `count` values are marked whatever the ties and the tensor's size (a
    quantile would be neither exact under ties nor, on the torch backend,
    possible above 2**24 values).

    Args:
        values: A 1-D tensor.
        count: A scalar integer tensor (or int), how many to mark.

    Returns:
        A float tensor of `values`' shape and dtype: `1` for the marked.

    Example:

    >>> ops.convert_to_numpy(lowest(ops.convert_to_tensor([3.0, 1.0, 1.0, 2.0]), 2)).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    size = values.shape[0]
    order = ops.argsort(values)
    marked = ops.cast(ops.arange(size) < ops.cast(count, "int32"), values.dtype)
    # `scatter_update` into zeros, not `scatter`: Keras's torch `scatter`
    # loops in Python over every element (the order is a permutation).
    return ops.scatter_update(ops.zeros((size,), marked.dtype), ops.expand_dims(order, -1), marked)
