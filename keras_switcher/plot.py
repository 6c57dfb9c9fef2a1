"""Pictures of what the switchers did: masks and training curves as PNG files."""

import os

import numpy as np

from keras_switcher._extras import require


def _pyplot():
    matplotlib = require("matplotlib", "keras_switcher.plot")
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

    >>> model = ks.applications.LeNet300100(
    ...     input_shape=(8, 8, 1), switcher="magnitude", target_sparsity=0.9)
    >>> keras_switcher.plot.mask(model.get_layer("fc1"), "fc1_mask.png")
    'fc1_mask.png'
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


def training_curves(history, path, events=None):
    """Saves accuracy, loss and sparsity over the epochs of a `fit` as a PNG.

    Training and validation curves (`val_` logs, from `validation_data`)
    share a panel, so over- and under-fitting show at a glance.

    Args:
        history: The `History` returned by `fit`, or its `history` dict.
        path: Destination ending in `.png`.
        events: Optional dict from a label to an epoch count (such as
            `{"ramp ends": 10, "switchers freeze": 15}`): a dashed vertical
            line marks the end of that epoch in every panel.

    Returns:
        The path.

    Example:

    >>> model = ks.applications.LeNet300100(
    ...     input_shape=(8, 8, 1), switcher="magnitude", target_sparsity=0.9)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> data = ks.datasets.load("digits", "train[:256]", batch_size=64)
    >>> history = model.fit(data, epochs=2, callbacks=[ks.SparsityLogger()], verbose=0)
    >>> keras_switcher.plot.training_curves(history, "curves.png")
    'curves.png'
    """
    path = _check_png(path)
    logs = getattr(history, "history", history)
    panels = [
        ("accuracy", [key for key in ("accuracy", "val_accuracy") if key in logs]),
        ("loss", [key for key in ("loss", "val_loss") if key in logs]),
        ("fraction switched off", sorted(key for key in logs if key.startswith("sparsity"))),
    ]
    if not panels[0][1] and not panels[2][1]:
        raise ValueError(
            "The history has neither accuracy nor sparsity to draw: compile "
            "with metrics=['accuracy'] or train a SwitchedModel. "
            f"Received keys: {sorted(logs)}"
        )
    panels = [(label, keys) for label, keys in panels if keys]
    plt = _pyplot()
    figure, axes_list = plt.subplots(len(panels), 1, figsize=(7, 2.6 * len(panels)), sharex=True, dpi=100)
    axes_list = np.atleast_1d(axes_list)
    for axes, (label, keys) in zip(axes_list, panels):
        for key in keys:
            style = "--" if key.startswith("val_") else "-"
            axes.plot(range(1, len(logs[key]) + 1), logs[key], style, marker="o", markersize=3, label=key)
        for name, epoch in (events or {}).items():
            axes.axvline(epoch, color="gray", linestyle=":", linewidth=1)
            if axes is axes_list[0]:
                axes.annotate(f"{name} ", (epoch, 0.02), xycoords=("data", "axes fraction"), rotation=90,
                              va="bottom", ha="right", fontsize="small", color="gray")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend(loc="best", fontsize="small")
    axes_list[-1].set_xlabel("epoch")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def input_map(layer, image_shape, path):
    """Saves, for a layer fed by a flattened image, its kept connections per pixel.

    The left panel is a heat map in the image's own geometry: how many of
    each input pixel's connections (summed over channels) are switched on;
    switched-off border pixels of MNIST show as a dark frame. The right
    panel is the raw mask.

    Args:
        layer: A built `SwitchedDense` layer whose inputs are an image of
            `image_shape` flattened (such as LeNet-300-100's `fc1`).
        image_shape: `(height, width)` or `(height, width, channels)`.
        path: Destination ending in `.png`.

    Returns:
        The path.

    Example:

    >>> model = ks.applications.LeNet300100(
    ...     input_shape=(8, 8, 1), switcher="magnitude", target_sparsity=0.9)
    >>> keras_switcher.plot.input_map(model.get_layer("fc1"), (8, 8, 1), "fc1_pixels.png")
    'fc1_pixels.png'
    """
    path = _check_png(path)
    on = np.asarray(layer.mask())
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape += (1,)
    if len(shape) != 3 or int(np.prod(shape)) != on.shape[0]:
        raise ValueError(
            f"Received image_shape={tuple(image_shape)}, which does not flatten "
            f"to the {on.shape[0]} inputs of layer '{layer.name}'."
        )
    kept = on.sum(axis=1).reshape(shape).sum(axis=-1)
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=100)
    picture = left.imshow(kept, cmap="viridis", interpolation="nearest", vmin=0)
    figure.colorbar(picture, ax=left, label=f"connections kept (of {on.shape[1] * shape[2]})")
    left.set_title(f"{layer.name}: kept connections per input pixel")
    left.set_xticks([])
    left.set_yticks([])
    right.imshow(on, cmap="gray_r", interpolation="nearest", aspect="auto", vmin=0, vmax=1)
    right.set_title(f"mask {on.shape[0]}x{on.shape[1]}, {1 - on.mean():.2%} off")
    right.set_xlabel("unit")
    right.set_ylabel("input")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def model_overview(sparsity_report, path):
    """Saves one picture of a whole model's switched layers.

    For each layer: a bar of its connections, the kept share filled, with
    its shape, kept count and sparsity, and how many input neurons and units
    are dead (no connection left).

    Args:
        sparsity_report: A dict returned by `keras_switcher.report`.
        path: Destination ending in `.png`.

    Returns:
        The path.

    Example:

    >>> model = ks.applications.LeNet300100(
    ...     input_shape=(8, 8, 1), switcher="magnitude", target_sparsity=0.9)
    >>> keras_switcher.plot.model_overview(keras_switcher.report(model), "model.png")
    'model.png'
    """
    path = _check_png(path)
    rows = sparsity_report["layers"]
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 1.0 + 0.8 * len(rows)), dpi=100)
    names = [row["name"] for row in rows][::-1]
    kept = [row["kept"] / row["connections"] for row in rows][::-1]
    axes.barh(names, [1.0] * len(rows), color="#dddddd", label="switched off")
    axes.barh(names, kept, color="#1f77b4", label="kept")
    axes.set_xlim(0, 1)
    for index, row in enumerate(rows[::-1]):
        shape = "x".join(str(n) for n in row["shape"])
        axes.annotate(
            f" {shape}: {row['kept']:,} kept ({row['sparsity']:.1%} off); "
            f"dead: {row['dead_inputs']} inputs, {row['dead_outputs']} units",
            (1, index), xycoords=("axes fraction", "data"), va="center", fontsize="small",
        )
    total = sparsity_report["total"]
    axes.set_title(f"{total['kept']:,} of {total['connections']:,} connections kept ({total['sparsity']:.2%} off)")
    axes.set_xlabel("share of the layer's connections")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.1 / len(rows)), ncol=2, fontsize="small")
    figure.tight_layout()
    figure.subplots_adjust(right=0.45)
    figure.savefig(path)
    plt.close(figure)
    return path
