"""VGG16 with a switched fully connected head."""

import keras

from keras_switcher.applications import _common

_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def VGG16(
    include_top=True,
    weights=None,
    input_tensor=None,
    input_shape=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="vgg16",
    switcher=None,
    switched=True,
    small_inputs=None,
    target_sparsity=None,
    kernel_initializer="glorot_uniform",
    use_bias=True,
    **model_kwargs,
):
    """Instantiates VGG16 with a switched fully connected head.

    Thirteen 3x3 convolutions in five blocks, each block ending in 2x2
    max-pooling, named as in `keras.applications.VGG16`. Images larger
    than 32x32 get Keras's ImageNet layout exactly: flatten, `fc1` (4096,
    ReLU), `fc2` (4096, ReLU), `predictions`; with the plain head the
    parameter count equals `keras.applications.VGG16`'s. Images up to
    32x32 (CIFAR, MNIST) get the usual CIFAR variant: batch normalisation
    after every convolution, `"same"` pooling (so 28x28 works), and a head
    of `fc1` (512), `fc2` (512), `predictions`: 15,253,578 trainable
    parameters (15,262,026 with the normalisation statistics) with 10
    classes and 32x32x3 inputs. All three dense layers are switched.

    Args:
        include_top: Whether to include the three dense layers.
        weights: `None` (random initialization), `"imagenet"` (the Keras
            ImageNet weights of the convolutions, downloaded on first use;
            the head stays random) or the path to a weights file.
        input_tensor: Optional Keras tensor to use as the model's input.
        input_shape: Input shape `(height, width, channels)`, both sides at
            least 16 (32 with the ImageNet layout). Defaults to `(32, 32, 3)`.
        pooling: With `include_top=False`: `None`, `"avg"` or `"max"`.
        classes: Number of classes, with `include_top=True`.
        classifier_activation: Activation of the `predictions` layer.
        name: Model name.
        switcher: Switcher setting of every switched layer; each layer gets
            its own copy. The default U-Net on the ImageNet head's
            25088x4096 kernel is heavy: prefer a light `UNetSwitcher` and
            `gate_cache_steps` there.
        switched: `False` builds plain `Dense` layers for comparison.
        small_inputs: `None` picks the layout from the input size; `True`
            or `False` forces the CIFAR or the ImageNet layout.
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

    >>> model = VGG16(classes=10, switcher=UNetSwitcher(depth=2))
    >>> [layer.name for layer in model.switched_layers]
    ['fc1', 'fc2', 'predictions']
    """
    _common.check_weights(weights, imagenet=True)
    plan = _common.sparsity_plan(target_sparsity, switched, include_top)
    _common.check_classes(classes)
    _common.check_pooling(pooling)
    input_shape = _common.image_shape(input_shape, (32, 32, 3), 16)
    small = _common.is_small(input_shape, small_inputs)
    if not small:
        _common.image_shape(input_shape, None, 32)
    image_input = _common.model_input(input_tensor, input_shape)
    x = image_input
    for block, (filters, convolutions) in enumerate(_BLOCKS, start=1):
        for index in range(1, convolutions + 1):
            prefix = f"block{block}_conv{index}"
            x = keras.layers.Conv2D(
                filters, 3, padding="same", activation=None if small else "relu", name=prefix
            )(x)
            if small:
                x = keras.layers.BatchNormalization(name=f"{prefix}_bn")(x)
                x = keras.layers.ReLU(name=f"{prefix}_relu")(x)
        x = keras.layers.MaxPooling2D(
            2, strides=2, padding="same" if small else "valid", name=f"block{block}_pool"
        )(x)
    if include_top:
        width = 512 if small else 4096
        x = keras.layers.Flatten(name="flatten")(x)
        x = _common.head(
            x,
            [
                (width, "fc1", "relu"),
                (width, "fc2", "relu"),
                (classes, "predictions", classifier_activation),
            ],
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
        name,
        switched and include_top,
        None if weights == "imagenet" else weights,
        plan=plan,
        **model_kwargs,
    )
    if weights == "imagenet":
        _common.load_imagenet_backbone(model, keras.applications.VGG16)
    return model
