"""What every switched layer shares: a kernel multiplied by its switcher's gate.

A switched layer (`SwitchedDense`, `SwitchedEinsumDense`) owns a switcher
that reads the layer's kernel and returns a gate of the same shape. Where
the layer takes the gate from when it is called is its *gate source*:

- `"switcher"`: computed from the kernel in the call (the authors' way, and
  the default outside `SwitchedModel`);
- `"cache"`: the gate cached during training (`keras_switcher.gate_cache`);
- `"serving"`: `kernel * gate`, computed once per change of the weights,
  which `SwitchedModel` uses for `predict` and `evaluate`;
- `"none"`: no gate (the dense warm-up).

Switchers see the kernel as a matrix: its first axis (the inputs of a
`Dense` kernel) by all the others.
"""

import contextlib
import math

from keras import ops

from keras_switcher import keras_internals, switchers

#: Where a switched layer takes its gate from when it is called.
GATE_SOURCES = ("switcher", "cache", "serving", "none")


@contextlib.contextmanager
def gate_source(layers, source):
    """Within this scope, the given layers take their gate from `source`.

    `SwitchedModel` traces each phase of its training step in such a scope:
    `"none"` for the dense warm-up, `"cache"` with cached gates, and its
    `predict` and `evaluate` in `"serving"`.

    Args:
        layers: Switched layers.
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


def refuse_quantization_and_lora(lora_rank=None, lora_alpha=None, quantization_config=None):
    """Raises unless the `Dense` arguments a switched layer cannot take are `None`."""
    for name, value in (
        ("lora_rank", lora_rank),
        ("lora_alpha", lora_alpha),
        ("quantization_config", quantization_config),
    ):
        if value is not None:
            raise ValueError(
                f"Received {name}={value!r}: a switched layer takes neither "
                "LoRA nor quantization, whose kernels its gate cannot switch. "
                "Switch and train the model, then call "
                "`keras_switcher.strip(model)`: its plain Keras layers take "
                "`enable_lora` and `model.quantize(...)`."
            )


class GatedKernel:
    """The gate of a layer's kernel: computed, cached, served and counted.

    A mixin for a `keras.layers.Layer` with a `kernel` (and a `bias` or
    `None`). The layer calls `_init_gating(switcher)` in `__init__`,
    `_build_gating()` at the end of `build`, and multiplies its inputs by
    `gated_kernel()` in `call`.

    Quantization and LoRA are not supported while a layer is switched:
    `keras_switcher.strip` returns plain Keras layers, which take both.
    """

    def _init_gating(self, switcher):
        if self.dtype_policy.quantization_mode is not None:
            refuse_quantization_and_lora(quantization_config=self.dtype_policy.name)
        switcher = switchers.get(switcher)
        owner = getattr(switcher, "_owner", None)
        if owner is not None:
            raise ValueError(
                f"Received a switcher that already belongs to layer '{owner}': "
                "each switched layer needs a switcher of its own (its weights "
                "are shaped by the layer's kernel). Pass a new instance, or "
                "`keras_switcher.switchers.fresh(switcher)` for a copy of its "
                f"setting. Received: switcher={switcher.name!r}"
            )
        switcher._owner = self.name
        self.switcher = switcher
        self.gate_source = "switcher"
        self.caches_gate = False
        self.serves_gate = False
        self.serving_gate_fresh = False

    @property
    def gate_shape(self):
        """The kernel as the switcher sees it: `(first axis, the rest)`."""
        shape = tuple(self.kernel.shape)
        return (shape[0], math.prod(shape[1:]))

    def _build_gating(self):
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
            self.gate_gradient_average = self._kernel_shaped(
                "gate_gradient_average", aggregation="none"
            )
        if not self.switcher.built:
            self.switcher.build(self.gate_shape)
        switchers.check_contract(self.switcher, self.gate_shape)
        if self.caches_gate:
            self._add_gate_cache()
        if self.serves_gate:
            self._add_serving_kernel()

    def _add_state(self, add):
        """Runs `add()`, which creates variables, also after `build`."""
        if not self.built:
            return  # `_build_gating` adds them.
        with keras_internals.adding_state(self):
            add()

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
        self._add_state(self._add_gate_cache)

    def _kernel_shaped(self, name, aggregation="only_first_replica"):
        """A new non-trainable variable of the kernel's shape, zeros."""
        return self.add_weight(
            name=name,
            shape=tuple(self.kernel.shape),
            initializer="zeros",
            trainable=False,
            aggregation=aggregation,
        )

    def _add_gate_cache(self):
        self.cached_gate = self._kernel_shaped("cached_gate")
        self.gate_gradient = self._kernel_shaped("gate_gradient", aggregation="sum")

    def enable_serving_gate(self):
        """Gives the layer `serving_kernel`, the kernel times its gate.

        `SwitchedModel` calls it for every switched layer. Within
        `gate_source(layers, "serving")` the layer then multiplies its inputs
        by `serving_kernel`, which `refresh_serving_kernel` computes, so
        inference costs what the stripped layer costs. The variable is not
        saved: it is recomputed from the kernel. Calling it again does
        nothing.
        """
        if self.serves_gate:
            return
        self.serves_gate = True
        self._add_state(self._add_serving_kernel)

    def _add_serving_kernel(self):
        self.serving_kernel = self._kernel_shaped("serving_kernel")

    def refresh_serving_kernel(self):
        """Stores `kernel * gate` of the current weights in `serving_kernel`."""
        kernel = ops.convert_to_tensor(self.kernel)
        gate = self.compute_gate(kernel)
        self.serving_kernel.assign(kernel * gate)
        self._observe_sparsity(gate)
        self.serving_gate_fresh = True

    @property
    def reads_gate_gradient(self):
        """Whether the switcher also reads the running gate gradient."""
        return bool(self.switcher.gradient_input)

    @property
    def observes_task_gradient(self):
        """Whether the switcher is handed each task step's gate gradient."""
        return bool(self.switcher.observes_task_gradient)

    def observe_gate_gradient(self, gradient):
        """Hands a task step's gradient on the gate to the switcher.

        Args:
            gradient: The loss gradient with respect to the gate, of the
                kernel's shape.
        """
        self.switcher.observe(ops.reshape(gradient, self.gate_shape))

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
        matrix = ops.reshape(kernel, self.gate_shape)
        gate_gradient = self._gate_gradient_input(kernel)
        if gate_gradient is None:
            gate = self.switcher(matrix)
        else:
            gate = self.switcher(matrix, gate_gradient=gate_gradient)
        if tuple(gate.shape) != self.gate_shape:
            raise ValueError(
                f"The switcher of layer '{self.name}' must return a gate of "
                f"the kernel's shape {self.gate_shape}. Received a gate "
                f"of shape {tuple(gate.shape)} from "
                f"{self.switcher.__class__.__name__}."
            )
        return ops.cast(ops.reshape(gate, kernel.shape), kernel.dtype)

    def compute_scores(self, kernel):
        """The switcher's scores of a kernel (`Switcher.scores`).

        Args:
            kernel: A tensor of the layer's kernel shape.

        Returns:
            The scores its gate thresholds, for the kernel as a matrix
            (`gate_shape`).
        """
        matrix = ops.reshape(kernel, self.gate_shape)
        return self.switcher.scores_with(matrix, self._gate_gradient_input(kernel))

    def _gate_gradient_input(self, kernel):
        """The running gate gradient a reading switcher takes, else `None`."""
        if not self.reads_gate_gradient:
            return None
        average = ops.convert_to_tensor(self.gate_gradient_average)
        return ops.cast(ops.reshape(average, self.gate_shape), kernel.dtype)

    def refresh_cached_gate(self, scores=None):
        """Stores the switcher's gate of the current kernel in `cached_gate`.

        Args:
            scores: `None`, or `compute_scores(kernel)` already computed,
                which the switcher then only thresholds.
        """
        kernel = ops.convert_to_tensor(self.kernel)
        if scores is None:
            gate = self.compute_gate(kernel)
        else:
            gate = self.switcher.gate_from_scores(scores, self.gate_shape)
            gate = ops.cast(ops.reshape(gate, kernel.shape), kernel.dtype)
        self.cached_gate.assign(gate)
        # The cached gate's sparsity holds until the next refresh.
        self._observe_sparsity(gate)

    def _observe_sparsity(self, gate):
        self.observed_sparsity.assign(ops.mean(ops.cast(ops.less_equal(gate, 0), "float32")))

    def gated_kernel(self):
        """The kernel times the gate of the layer's `gate_source`.

        Returns:
            The tensor the layer's call multiplies its inputs by.
        """
        kernel = self.kernel
        if self.gate_source == "none":
            return kernel
        if self.gate_source == "serving" and self.serves_gate:
            return ops.cast(self.serving_kernel, kernel.dtype)
        if self.gate_source == "cache":
            return kernel * ops.cast(self.cached_gate, kernel.dtype)
        gate = self.compute_gate(kernel)
        self._observe_sparsity(gate)
        return kernel * gate

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

    def _assert_built(self, method):
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so it has no kernel: "
                f"call it on an input (or call `build`) before `{method}()`."
            )

    # Weights in and out: those of the plain layer are accepted too.

    def _plain_variables(self):
        """The variables the plain Keras layer has: the kernel and bias."""
        return [self.kernel] + ([self.bias] if self.bias is not None else [])

    def _stored_variables(self):
        """The layer's own variables that files hold (not `serving_kernel`)."""
        variables = keras_internals.own_variables(self)
        if self.serves_gate:
            variables = [v for v in variables if v is not self.serving_kernel]
        return variables

    def set_weights(self, weights):
        """Sets the layer's weights, or only its kernel and bias.

        Args:
            weights: The values of `layer.weights` (the switcher's
                included), or those of the plain Keras layer (`[kernel,
                bias]`, as `Dense.get_weights()` returns them), which leave
                the switcher as it is.
        """
        plain = self._plain_variables()
        if len(weights) == len(plain) and len(weights) != len(self.weights):
            for variable, value in zip(plain, weights):
                if tuple(variable.shape) != tuple(value.shape):
                    raise ValueError(
                        f"Layer {self.name} weight shape {variable.shape} is not "
                        f"compatible with provided weight shape {value.shape}."
                    )
                variable.assign(value)
        else:
            super().set_weights(weights)
        self.serving_gate_fresh = False

    def save_own_variables(self, store):
        for index, variable in enumerate(self._stored_variables()):
            store[f"{index}"] = variable

    def load_own_variables(self, store):
        """Loads the layer's variables, as `save_own_variables` wrote them."""
        variables = self._stored_variables()
        count = len(store.keys())
        if count != len(variables):
            raise ValueError(
                f"Layer '{self.name}' expected {len(variables)} variables, but "
                f"received {count} variables during loading."
            )
        for index, variable in enumerate(variables):
            variable.assign(store[f"{index}"])
        self.serving_gate_fresh = False

    def quantize(self, mode=None, **kwargs):
        raise NotImplementedError(
            f"Layer '{self.name}' is switched, and a switched layer cannot be "
            f"quantized (Received: mode={mode!r}): its gate is computed from "
            "the float kernel. Call `keras_switcher.strip(model)` first: the "
            "stripped model's plain Keras layers hold `kernel * gate` and take "
            "`model.quantize(...)`; or export with "
            "`keras_switcher.to_tflite(model, path, quantize=...)`."
        )

    def enable_lora(self, rank, *args, **kwargs):
        raise NotImplementedError(
            f"Layer '{self.name}' is switched, and a switched layer cannot "
            f"take LoRA (Received: rank={rank!r}): the gate switches the "
            "kernel's own connections. Call `keras_switcher.strip(model)` "
            "first and `enable_lora` on the stripped model's layers (or on "
            "the plain model before `switch()`)."
        )
