"""Pieces shared by the builders of `keras_switcher.applications`."""

import os

import keras

from keras_switcher.sparsity import plan as plan_lib
from keras_switcher import switchers
from keras_switcher.layers import SwitchedDense
from keras_switcher.models import SwitchedModel


def check_weights(weights, imagenet=False):
    """Raises unless `weights` is `None`, a file path or, if allowed, `"imagenet"`."""
    if imagenet and weights == "imagenet":
        return
    if weights is not None and not (
        isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)
    ):
        choices = "`None` (random initialization), "
        if imagenet:
            choices += "'imagenet' (the Keras ImageNet weights of the backbone), "
        raise ValueError(
            f"The `weights` argument should be either {choices}or the path "
            f"to the weights file to be loaded. Received: weights={weights!r}"
        )


def check_pooling(pooling):
    if pooling not in (None, "avg", "max"):
        raise ValueError(
            "Received an invalid value for `pooling`, expected None, 'avg' "
            f"or 'max'. Received: pooling={pooling!r}"
        )


def image_shape(input_shape, default, min_side):
    """Validates an image input shape `(height, width, channels)`."""
    input_shape = tuple(input_shape or default)
    if len(input_shape) != 3 or min(input_shape[:2]) < min_side:
        raise ValueError(
            "Received an invalid value for `input_shape`, expected "
            f"(height, width, channels) with height and width >= {min_side}. "
            f"Received: input_shape={input_shape}"
        )
    return input_shape


def is_small(input_shape, small_inputs):
    """Whether to use the small-image (CIFAR) stem: by default up to 32x32."""
    if small_inputs is None:
        return max(input_shape[:2]) <= 32
    return bool(small_inputs)


def global_pooling(x, pooling):
    """The `pooling` option of a headless builder."""
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def load_imagenet_backbone(model, reference_builder, **reference_kwargs):
    """Copies the Keras ImageNet weights of a backbone into `model`, by layer name.

    Args:
        model: The built model; its backbone layers carry Keras's names.
        reference_builder: The `keras.applications` builder to take the
            weights from, such as `keras.applications.VGG16`.
        **reference_kwargs: More arguments of the reference builder.
    """
    if model.inputs[0].shape[-1] != 3:
        raise ValueError(
            "weights='imagenet' needs 3-channel (RGB) inputs. Received: "
            f"input_shape={tuple(model.inputs[0].shape[1:])}"
        )
    try:
        reference = reference_builder(
            weights="imagenet", include_top=False, **reference_kwargs
        )
    except Exception as error:  # Downloads fail in many ways.
        raise RuntimeError(
            f"Could not load the Keras ImageNet weights for "
            f"'{reference_builder.__name__}' ({type(error).__name__}: {error}). "
            "They are downloaded on first use and cached in ~/.keras/models: "
            "connect to the network once, or pass weights=None or the path "
            "of a weights file."
        ) from None
    for layer in reference.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())


def sparsity_plan(target_sparsity, switched, has_head=True):
    """The `SparsityPlan` of a builder's `target_sparsity` argument.

    Args:
        target_sparsity: `None`, a float (the overall fraction of the
            head's connections to switch off, shared `"erk"` style) or a
            `keras_switcher.SparsityPlan`.
        switched: The builder's `switched` argument.
        has_head: Whether the model has fully connected layers to switch
            (`False` for most builders with `include_top=False`).

    Returns:
        A `SparsityPlan`, or `None`.
    """
    plan = plan_lib.get(target_sparsity)
    if plan is not None and not (switched and has_head):
        reason = "switched=False" if not switched else "include_top=False"
        raise ValueError(
            f"Received target_sparsity={target_sparsity!r} with {reason}: the "
            "model has no switched layers to reach it. Pass "
            "target_sparsity=None, or build a switched head."
        )
    return plan


def head(x, specs, switched, switcher, plan, **dense_kwargs):
    """Stacks the fully connected layers of a head.

    Args:
        x: The head's input, a 2-D Keras tensor.
        specs: One `(units, name, activation)` per layer.
        switched: Whether the layers are `SwitchedDense` or plain `Dense`.
        switcher: Switcher setting; each layer gets its own copy.
        plan: `None`, or the `SparsityPlan` whose per-layer targets the
            switchers get.
        **dense_kwargs: More arguments of every layer.

    Returns:
        The head's output tensor.
    """
    widths = [x.shape[-1]] + [units for units, _, _ in specs]
    shapes = list(zip(widths[:-1], widths[1:]))
    targets = [None] * len(specs) if plan is None else plan.layer_targets(shapes)
    for (units, name, activation), target in zip(specs, targets):
        x = head_dense(
            units,
            name,
            switched,
            switcher,
            target_sparsity=target,
            activation=activation,
            **dense_kwargs,
        )(x)
    return x


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


_MODEL_ARGUMENTS = (
    "alternate",
    "warmup_epochs",
    "freeze_switchers_after",
    "gate_refresh_steps",
    "switcher_accumulation_steps",
    "gate_cache_steps",
    "concurrent_switcher_updates",
    "fit_alternation_to_epoch",
)


def finish(
    input_tensor, image_input, outputs, name, switched, weights, plan=None, **model_kwargs
):
    """Wraps the graph in a `SwitchedModel` (or a plain `keras.Model`).

    Args:
        input_tensor: The builder's `input_tensor` argument.
        image_input: The tensor the graph starts from.
        outputs: The graph's output tensor.
        name: Model name.
        switched: Whether the head is switched.
        weights: `None` or a weights file to load.
        plan: `None`, or the `SparsityPlan` the head was built with.
        **model_kwargs: Arguments of the `SwitchedModel`.

    Returns:
        The model.
    """
    unknown = sorted(set(model_kwargs) - set(_MODEL_ARGUMENTS))
    if unknown:
        raise TypeError(
            f"{name}() got unexpected keyword arguments {unknown}. Its model "
            f"arguments are {list(_MODEL_ARGUMENTS)} (see `SwitchedModel`)."
        )
    if not switched and model_kwargs:
        raise ValueError(
            f"Received {sorted(model_kwargs)} with switched=False: these "
            "arguments set how a `SwitchedModel` trains its switchers, and a "
            "plain model has none. Drop them, or pass switched=True."
        )
    if input_tensor is not None:
        inputs = keras.utils.get_source_inputs(input_tensor)
    else:
        inputs = image_input
    if switched:
        model = SwitchedModel(inputs, outputs, name=name, sparsity_plan=plan, **model_kwargs)
    else:
        model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        model.load_weights(weights)
    return model
