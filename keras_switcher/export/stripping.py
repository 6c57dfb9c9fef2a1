"""Turning a switched model into a plain Keras model for deployment."""

import keras
import numpy as np

from keras_switcher.conversion import check_graph_model
from keras_switcher.layers import SwitchedDense
from keras_switcher.reporting import switched_layers


def _dense_config(layer, **changes):
    config = layer.get_config()
    config.pop("switcher", None)
    config.update(changes)
    return config


def strip(model, shrink=False, unit_multiple=1):
    """Returns a plain Keras model whose `Dense` kernels hold `kernel * gate`.

    No switcher weights remain and the outputs equal the switched model's.
    With `shrink=True`, dead units between two consecutive dense layers
    (the second reading only the first's output) are removed: a unit with
    no outgoing connection is dropped; a unit with no incoming connection
    outputs the constant `activation(bias)`, which is folded into the next
    layer's bias before the unit is dropped.

    Args:
        model: A built functional or `Sequential` model with
            `SwitchedDense` layers, such as a `SwitchedModel`.
        shrink: Whether to remove dead units.
        unit_multiple: With `shrink`, each shrunk layer keeps a multiple of
            this many units, some dead ones staying as padding. TFLite's
            block-sparse kernels give wrong results for inputs whose size is
            not a multiple of the block (4 float, 16 int8).

    Returns:
        A `keras.Model`.

    Example:

    >>> plain = strip(keras_switcher.applications.LeNet300100(), shrink=True)
    >>> [layer.__class__.__name__ for layer in plain.layers][-1]
    'Dense'
    """
    check_graph_model(model, "strip")
    if not switched_layers(model):
        raise ValueError(
            f"Model '{model.name}' has no `SwitchedDense` layer to strip."
        )
    weights = {}
    for layer in model.layers:
        if isinstance(layer, SwitchedDense):
            kernel = np.asarray(layer.kernel) * np.asarray(layer.gate())
            bias = np.asarray(layer.bias) if layer.use_bias else None
            weights[layer.name] = [kernel, bias]
        elif isinstance(layer, keras.layers.Dense):
            weights[layer.name] = [np.asarray(layer.kernel), np.asarray(layer.bias) if layer.use_bias else None]
    if not isinstance(unit_multiple, int) or isinstance(unit_multiple, bool) or unit_multiple <= 0:
        raise ValueError(
            "Received an invalid value for `unit_multiple`, expected a "
            f"positive integer. Received: unit_multiple={unit_multiple!r}"
        )
    if shrink:
        _shrink(model, weights, unit_multiple)

    def clone_layer(layer):
        if layer.name not in weights:
            return layer.__class__.from_config(layer.get_config())
        kernel, bias = weights[layer.name]
        return keras.layers.Dense.from_config(
            _dense_config(layer, units=kernel.shape[1], use_bias=bias is not None)
        )

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    for layer, new_layer in zip(model.layers, clone.layers):
        if layer.name in weights:
            kernel, bias = weights[layer.name]
            new_layer.set_weights([kernel] + ([bias] if bias is not None else []))
        else:
            new_layer.set_weights(layer.get_weights())
    return keras.Model(clone.inputs, clone.outputs, name=f"{model.name}_stripped")


def _chains(model, names):
    """Pairs (a, b) of dense layers where b reads a's output and nothing else does."""
    consumers = {}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                producer = tensor._keras_history.operation
                consumers.setdefault(producer.name, []).append(layer.name)
    pairs = []
    outputs = {t._keras_history.operation.name for t in model.outputs}
    for name in names:
        following = consumers.get(name, [])
        if len(following) == 1 and following[0] in names and name not in outputs:
            pairs.append((name, following[0]))
    return pairs


def _shrink(model, weights, unit_multiple):
    """Removes dead units of each (a, b) chain in place in `weights`."""
    for first, second in _chains(model, weights):
        kernel_a, bias_a = weights[first]
        kernel_b, bias_b = weights[second]
        no_input = ~kernel_a.any(axis=0)
        no_output = ~kernel_b.any(axis=1)
        keep = ~(no_input | no_output)
        if not keep.any():
            keep[np.argmax(np.abs(kernel_b).sum(axis=1))] = True  # Keep one unit.
        # Pad with dead units, those without outgoing connections first.
        padding = -int(keep.sum()) % unit_multiple
        candidates = np.flatnonzero(~keep)
        candidates = candidates[np.argsort(~no_output[candidates], kind="stable")]
        keep[candidates[:padding]] = True
        constant = no_input & ~no_output & ~keep
        if constant.any():
            activation = model.get_layer(first).activation
            value = np.zeros(kernel_a.shape[1], kernel_a.dtype)
            if bias_a is not None:
                value = np.asarray(activation(bias_a))
            folded = value[constant] @ kernel_b[constant]
            if folded.any():
                bias_b = folded if bias_b is None else bias_b + folded
        weights[first] = [kernel_a[:, keep], None if bias_a is None else bias_a[keep]]
        weights[second] = [kernel_b[keep], bias_b]
