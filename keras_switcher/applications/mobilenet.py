"""MobileNet (v1) with a switched classifier."""

import keras

from keras_switcher.applications import _common

# (pointwise filters, stride) of the 13 depthwise separable blocks.
_BLOCKS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)


def _bn_relu6(x, name):
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu")(x)


def _depthwise_block(x, filters, depth_multiplier, strides, block_id):
    if strides == 1:
        padding = "same"
    else:
        padding = "valid"
        x = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = keras.layers.DepthwiseConv2D(
        3,
        padding=padding,
        depth_multiplier=depth_multiplier,
        strides=strides,
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )(x)
    x = _bn_relu6(x, f"conv_dw_{block_id}")
    x = keras.layers.Conv2D(filters, 1, use_bias=False, name=f"conv_pw_{block_id}")(x)
    return _bn_relu6(x, f"conv_pw_{block_id}")


def MobileNet(
    input_shape=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
    switcher=None,
    switched=True,
    small_inputs=None,
    target_sparsity=None,
    kernel_initializer="glorot_uniform",
    use_bias=True,
    **model_kwargs,
):
    """Instantiates MobileNet (v1) with a switched classifier.

    The layers and names of `keras.applications.MobileNet`: a 3x3
    convolution, 13 depthwise separable blocks, global average pooling,
    dropout and the classifier `predictions`, which is switched. Keras
    writes its classifier as a 1x1 convolution; here it is a dense layer
    with the same weights, so the parameter count with the plain head
    equals Keras's. Images up to 32x32 (CIFAR, MNIST) get the usual CIFAR
    stem: the first convolution has stride 1 instead of 2 (3,217,226
    trainable parameters with 10 classes and 32x32x3 inputs).

    Args:
        input_shape: Input shape `(height, width, channels)`, both sides at
            least 16 (32 for the ImageNet stem). Defaults to `(32, 32, 3)`.
        alpha: Width multiplier of every layer's filters, positive.
        depth_multiplier: Depth multiplier of the depthwise convolutions,
            a positive integer.
        dropout: Dropout rate before the classifier.
        include_top: Whether to include the classifier.
        weights: `None` (random initialization), `"imagenet"` (the Keras
            ImageNet weights of the backbone, downloaded on first use, for
            the `alpha` values Keras has: 0.25, 0.5, 0.75, 1.0, and
            `depth_multiplier=1`) or the path to a weights file.
        input_tensor: Optional Keras tensor to use as the model's input.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True`.
        classifier_activation: Activation of the `predictions` layer.
        name: Model name. Defaults to `mobilenet_{alpha}_{rows}` as in Keras.
        switcher: Switcher setting of the switched layer.
        switched: `False` builds a plain `Dense` classifier for comparison.
        small_inputs: `None` picks the stem from the input size; `True` or
            `False` forces the CIFAR or the ImageNet stem.
        target_sparsity: `None`, a float (the overall fraction of the
            head's connections to switch off, an extension) or a
            `keras_switcher.SparsityPlan`.
        kernel_initializer: Initializer of the dense kernels.
        use_bias: Whether the dense layers have biases.
        **model_kwargs: Arguments of the returned `SwitchedModel`.

    Returns:
        A `SwitchedModel`, or a `keras.Model` when `switched=False` or
        `include_top=False`.

    Example:

    >>> model = MobileNet(alpha=0.5, classes=10, switcher=UNetSwitcher(depth=2))
    >>> tuple(model.get_layer("predictions").kernel.shape)
    (512, 10)
    """
    _common.check_weights(weights, imagenet=True)
    plan = _common.sparsity_plan(target_sparsity, switched, include_top)
    _common.check_classes(classes)
    _common.check_pooling(pooling)
    if not alpha > 0:
        raise ValueError(
            "Received an invalid value for `alpha`, expected a positive "
            f"float. Received: alpha={alpha!r}"
        )
    if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
        raise ValueError(
            "Received an invalid value for `depth_multiplier`, expected a "
            f"positive integer. Received: depth_multiplier={depth_multiplier!r}"
        )
    input_shape = _common.image_shape(input_shape, (32, 32, 3), 16)
    small = _common.is_small(input_shape, small_inputs)
    if not small:
        _common.image_shape(input_shape, None, 32)
    image_input = _common.model_input(input_tensor, input_shape)
    x = keras.layers.Conv2D(
        int(32 * alpha),
        3,
        padding="same",
        use_bias=False,
        strides=1 if small else 2,
        name="conv1",
    )(image_input)
    x = _bn_relu6(x, "conv1")
    for block_id, (filters, strides) in enumerate(_BLOCKS, start=1):
        x = _depthwise_block(x, int(filters * alpha), depth_multiplier, strides, block_id)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(dropout, name="dropout")(x)
        x = _common.head(
            x,
            [(classes, "predictions", classifier_activation)],
            switched,
            switcher,
            plan,
            kernel_initializer=kernel_initializer,
            use_bias=use_bias,
        )
    else:
        x = _common.global_pooling(x, pooling)
    model = _common.finish(
        input_tensor,
        image_input,
        x,
        name or f"mobilenet_{alpha:0.2f}_{input_shape[0]}",
        switched and include_top,
        None if weights == "imagenet" else weights,
        plan=plan,
        **model_kwargs,
    )
    if weights == "imagenet":
        _common.load_imagenet_backbone(
            model,
            keras.applications.MobileNet,
            alpha=alpha,
            depth_multiplier=depth_multiplier,
        )
    return model
