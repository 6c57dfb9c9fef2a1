"""Pictures of what the switchers did: masks and training curves as PNG files."""

import os

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # Files only, no screen needed.
    import matplotlib.pyplot as plt

    return plt


def _check_png(path):
    path = os.fspath(path)
    if not path.endswith(".png"):
        raise ValueError(
            "Received an invalid value for `path`, expected a file name ending "
            f"in '.png'. Received: path={path!r}"
        )
    return path


def mask(layer, path):
    """Saves a switched layer's mask as a PNG: black where a connection is on.

    Rows are the layer's inputs, columns its units, one pixel per
    connection (large kernels are drawn scaled down).

    Args:
        layer: A built `SwitchedDense` layer.
        path: Destination ending in `.png`.

    Returns:
        The path.

    Example:

    >>> keras_switcher.plot.mask(model.get_layer("fc1"), "fc1_mask.png")
    """
    path = _check_png(path)
    on = np.asarray(layer.mask())
    plt = _pyplot()
    rows, cols = on.shape
    height = min(max(rows / 100, 3), 12)
    width = min(max(cols / 100, 3), 12)
    figure, axes = plt.subplots(figsize=(width + 1, height + 1), dpi=100)
    axes.imshow(on, cmap="gray_r", interpolation="nearest", aspect="auto", vmin=0, vmax=1)
    axes.set_title(f"{layer.name}: {rows}x{cols}, {1 - on.mean():.2%} switched off")
    axes.set_xlabel("unit")
    axes.set_ylabel("input")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def training_curves(history, path):
    """Saves accuracy and sparsity over the epochs of a `fit` as a PNG.

    Args:
        history: The `History` returned by `fit`, or its `history` dict.
        path: Destination ending in `.png`.

    Returns:
        The path.

    Example:

    >>> history = model.fit(data, epochs=5, callbacks=[SparsityLogger()])
    >>> keras_switcher.plot.training_curves(history, "curves.png")
    """
    path = _check_png(path)
    logs = getattr(history, "history", history)
    accuracies = [key for key in ("accuracy", "val_accuracy") if key in logs]
    sparsities = sorted(key for key in logs if key.startswith("sparsity"))
    if not accuracies and not sparsities:
        raise ValueError(
            "The history has neither accuracy nor sparsity to draw: compile "
            "with metrics=['accuracy'] or train a SwitchedModel. "
            f"Received keys: {sorted(logs)}"
        )
    plt = _pyplot()
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, dpi=100)
    for key in accuracies:
        top.plot(range(1, len(logs[key]) + 1), logs[key], marker="o", label=key)
    top.set_ylabel("accuracy")
    for key in sparsities:
        bottom.plot(range(1, len(logs[key]) + 1), logs[key], marker="o", label=key)
    bottom.set_ylabel("fraction switched off")
    bottom.set_xlabel("epoch")
    for axes in (top, bottom):
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
