"""LeNet-300-100 and LeNet-5 (Caffe) with switched fully connected layers."""

import keras

from keras_switcher.applications import _common


def LeNet300100(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    classes=10,
    classifier_activation="softmax",
    name="lenet300100",
    switcher=None,
    switched=True,
    kernel_initializer="glorot_uniform",
    use_bias=True,
    target_sparsity=None,
    **model_kwargs,
):
    """Instantiates LeNet-300-100, a 784-300-100-10 perceptron.

    All three fully connected layers (`fc1`, `fc2`, `predictions`) are
    switched. Images are flattened first, so any input shape works.

    Args:
        include_top: Whether to include the `predictions` layer.
        weights: `None` (random initialization) or the path to a weights file.
        input_tensor: Optional Keras tensor to use as the model's input.
        input_shape: Input shape without the batch axis. Defaults to
            `(28, 28, 1)`.
        classes: Number of classes, with `include_top=True`.
        classifier_activation: Activation of the `predictions` layer.
        name: Model name.
        switcher: Switcher setting of every switched layer (see
            `SwitchedDense`); each layer gets its own copy.
        switched: `False` builds plain `Dense` layers for comparison.
        kernel_initializer: Initializer of the fully connected kernels. The
            authors use `keras.initializers.RandomNormal(stddev=0.01)`.
        use_bias: Whether the fully connected layers have biases (the
            authors' have none).
        target_sparsity: `None`, a float (the overall fraction of the
            fully connected connections to switch off, shared among the
            layers `"erk"` style) or a `keras_switcher.SparsityPlan`.
        **model_kwargs: Arguments of the returned `SwitchedModel`
            (`alternate`, `warmup_epochs`, `gate_cache_steps`).

    Returns:
        A `SwitchedModel`, or a `keras.Model` when `switched=False`.

    Example:

    >>> model = LeNet300100(switcher=UNetSwitcher(depth=2))
    >>> model.count_params() > 266_000
    True
    """
    _common.check_weights(weights)
    plan = _common.sparsity_plan(target_sparsity, switched)
    _common.check_classes(classes)
    image_input = _common.model_input(input_tensor, input_shape or (28, 28, 1))
    x = keras.layers.Flatten(name="flatten")(image_input)
    specs = [(300, "fc1", "relu"), (100, "fc2", "relu")]
    if include_top:
        specs.append((classes, "predictions", classifier_activation))
    x = _common.head(
        x,
        specs,
        switched,
        switcher,
        plan,
        kernel_initializer=kernel_initializer,
        use_bias=use_bias,
    )
    return _common.finish(
        input_tensor,
        image_input,
        x,
        name,
        switched,
        weights,
        plan=plan,
        **model_kwargs,
    )


def LeNet5(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=10,
    classifier_activation="softmax",
    name="lenet5",
    switcher=None,
    switched=True,
    kernel_initializer="glorot_uniform",
    use_bias=True,
    target_sparsity=None,
    **model_kwargs,
):
    """Instantiates LeNet-5 as in Caffe: conv 20, conv 50, fc 500, fc classes.

    Two 5x5 valid convolutions (20 and 50 filters), each followed by 2x2
    max-pooling, then the fully connected `fc1` (500 units, ReLU) and
    `predictions`. Both fully connected layers are switched; on 28x28
    inputs `fc1` reads 800 features.

    Args:
        include_top: Whether to include `fc1` and `predictions`.
        weights: `None` (random initialization) or the path to a weights file.
        input_tensor: Optional Keras tensor to use as the model's input.
        input_shape: Input shape `(height, width, channels)`, both sides at
            least 16. Defaults to `(28, 28, 1)`.
        pooling: With `include_top=False`: `None` (4-D feature map),
            `"avg"` or `"max"` (global pooling to a vector).
        classes: Number of classes, with `include_top=True`.
        classifier_activation: Activation of the `predictions` layer.
        name: Model name.
        switcher: Switcher setting of every switched layer.
        switched: `False` builds plain `Dense` layers for comparison.
        kernel_initializer: Initializer of the fully connected kernels.
        use_bias: Whether the fully connected layers have biases.
        target_sparsity: `None`, a float (the overall fraction of the
            fully connected connections to switch off, shared among the
            layers `"erk"` style) or a `keras_switcher.SparsityPlan`.
        **model_kwargs: Arguments of the returned `SwitchedModel`
            (`alternate`, `warmup_epochs` (the authors use 4),
            `gate_cache_steps`).

    Returns:
        A `SwitchedModel`, or a `keras.Model` when `switched=False` or
        `include_top=False`.
    """
    _common.check_weights(weights)
    plan = _common.sparsity_plan(target_sparsity, switched, include_top)
    _common.check_classes(classes)
    input_shape = _common.image_shape(input_shape, (28, 28, 1), 16)
    _common.check_pooling(pooling)
    image_input = _common.model_input(input_tensor, input_shape)
    x = keras.layers.Conv2D(20, 5, name="conv1")(image_input)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(50, 5, name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    if include_top:
        x = keras.layers.Flatten(name="flatten")(x)
        x = _common.head(
            x,
            [(500, "fc1", "relu"), (classes, "predictions", classifier_activation)],
            switched,
            switcher,
            plan,
            kernel_initializer=kernel_initializer,
            use_bias=use_bias,
        )
    else:
        x = _common.global_pooling(x, pooling)
    return _common.finish(
        input_tensor,
        image_input,
        x,
        name,
        switched and include_top,
        weights,
        plan=plan,
        **model_kwargs,
    )
