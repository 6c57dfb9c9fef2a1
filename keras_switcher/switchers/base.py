"""The base of every switcher: a rule scores connections, the base gates them."""

import keras
from keras import ops

from keras_switcher.sparsity.allocations import lowest

GATES = ("relu", "binary")
GRANULARITIES = ("connection", "neuron")


def standardise(x, epsilon=1e-5):
    """Shifts and scales `x` to zero mean and unit variance over all its
    values, computed in float32 (float16's range is too narrow for `rsqrt`)."""
    dtype = x.dtype
    x = ops.cast(x, "float32")
    mean, variance = ops.moments(x, axes=list(range(len(x.shape))))
    return ops.cast((x - mean) * ops.rsqrt(variance + epsilon), dtype)


def block_means(scores, block_size):
    """Averages `scores` over groups of `block_size` consecutive rows.

    The last group may be shorter; it is averaged over the rows it has.
    """
    rows = scores.shape[0]
    padded = ops.pad(scores, [[0, -rows % block_size], [0, 0]])
    sums = ops.sum(ops.reshape(padded, (-1, block_size, scores.shape[1])), axis=1)
    counts = [block_size] * (rows // block_size) + ([rows % block_size] if rows % block_size else [])
    return sums / ops.convert_to_tensor(counts, dtype=scores.dtype)[:, None]


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected one of "
            f"{choices}. Received: {name}={value!r}"
        )


