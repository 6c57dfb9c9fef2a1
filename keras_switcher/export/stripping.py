"""Turning a switched model into a plain Keras model for deployment."""

import keras
import numpy as np
from keras import ops

from keras_switcher.conversion import check_graph_model, clone_graph, graph_layers, plain_layer
from keras_switcher.gating import GatedKernel
from keras_switcher.layers import SwitchedDense, SwitchedEinsumDense
from keras_switcher.reporting import switched_layers
from keras_switcher import keras_internals


def strip(model, shrink=False, unit_multiple=1):
    """Returns a plain Keras model whose kernels hold `kernel * gate`.

    `SwitchedDense` layers become `Dense` and `SwitchedEinsumDense` layers
    `EinsumDense`, in the model and in its nested functional and
    `Sequential` models: no switcher weights remain and the outputs equal
    the switched model's. With `shrink=True`, dead units between two
    consecutive dense layers of the model itself (the second reading only
    the first's output) are removed: a unit with no outgoing connection is
    dropped; a unit with no incoming connection outputs the constant
    `activation(bias)`, which is folded into the next layer's bias before
    the unit is dropped.

    Args:
        model: A built functional or `Sequential` model with switched
            layers, such as a `SwitchedModel`.
        shrink: Whether to remove dead units.
        unit_multiple: With `shrink`, each shrunk layer keeps a multiple of
            this many units, some dead ones staying as padding. TFLite's
            block-sparse kernels give wrong results for inputs whose size is
            not a multiple of the block (4 float, 16 int8).

    Returns:
        A `keras.Model`.

    Example:

    >>> model = keras_switcher.applications.LeNet300100(switcher="magnitude", target_sparsity=0.9)
    >>> plain = strip(model, shrink=True)
    >>> [layer.__class__.__name__ for layer in plain.layers][-1]
    'Dense'
    """
    check_graph_model(model, "strip")
    if not isinstance(unit_multiple, int) or isinstance(unit_multiple, bool) or unit_multiple <= 0:
        raise ValueError(
            "Received an invalid value for `unit_multiple`, expected a "
            f"positive integer. Received: unit_multiple={unit_multiple!r}"
        )
    switched = switched_layers(model)
    if not switched:
        raise ValueError(
            f"Model '{model.name}' has no `SwitchedDense` or `SwitchedEinsumDense` layer to strip."
        )
    reachable = {id(layer) for layer in graph_layers(model)}
    hidden = [layer.path for layer in switched if id(layer) not in reachable]
    if hidden:
        raise ValueError(
            f"Model '{model.name}' has switched layers inside other layers, "
            f"which `strip()` cannot replace: {hidden}. It reaches the layers "
            "of the model and of its nested functional and Sequential models."
        )
    # Plain weights of every switched layer, and of the model's own `Dense`
    # layers (which shrinking may narrow), by layer.
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    weights = {id(layer): _plain_weights(layer) for layer in switched + dense}
    if shrink:
        _shrink(model, weights, unit_multiple)

    def replace(layer):
        if id(layer) not in weights:
            return None
        if isinstance(layer, SwitchedEinsumDense):
            return plain_layer(layer)
        kernel, bias = weights[id(layer)]
        changes = dict(units=kernel.shape[1], use_bias=bias is not None)
        if isinstance(layer, SwitchedDense):
            return plain_layer(layer, **changes)
        return keras.layers.Dense.from_config({**layer.get_config(), **changes})

    clone, pairs = clone_graph(model, replace)
    for layer, new_layer in pairs:
        if id(layer) in weights:
            kernel, bias = weights[id(layer)]
            new_layer.set_weights([kernel] + ([bias] if bias is not None else []))
        else:
            new_layer.set_weights(layer.get_weights())
    return keras.Model(clone.inputs, clone.outputs, name=f"{model.name}_stripped")


def _plain_weights(layer):
    """`[kernel, bias]` of a plain layer, with `kernel * gate` if switched."""
    # `convert_to_numpy`, not `np.asarray`: on PyTorch a gate computed from
    # trainable weights requires a gradient, which NumPy refuses.
    kernel = ops.convert_to_numpy(layer.kernel)
    if isinstance(layer, GatedKernel):
        kernel = kernel * ops.convert_to_numpy(layer.gate())
    return [kernel, ops.convert_to_numpy(layer.bias) if layer.bias is not None else None]


def _chains(model, weights):
    """Pairs (a, b) of the model's dense layers where b reads a's output and
    nothing else does."""
    dense = [
        layer
        for layer in model.layers
        if id(layer) in weights and isinstance(layer, (SwitchedDense, keras.layers.Dense))
    ]
    consumers = {}
    for layer in model.layers:
        for tensor in keras_internals.inbound_tensors(layer):
            consumers.setdefault(id(keras_internals.producer(tensor)), []).append(layer)
    outputs = {id(keras_internals.producer(t)) for t in model.outputs}
    dense_ids = {id(layer) for layer in dense}
    pairs = []
    for layer in dense:
        following = consumers.get(id(layer), [])
        if len(following) == 1 and id(following[0]) in dense_ids and id(layer) not in outputs:
            pairs.append((layer, following[0]))
    return pairs


def _shrink(model, weights, unit_multiple):
    """Removes dead units of each (a, b) chain in place in `weights`."""
    for first, second in _chains(model, weights):
        kernel_a, bias_a = weights[id(first)]
        kernel_b, bias_b = weights[id(second)]
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
            value = np.zeros(kernel_a.shape[1], kernel_a.dtype)
            if bias_a is not None:
                value = ops.convert_to_numpy(first.activation(bias_a))
            folded = value[constant] @ kernel_b[constant]
            if folded.any():
                bias_b = folded if bias_b is None else bias_b + folded
        weights[id(first)] = [kernel_a[:, keep], None if bias_a is None else bias_a[keep]]
        weights[id(second)] = [kernel_b[keep], bias_b]
