"""Pieces shared by the builders of `keras_switcher.applications`."""

import os

import keras

from keras_switcher import sparsity, switchers
from keras_switcher.layers import SwitchedDense
from keras_switcher.models import SwitchedModel


def check_weights(weights):
    """Raises unless `weights` is `None` or the path of an existing file."""
    if weights is not None and not (
        isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)
    ):
        raise ValueError(
            "The `weights` argument should be either `None` (random "
            "initialization) or the path to the weights file to be loaded. "
            f"Received: weights={weights!r}"
        )


def check_classes(classes):
    if not isinstance(classes, int) or isinstance(classes, bool) or classes <= 0:
        raise ValueError(
            "Received an invalid value for `classes`, expected a positive "
            f"integer. Received: classes={classes!r}"
        )


def model_input(input_tensor, input_shape):
    """Returns the input tensor of a builder, as `keras.applications` does."""
    if input_tensor is None:
        return keras.Input(shape=input_shape)
    if not keras.backend.is_keras_tensor(input_tensor):
        return keras.Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def head_sparsities(shapes, target_sparsity):
    """Per-layer switcher targets for an overall `target_sparsity` of a head.

    Args:
        shapes: Kernel shapes of the head's switched layers.
        target_sparsity: `None`, or the overall fraction of the head's
            connections to switch off, spread with `erk_sparsities`.

    Returns:
        A list with one target (or `None`) per layer.
    """
    if target_sparsity is None:
        return [None] * len(shapes)
    return sparsity.erk_sparsities(shapes, target_sparsity)


def head_dense(
    units, name, switched, switcher, target_sparsity=None, **dense_kwargs
):
    """A head layer: `SwitchedDense` with its own switcher, or plain `Dense`."""
    if switched:
        overrides = {}
        if target_sparsity is not None:
            overrides["target_sparsity"] = target_sparsity
        return SwitchedDense(
            units,
            name=name,
            switcher=switchers.fresh(switcher, **overrides),
            **dense_kwargs,
        )
    return keras.layers.Dense(units, name=name, **dense_kwargs)


def finish(input_tensor, image_input, outputs, name, switched, weights, **model_kwargs):
    """Wraps the graph in a `SwitchedModel` (or a plain `keras.Model`).

    Args:
        input_tensor: The builder's `input_tensor` argument.
        image_input: The tensor the graph starts from.
        outputs: The graph's output tensor.
        name: Model name.
        switched: Whether the head is switched.
        weights: `None` or a weights file to load.
        **model_kwargs: Arguments of the `SwitchedModel`.

    Returns:
        The model.
    """
    if input_tensor is not None:
        inputs = keras.utils.get_source_inputs(input_tensor)
    else:
        inputs = image_input
    if switched:
        model = SwitchedModel(inputs, outputs, name=name, **model_kwargs)
    else:
        model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model