def check_non_negative_float(name, value):
    """Raises unless `value` is a finite number >= 0; returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a non-negative "
            f"float. Received: {name}={value!r}"
        )
    return float(value)


def _check_positive_int(name, value, hint=""):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive "
            f"integer{hint}. Received: {name}={value!r}"
        )


@keras.saving.register_keras_serializable(package="keras_switcher")
class Switcher(keras.layers.Layer):
    """Base class of switchers: a scoring rule, turned into a gate here.

    A switcher reads a 2-D kernel of shape `(input_dim, units)` and returns a
    non-negative gate of the same shape; `SwitchedDense` multiplies its
    kernel by it. A connection whose gate is `0` is switched off.

    A rule writes one method, `scores(kernel)`: how much each connection is
    worth, higher is kept. The base does the rest:

    - with `target_sparsity`, it switches off exactly `round(sparsity * n)`
      of the `n` scores (blocks or neurons), the lowest, ties broken by
      position (`keras_switcher.sparsity.lowest`, one sort: exact for any
      kernel size). `sparsity` is a non-trainable variable that starts at
      `target_sparsity` and that `SparsityRamp` moves;
    - with `block_size > 1`, scores are averaged over blocks of
      `block_size` consecutive inputs of one unit (TFLite's sparse layout:
      `4` for float models, `16` for int8), and blocks are switched;
    - `gate="binary"` gives a 0/1 mask (with a straight-through gradient
      to the scores, for rules that learn); `gate="relu"` is the paper's
      gate `ReLU(scores)`, which also rescales the kept weights, and with
      a target `ReLU(scores - threshold)` over the kept connections,
      divided by its mean over them so the kernel keeps its scale.

    The contract, checked when a `SwitchedDense` builds its switcher
    (`keras_switcher.switchers.check_contract`):

    - `scores(kernel)` returns a tensor of the kernel's shape, or of shape
      `(input_dim, 1)` when the class sets `granularity = "neuron"` (one
      score per input neuron). It is a function of the kernel and the
      switcher's own state only, so cached gates and exported masks stay
      valid. A rule whose attribute `gradient_input` is `True` is called as
      `scores(kernel, gate_gradient=...)` with its layer's running gate
      gradient and must accept `gate_gradient=None`.
    - A rule with trainable weights creates them in `build(kernel_shape)`
      (calling `super().build(kernel_shape)`); they are trained in the
      switcher phase only. A rule without them (magnitude, movement) needs
      no switcher optimiser, and its model has no switcher phase.
    - A rule whose attribute `observes_task_gradient` is `True` has an
      `observe(gate_gradient)` method, called after every task step with the
      loss gradient with respect to its gate, `W * dL/d(W * G)` (movement
      pruning's signal); it needs cached gates.
    - `get_config()` returns every constructor argument, so that
      `switchers.fresh` can copy the setting for another layer and saved
      models rebuild it.

    Args:
        target_sparsity: `None` (the gate's sparsity is the rule's own:
            scores at or below zero are off) or the fraction of scores to
            switch off, a float in `[0, 1)`.
        gate: `"relu"` or `"binary"`, see above.
        block_size: Positive integer: how many consecutive inputs of a unit
            share one gate. `1` switches single connections.
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    A rule in a few lines, keeping the connections with the largest
    `|w| * |mean input weight|`:

    >>> class RowWeighted(Switcher):
    ...     def scores(self, kernel):
    ...         row = keras.ops.mean(keras.ops.abs(kernel), axis=1, keepdims=True)
    ...         return keras.ops.abs(kernel) * row
    >>> layer = SwitchedDense(4, switcher=RowWeighted(target_sparsity=0.5, gate="binary"))
    >>> y = layer(keras.ops.ones((2, 6)))
    >>> layer.sparsity()
    0.5
    """

    #: What one score stands for: a `"connection"` or an input `"neuron"`.
    granularity = "connection"
    #: Whether `scores` also takes the layer's running gate gradient.
    gradient_input = False
    #: Whether the rule observes the task steps' gate gradients (`observe`).
    observes_task_gradient = False

    def __init__(self, target_sparsity=None, gate="relu", block_size=1, **kwargs):
        super().__init__(**kwargs)
        if target_sparsity is not None and (
            isinstance(target_sparsity, bool)
            or not isinstance(target_sparsity, (int, float))
            or not 0 <= target_sparsity < 1
        ):
            raise ValueError(
                "Received an invalid value for `target_sparsity`, expected "
                "None or a float in [0, 1). "
                f"Received: target_sparsity={target_sparsity!r}"
            )
        _check_choice("gate", gate, GATES)
        _check_positive_int(
            "block_size", block_size, " (4 for TFLite's float sparse kernel, 16 for int8)"
        )
        self.target_sparsity = target_sparsity
        self.gate = gate
        self.block_size = block_size

    def build(self, kernel_shape):
        if len(kernel_shape) != 2:
            raise ValueError(
                f"{self.__class__.__name__} expects a 2-D kernel. "
                f"Received: kernel_shape={tuple(kernel_shape)}"
            )
        if self.target_sparsity is not None:
            self.sparsity = self.add_weight(
                name="sparsity",
                shape=(),
                initializer=keras.initializers.Constant(self.target_sparsity),
                trainable=False,
            )

    def scores(self, kernel):
        """How much each connection (or input neuron) is worth.

        Args:
            kernel: The 2-D kernel, `(input_dim, units)`.

        Returns:
            A tensor of the kernel's shape (`(input_dim, 1)` for a neuron
            rule); higher scores are kept.
        """
        raise NotImplementedError(
            f"{self.__class__.__name__} must implement `scores(kernel)`, the "
            "one method of a switcher's rule."
        )

    def expected_scores_shape(self, kernel_shape):
        """The shape `scores` must return for a kernel of `kernel_shape`."""
        rows, units = kernel_shape
        return (rows, 1) if self.granularity == "neuron" else (rows, units)

    def gate_from_scores(self, scores, kernel_shape):
        """Turns `scores(kernel)` into the gate of a kernel of `kernel_shape`.

        Args:
            scores: What `scores` returned.
            kernel_shape: The kernel's shape.

        Returns:
            The non-negative gate, of `kernel_shape`.
        """
        if not self.trainable_weights:
            # A rule without weights learns nothing from the gate: its
            # scores carry no gradient into the kernel.
            scores = ops.stop_gradient(scores)
        if self.block_size > 1:
            scores = block_means(scores, self.block_size)
        if self.target_sparsity is None:
            kept = ops.cast(scores > 0, scores.dtype)
            threshold = ops.zeros((), scores.dtype)
        else:
            flat = ops.reshape(scores, (-1,))
            count = ops.round(ops.cast(self.sparsity, "float32") * flat.shape[0])
            kept = ops.reshape(1.0 - lowest(flat, count), scores.shape)
            # The highest score switched off (below every score when none is).
            threshold = ops.stop_gradient(
                ops.max(ops.where(kept > 0, ops.min(scores) - 1.0, scores))
            )
        if self.gate == "binary":
            # Straight-through: the value is the mask, the gradient flows to
            # the scores as if the gate were the identity.
            gate = kept + (scores - ops.stop_gradient(scores))
        else:
            gate = ops.relu(scores - threshold)
            if self.target_sparsity is not None:
                # A kept score equal to the threshold stays on (barely).
                gate = kept * ops.maximum(gate, 1e-6)
                # Kept gates average 1: the kernel keeps its scale at any sparsity.
                count_kept = ops.maximum(ops.sum(kept), 1.0)
                gate = gate / ops.stop_gradient(ops.sum(gate) / count_kept)
        if self.block_size > 1:
            gate = ops.repeat(gate, self.block_size, axis=0)[: kernel_shape[0]]
        return ops.broadcast_to(gate, kernel_shape)

    def scores_with(self, kernel, gate_gradient=None):
        """`scores(kernel)`, with `gate_gradient` for a rule that reads it.

        Args:
            kernel: The 2-D kernel.
            gate_gradient: The layer's running gate gradient, or `None`.

        Returns:
            What `scores` returns.
        """
        if self.gradient_input:
            return self.scores(kernel, gate_gradient=gate_gradient)
        return self.scores(kernel)

    def call(self, kernel, gate_gradient=None):
        return self.gate_from_scores(self.scores_with(kernel, gate_gradient), kernel.shape)

    def compute_output_shape(self, kernel_shape):
        return tuple(kernel_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "target_sparsity": self.target_sparsity,
                "gate": self.gate,
                "block_size": self.block_size,
            }
        )
        return config
