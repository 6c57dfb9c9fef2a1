"""Per-layer sparsity of a model's switched layers, counted from the gates."""

import numpy as np
from keras import ops

from keras_switcher.gating import GatedKernel
from keras_switcher import keras_internals


def switched_layers(model):
    """Returns the switched layers of a model (`SwitchedDense`,
    `SwitchedEinsumDense`), nested ones included."""
    return [
        layer
        for layer in keras_internals.flatten_layers(model)
        if isinstance(layer, GatedKernel)
    ]


def report(model):
    """Counts kept connections, dead neurons and parameters of switched layers.

    Args:
        model: A built Keras model with switched layers, whose gates are
            finite (else a `ValueError` names the layer).

    Returns:
        A dict with `"layers"`, a list with one dict per switched layer
        (`name`, `shape`: the kernel as a matrix, `connections`, `kept`, `sparsity`, `dead_inputs`:
        input neurons with no connection left, `dead_outputs`: units with no
        incoming connection, `params`: weights of the kernel and bias,
        `switcher_params`: the switcher's `count_params()`), and `"total"`
        with the summed `connections`, `kept`, `params` and
        `switcher_params` and the overall `sparsity`.

    Example:

    >>> model = keras_switcher.applications.LeNet300100(switcher="magnitude", target_sparsity=0.9)
    >>> total = report(model)["total"]
    >>> total["connections"], total["sparsity"]
    (266200, 0.9)
    """
    layers = switched_layers(model)
    if not layers:
        raise ValueError(
            f"Model '{model.name}' has no switched layer to report on."
        )
    rows = []
    for layer in layers:
        gate = ops.convert_to_numpy(layer.gate())
        if not np.isfinite(gate).all():
            raise ValueError(
                f"Layer '{layer.name}' has {int((~np.isfinite(gate)).sum())} "
                "non-finite gates (its kernel or switcher holds NaN or Inf), "
                "so its connections cannot be counted."
            )
        mask = gate.reshape(layer.gate_shape) > 0
        rows.append(
            {
                "name": layer.name,
                "shape": tuple(mask.shape),
                "connections": int(mask.size),
                "kept": int(mask.sum()),
                "sparsity": float(1.0 - mask.mean()),
                "dead_inputs": int((~mask.any(axis=1)).sum()),
                "dead_outputs": int((~mask.any(axis=0)).sum()),
                "params": sum(
                    int(np.prod(weight.shape))
                    for weight in (layer.kernel, layer.bias)
                    if weight is not None
                ),
                "switcher_params": int(layer.switcher.count_params()),
            }
        )
    total = {
        key: sum(row[key] for row in rows)
        for key in ("connections", "kept", "params", "switcher_params")
    }
    total["sparsity"] = 1.0 - total["kept"] / total["connections"]
    return {"layers": rows, "total": total}


def format_report(sparsity_report):
    """Formats the output of `report` as a text table.

    The last two columns are the layer's parameters (kernel and bias) and
    its switcher's.

    Args:
        sparsity_report: A dict returned by `report`.

    Returns:
        A multi-line string.
    """
    header = (
        f"{'layer':<16}{'shape':>14}{'kept':>12}{'of':>12}"
        f"{'sparsity':>10}{'dead in':>9}{'dead out':>10}"
        f"{'params':>12}{'switcher':>12}"
    )
    lines = [header, "-" * len(header)]
    for row in sparsity_report["layers"]:
        shape = "x".join(str(n) for n in row["shape"])
        lines.append(
            f"{row['name']:<16}{shape:>14}{row['kept']:>12,}"
            f"{row['connections']:>12,}{row['sparsity']:>10.2%}"
            f"{row['dead_inputs']:>9}{row['dead_outputs']:>10}"
            f"{row['params']:>12,}{row['switcher_params']:>12,}"
        )
    total = sparsity_report["total"]
    lines.append("-" * len(header))
    lines.append(
        f"{'total':<16}{'':>14}{total['kept']:>12,}{total['connections']:>12,}"
        f"{total['sparsity']:>10.2%}{'':>19}{total['params']:>12,}"
        f"{total['switcher_params']:>12,}"
    )
    return "\n".join(lines)
