"""Spreading an overall sparsity over layers of different sizes."""

import math


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
