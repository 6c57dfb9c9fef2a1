"""`SwitchedDense`: a dense layer whose connections a switcher turns on and off."""

import contextlib

import keras
from keras import activations, constraints, initializers, ops, regularizers

from keras_switcher import switchers

#: Where a `SwitchedDense` takes its gate from when it is called.
GATE_SOURCES = ("switcher", "cache", "none")


@contextlib.contextmanager
def gate_source(layers, source):
    """Within this scope, the given layers take their gate from `source`.

    `SwitchedModel` traces each phase of its training step in such a scope:
    `"none"` for the dense warm-up, `"cache"` with cached gates.

    Args:
        layers: `SwitchedDense` layers.
        source: One of `GATE_SOURCES`.
    """
    previous = [layer.gate_source for layer in layers]
    for layer in layers:
        layer.gate_source = source
    try:
        yield
    finally:
        for layer, value in zip(layers, previous):
            layer.gate_source = value


@keras.saving.register_keras_serializable(package="keras_switcher")
class SwitchedDense(keras.layers.Layer):
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
            (`"unet"`, the default, the authors' U-Net; `"neuron"`,
            `"magnitude"`, `"movement"`, `"movement+magnitude"`: see
            `keras_switcher.switchers`), a `Switcher` instance owned by this
            layer alone (one given to a second layer is refused), or a
            serialized switcher.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

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
        **kwargs,
    ):
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
        switcher = switchers.get(switcher)
        owner = getattr(switcher, "_owner", None)
        if owner is not None:
            raise ValueError(
                f"Received a switcher that already belongs to layer '{owner}': "
                "each SwitchedDense needs a switcher of its own (its weights "
                "are shaped by the layer's kernel). Pass a new instance, or "
                "`keras_switcher.switchers.fresh(switcher)` for a copy of its "
                f"setting. Received: switcher={switcher.name!r}"
            )
        switcher._owner = self.name
        self.switcher = switcher
        self.gate_source = "switcher"
        self.caches_gate = False
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
        # Fraction of connections switched off by the gate of the last call;
        # read by `SwitchedModel` to log sparsity without recomputing gates.
        self.observed_sparsity = self.add_weight(
            name="observed_sparsity",
            shape=(),
            initializer="zeros",
            trainable=False,
            dtype="float32",
        )
        if self.reads_gate_gradient:
            # Running average of the loss gradient with respect to the gate,
            # an input of the switcher; moved only when the switcher is
            # updated (`GateCache.apply`), so gates stay valid in between.
            self.gate_gradient_average = self.add_weight(
                name="gate_gradient_average",
                shape=kernel_shape,
                initializer="zeros",
                trainable=False,
            )
        if not self.switcher.built:
            self.switcher.build(kernel_shape)
        switchers.check_contract(self.switcher, kernel_shape)
        if self.caches_gate:
            self._add_gate_cache()
        self.input_spec = keras.layers.InputSpec(
            min_ndim=2, axes={-1: input_shape[-1]}
        )

    def enable_gate_cache(self):
        """Gives the layer a cached gate and an accumulator of its gradient.

        `SwitchedModel` calls it for every switched layer when it is built
        with `gate_refresh_steps`. Within `gate_source(layers, "cache")` the
        layer then multiplies its kernel by `cached_gate` (refreshed with
        `refresh_cached_gate`) instead of running its switcher, and
        `gate_gradient` holds the switcher phase's summed loss gradient with
        respect to that gate. Calling it again does nothing.
        """
        if self.caches_gate:
            return
        self.caches_gate = True
        if self.built:
            # As `keras.layers.Dense.enable_lora`: new state after `build`.
            self._tracker.unlock()
            self._add_gate_cache()
            self._tracker.lock()

    def _add_gate_cache(self):
        shape = tuple(self.kernel.shape)
        self.cached_gate = self.add_weight(
            name="cached_gate",
            shape=shape,
            initializer="zeros",
            trainable=False,
            aggregation="only_first_replica",
        )
        self.gate_gradient = self.add_weight(
            name="gate_gradient",
            shape=shape,
            initializer="zeros",
            trainable=False,
            aggregation="sum",
        )

    @property
    def reads_gate_gradient(self):
        """Whether the switcher also reads the running gate gradient."""
        return bool(self.switcher.gradient_input)

    @property
    def observes_task_gradient(self):
        """Whether the switcher is handed each task step's gate gradient."""
        return bool(self.switcher.observes_task_gradient)

    def update_gate_gradient_average(self, gradient, decay=0.5):
        """Moves `gate_gradient_average` towards a mean gate gradient."""
        average = self.gate_gradient_average
        average.assign(decay * average + (1.0 - decay) * gradient)

    def compute_gate(self, kernel):
        """Runs the switcher on a kernel: the one place a gate is computed.

        Args:
            kernel: A tensor of the layer's kernel shape.

        Returns:
            The non-negative gate, of the kernel's shape and dtype.
        """
        gate_gradient = self._gate_gradient_input(kernel)
        if gate_gradient is None:
            gate = self.switcher(kernel)
        else:
            gate = self.switcher(kernel, gate_gradient=gate_gradient)
        if tuple(gate.shape) != tuple(kernel.shape):
            raise ValueError(
                f"The switcher of layer '{self.name}' must return a gate of "
                f"the kernel's shape {tuple(kernel.shape)}. Received a gate "
                f"of shape {tuple(gate.shape)} from "
                f"{self.switcher.__class__.__name__}."
            )
        return ops.cast(gate, kernel.dtype)

    def compute_scores(self, kernel):
        """The switcher's scores of a kernel (`Switcher.scores`).

        Args:
            kernel: A tensor of the layer's kernel shape.

        Returns:
            The scores its gate thresholds.
        """
        return self.switcher.scores_with(kernel, self._gate_gradient_input(kernel))

    def _gate_gradient_input(self, kernel):
        """The running gate gradient a reading switcher takes, else `None`."""
        if not self.reads_gate_gradient:
            return None
        return ops.cast(ops.convert_to_tensor(self.gate_gradient_average), kernel.dtype)

    def refresh_cached_gate(self, scores=None):
        """Stores the switcher's gate of the current kernel in `cached_gate`.

        Args:
            scores: `None`, or `compute_scores(kernel)` already computed,
                which the switcher then only thresholds.
        """
        if scores is None:
            gate = self.compute_gate(self.kernel)
        else:
            kernel = ops.convert_to_tensor(self.kernel)
            gate = ops.cast(self.switcher.gate_from_scores(scores, kernel.shape), kernel.dtype)
        self.cached_gate.assign(gate)
        # The cached gate's sparsity holds until the next refresh.
        self._observe_sparsity(gate)

    def _observe_sparsity(self, gate):
        self.observed_sparsity.assign(ops.mean(ops.cast(ops.less_equal(gate, 0), "float32")))

    def call(self, inputs):
        kernel = self.kernel
        if self.gate_source != "none":
            if self.gate_source == "cache":
                gate = ops.cast(self.cached_gate, kernel.dtype)
            else:
                gate = self.compute_gate(kernel)
                self._observe_sparsity(gate)
            kernel = kernel * gate
        outputs = ops.matmul(inputs, kernel)
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def gate(self):
        """Returns the current gate, a tensor of the kernel's shape.

        Returns:
            The non-negative gate `switcher(kernel)`.
        """
        self._assert_built("gate")
        return self.compute_gate(ops.convert_to_tensor(self.kernel))

    def mask(self):
        """Returns the connections that are switched on.

        Returns:
            A boolean tensor of the kernel's shape, `True` where `gate > 0`.
        """
        return ops.greater(self.gate(), 0)

    def sparsity(self):
        """Returns the fraction of connections switched off.

        Returns:
            A Python float in `[0, 1]`, counted from the current gate.
        """
        mask = ops.convert_to_numpy(self.mask())
        return float(1.0 - mask.mean())

    def load_own_variables(self, store):
        """Loads the layer's variables; files saved before the gate cache
        moved into the layer hold only the first three, and the cache then
        keeps what the model's own variables gave it."""
        variables = self._trainable_variables + self._non_trainable_variables
        if self.caches_gate and len(store.keys()) == len(variables) - 2:
            for index, variable in enumerate(variables[:-2]):
                variable.assign(store[f"{index}"])
            return
        super().load_own_variables(store)

    def _assert_built(self, method):
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so it has no kernel: "
                f"call it on an input (or call `build`) before `{method}()`."
            )

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
