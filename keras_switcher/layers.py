"""Switched layers: `Dense` and `EinsumDense` whose connections a switcher turns on and off."""

import keras
from keras import activations, constraints, initializers, ops, regularizers

from keras_switcher.gating import (
    GATE_SOURCES,
    GatedKernel,
    gate_source,
    refuse_quantization_and_lora,
)

__all__ = ["GATE_SOURCES", "SwitchedDense", "SwitchedEinsumDense", "gate_source"]


@keras.saving.register_keras_serializable(package="keras_switcher")
class SwitchedDense(GatedKernel, keras.layers.Layer):
    """Densely connected layer whose connections are switched by a network.

    A drop-in for `keras.layers.Dense` that owns a switcher network. It
    computes `output = activation(dot(input, kernel * gate) + bias)` with
    `gate = switcher(kernel)`: the switcher reads the kernel and returns a
    non-negative gate of the same shape, where `0` switches a connection off.
    Inputs of any rank >= 2 are contracted on their last axis, as in `Dense`.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation function to use. Default: none.
        use_bias: Boolean, whether the layer uses a bias vector.
        kernel_initializer: Initializer for the `kernel` weights matrix.
        bias_initializer: Initializer for the bias vector.
        kernel_regularizer: Regularizer applied to the `kernel`.
        bias_regularizer: Regularizer applied to the bias vector.
        activity_regularizer: Regularizer applied to the output.
        kernel_constraint: Constraint applied to the `kernel`.
        bias_constraint: Constraint applied to the bias vector.
        switcher: The rule that switches the connections: a name
            (`"unet"`, the default, the U-Net of Han & Liu; `"neuron"`,
            `"magnitude"`, `"movement"`, `"movement+magnitude"`: see
            `keras_switcher.switchers`), a `Switcher` instance owned by this
            layer alone (one given to a second layer is refused), or a
            serialized switcher.
        lora_rank: Refused unless `None`, as are `lora_alpha` and
            `quantization_config` (they are named so that a `Dense` layer's
            config is taken): quantization and LoRA work on the stripped
            model (`keras_switcher.strip`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    It takes a `Dense` layer's weights (`set_weights(dense.get_weights())`,
    or a `Dense` model's `.weights.h5` loaded into its switched twin), but
    `keras_switcher.switch(model)` is the usual way in.

    Input shape:
        N-D tensor with shape `(batch_size, ..., input_dim)`.

    Output shape:
        N-D tensor with shape `(batch_size, ..., units)`.

    Example:

    >>> layer = SwitchedDense(4, switcher=UNetSwitcher(depth=1))
    >>> y = layer(keras.ops.ones((2, 3)))
    >>> tuple(y.shape), tuple(layer.mask().shape)
    ((2, 4), (3, 4))
    """

    def __init__(
        self,
        units,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        switcher=None,
        lora_rank=None,
        lora_alpha=None,
        quantization_config=None,
        **kwargs,
    ):
        refuse_quantization_and_lora(lora_rank, lora_alpha, quantization_config)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                "Received an invalid value for `units`, expected a positive "
                f"integer. Received: units={units}"
            )
        if not isinstance(use_bias, bool):
            raise ValueError(
                "Received an invalid value for `use_bias`, expected True or "
                f"False. Received: use_bias={use_bias!r}"
            )
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._init_gating(switcher)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        kernel_shape = (input_shape[-1], self.units)
        self.kernel = self.add_weight(
            name="kernel",
            shape=kernel_shape,
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.units,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self._build_gating()
        self.input_spec = keras.layers.InputSpec(
            min_ndim=2, axes={-1: input_shape[-1]}
        )

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.gated_kernel())
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(
                    self.kernel_regularizer
                ),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "switcher": keras.saving.serialize_keras_object(self.switcher),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_switcher")
class SwitchedEinsumDense(GatedKernel, keras.layers.EinsumDense):
    """`keras.layers.EinsumDense` whose connections a switcher turns on and off.

    It computes `einsum(equation, inputs, kernel * gate)` (plus bias and
    activation) with `gate = switcher(kernel)`. The switcher sees the
    kernel as a matrix of its first axis by the others; the weightless
    rules (`"magnitude"`, `"movement"`, `"movement+magnitude"`) suit any
    kernel, and `"magnitude"` is the default here.

    Args:
        equation: As in `EinsumDense`.
        output_shape: As in `EinsumDense`.
        switcher: A switcher name, instance or config, as in `SwitchedDense`.
        **kwargs: The other arguments of `EinsumDense` (`activation`,
            `bias_axes`, initializers, regularizers, constraints, `name`);
            `lora_rank` and `quantization_config` are refused unless `None`.

    Example:

    >>> layer = SwitchedEinsumDense("abc,cde->abde", (None, 2, 4), switcher="magnitude")
    >>> tuple(layer(keras.ops.ones((1, 3, 8))).shape)
    (1, 3, 2, 4)
    >>> tuple(layer.mask().shape)  # One gate per kernel entry.
    (8, 2, 4)
    """

    def __init__(self, equation, output_shape, switcher="magnitude", **kwargs):
        refuse_quantization_and_lora(
            kwargs.pop("lora_rank", None),
            kwargs.pop("lora_alpha", None),
            kwargs.pop("quantization_config", None),
        )
        kwargs.pop("gptq_unpacked_column_size", None)
        super().__init__(equation, output_shape, **kwargs)
        self._init_gating(switcher)

    def build(self, input_shape):
        super().build(input_shape)
        self._build_gating()

    def call(self, inputs, training=None):
        outputs = ops.einsum(self.equation, inputs, self.gated_kernel())
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.pop("quantization_config", None)
        config["switcher"] = keras.saving.serialize_keras_object(self.switcher)
        return config
