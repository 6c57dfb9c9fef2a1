"""ResNet18 and ResNet34 (basic blocks) with a switched classifier."""

import keras

from keras_switcher.applications import _common

_STAGE_FILTERS = (64, 128, 256, 512)


def _conv_bn(x, filters, kernel_size, strides, name, relu=True):
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name=f"{name}_conv",
    )(x)
    x = keras.layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_bn")(x)
    if relu:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def _basic_block(x, filters, strides, name):
    """Two 3x3 convolutions and a shortcut (1x1 projection when the shape changes)."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, strides, f"{name}_0", relu=False)
    x = _conv_bn(x, filters, 3, strides, f"{name}_1")
    x = _conv_bn(x, filters, 3, 1, f"{name}_2", relu=False)
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.ReLU(name=f"{name}_out")(x)


def _resnet(
    blocks,
    model_name,
    *,
    include_top,
    weights,
    input_tensor,
    input_shape,
    pooling,
    classes,
    classifier_activation,
    name,
    switcher,
    switched,
    small_inputs,
    target_sparsity,
    kernel_initializer,
    use_bias,
    model_kwargs,
):
    """Builds a ResNet with `blocks` basic blocks per stage; the builders'
    arguments, with `model_kwargs` as a dict."""
    _common.check_weights(weights)
    plan = _common.sparsity_plan(target_sparsity, switched, include_top)
    _common.check_classes(classes)
    _common.check_pooling(pooling)
    input_shape = _common.image_shape(input_shape, (32, 32, 3), 8)
    image_input = _common.model_input(input_tensor, input_shape)
    if _common.is_small(input_shape, small_inputs):
        x = _conv_bn(image_input, 64, 3, 1, "conv1")
    else:
        x = _conv_bn(image_input, 64, 7, 2, "conv1")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_pool")(x)
    for stage, (filters, count) in enumerate(zip(_STAGE_FILTERS, blocks)):
        for block in range(count):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(x, filters, strides, f"conv{stage + 2}_block{block + 1}")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
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
    return _common.finish(
        input_tensor,
        image_input,
        x,
        name or model_name,
        switched and include_top,
        weights,
        plan=plan,
        **model_kwargs,
    )


_DOC = """Instantiates {title} with a switched classifier.

    Basic residual blocks ({blocks} per stage; 64, 128, 256 and 512 filters),
    batch normalisation after every convolution, global average pooling and
    one fully connected layer, `predictions`, which is switched. Images up
    to 32x32 (CIFAR, MNIST) get the small-image stem of CIFAR ResNets (a
    3x3 convolution, stride 1, no max-pooling); larger ones the ImageNet
    stem (7x7 convolution with stride 2, 3x3 max-pooling). {counts}

    Args:
        include_top: Whether to include the `predictions` layer.
        weights: `None` (random initialization) or the path to a weights file.
        input_tensor: Optional Keras tensor to use as the model's input.
        input_shape: Input shape `(height, width, channels)`, both sides at
            least 8. Defaults to `(32, 32, 3)`.
        pooling: With `include_top=False`: `None` (4-D feature map),
            `"avg"` or `"max"` (global pooling to a vector).
        classes: Number of classes, with `include_top=True`.
        classifier_activation: Activation of the `predictions` layer.
        name: Model name.
        switcher: Switcher setting of the switched layer (see
            `SwitchedDense`).
        switched: `False` builds a plain `Dense` classifier for comparison.
        small_inputs: `None` picks the stem from the input size; `True` or
            `False` forces the small-image or the ImageNet stem.
        target_sparsity: `None`, a float (the overall fraction of the
            head's connections to switch off, an extension) or a
            `keras_switcher.SparsityPlan`.
        kernel_initializer: Initializer of the dense kernels.
        use_bias: Whether the dense layers have biases.
        **model_kwargs: Arguments of the returned `SwitchedModel`
            (`alternate`, `warmup_epochs`, `gate_cache_steps`, ...).

    Returns:
        A `SwitchedModel`, or a `keras.Model` when `switched=False` or
        `include_top=False`.

    Example:

    >>> model = {function}(classes=10, switcher=UNetSwitcher(depth=2))
    >>> model.get_layer("predictions").__class__.__name__
    'SwitchedDense'
    """


def ResNet18(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
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
    return _resnet((2, 2, 2, 2), "resnet18", **locals())


def ResNet34(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
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
    return _resnet((3, 4, 6, 3), "resnet34", **locals())


ResNet18.__doc__ = _DOC.format(
    title="ResNet18",
    blocks="2, 2, 2, 2",
    function="ResNet18",
    counts=(
        "Trainable parameters with the plain head: 11,689,512 at 224x224 "
        "with 1,000 classes (torchvision's count); 11,173,962 with the "
        "small-image stem and 10 classes."
    ),
)
ResNet34.__doc__ = _DOC.format(
    title="ResNet34",
    blocks="3, 4, 6, 3",
    function="ResNet34",
    counts=(
        "Trainable parameters with the plain head: 21,797,672 at 224x224 "
        "with 1,000 classes (torchvision's count); 21,282,122 with the "
        "small-image stem and 10 classes."
    ),
)
