"""Cached gates: run the switchers once per many steps instead of every step.

A switcher's cost depends on the kernel's size, not on the batch, and for a
small dense head it is far larger than the head itself. With a cache:

- in the task phase each layer's gate is recomputed once every
  `refresh_steps` task steps and held fixed in between, so no gradient
  flows through the switchers into the kernels;
- in the switcher phase the kernels are frozen, so the gates only change
  when the switchers do. Each step adds the loss gradient with respect to
  the gates to each layer's `gate_gradient`; every `accumulation_steps`
  steps (and when the task phase resumes) one backward pass through the
  switchers turns the mean accumulated gradient into one switcher update,
  which is exactly the gradient of a batch that many times larger.
- with `concurrent_steps` (an extension), every task step also adds its
  loss gradient with respect to the gates, which the task step's backward
  pass gives almost for free, and every `concurrent_steps` task steps one
  switcher update is made from it: the switchers learn without taking
  steps from the task weights.

The gates and their gradients belong to the layers
(`SwitchedDense.enable_gate_cache`); this module decides when they are
refreshed and applied, inside the compiled training step.
"""

import keras
from keras import ops

from keras_switcher.sparsity import plan as plan_lib


def check_steps(name, value):
    """Raises unless `value` is `None` or a positive integer."""
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or value <= 0
    ):
        raise ValueError(
            f"Received an invalid value for `{name}`, expected None or a "
            f"positive integer. Received: {name}={value!r}"
        )


class GateCache:
    """When cached gates are refreshed and accumulated gradients applied.

    Its two counters live in a variable (`counters`) that the model saves,
    so a resumed run continues the cache where it stopped.

    Args:
        layers: The `SwitchedDense` layers of the model; their gate cache
            is enabled here.
        refresh_steps: Positive integer, task steps between refreshes.
        accumulation_steps: Positive integer, switcher steps whose gate
            gradients make one switcher update.
        concurrent_steps: `None`, or a positive integer: task steps whose
            gate gradients make one switcher update.
        shared_threshold: Whether each refresh first re-splits the overall
            sparsity among the layers by one threshold on their scores (the
            `"learned"` allocation of `keras_switcher.SparsityPlan`).
        learns: Whether the switchers have weights to update; without them
            the cache only refreshes.

    Example:

    >>> model = ks.applications.LeNet300100(input_shape=(8, 8, 1), switcher=ks.UNetSwitcher(depth=1))
    >>> cache = GateCache(model.switched_layers, refresh_steps=100, accumulation_steps=100)
    >>> cache.refresh()
    >>> [tuple(gate.shape) for gate in cache.gates]
    [(64, 300), (300, 100), (100, 10)]
    """

    def __init__(
        self,
        layers,
        refresh_steps,
        accumulation_steps,
        concurrent_steps=None,
        shared_threshold=False,
        learns=True,
    ):
        self.layers = layers
        self.learns = learns
        self.shared_threshold = shared_threshold
        self.refresh_steps = refresh_steps
        self.accumulation_steps = accumulation_steps
        self.concurrent_steps = concurrent_steps
        for layer in layers:
            layer.enable_gate_cache()
        # [steps whose gate gradients are accumulated, task steps since the
        #  last refresh + 1;
        #  0 means the cache was never filled].
        self.counters = keras.Variable(
            [0, 0],
            dtype="int32",
            trainable=False,
            name="gate_cache_counters",
            aggregation="only_first_replica",
        )

    @property
    def gates(self):
        """The layers' cached gates, in layer order."""
        return [layer.cached_gate for layer in self.layers]

    def invalidate(self):
        """Makes the next training step recompute the gates first."""
        self.counters.assign(ops.stack([self.counters[0], 0]))

    def refresh(self):
        """Recomputes every layer's cached gate with its switcher.

        With `shared_threshold`, the layers' shares of the overall sparsity
        are first re-split by one threshold on their scores.
        """
        scores = [None] * len(self.layers)
        if self.shared_threshold:
            scores = plan_lib.share_by_threshold(self.layers)
        for layer, layer_scores in zip(self.layers, scores):
            layer.refresh_cached_gate(layer_scores)
        self.counters.assign(ops.stack([self.counters[0], 1]))

    def before_step(self, trainer, phase):
        """Runs before a step: applies pending gradients, refreshes if due.

        Before a task step, pending switcher gradients are applied (which
        also refreshes the gates): any, or with `concurrent_steps` once that
        many steps have accumulated. Then the gates are refreshed if
        `refresh_steps` task steps have passed. Before a switcher step, the
        gates are refreshed unless they are those of the current kernels.

        Args:
            trainer: The `SwitchedModel`, whose backend runs the conditions.
            phase: `"task"` or `"switcher"`.
        """
        counters = trainer._read(self.counters)
        if phase == "switcher":
            trainer._run_if(counters[1] != 1, self.refresh)
            return
        if self.learns:
            trainer._run_if(counters[0] >= (self.concurrent_steps or 1), self.apply, trainer)
            # Applying refreshes the gates and resets their age.
            counters = trainer._read(self.counters)
        age = counters[1]
        trainer._run_if((age == 0) | (age > self.refresh_steps), self.refresh)

    def after_step(self, trainer, phase):
        """Runs after a step: applies the switcher gradients when due."""
        if phase == "switcher":
            counters = trainer._read(self.counters)
            trainer._run_if(counters[0] >= self.accumulation_steps, self.apply, trainer)

    def count_task_step(self):
        self.counters.assign_add(ops.convert_to_tensor([0, 1], "int32"))

    def accumulate(self, gradients):
        """Adds the loss gradient with respect to each layer's gate.

        Args:
            gradients: One gradient per layer, of its kernel's shape.
        """
        for layer, gradient in zip(self.layers, gradients):
            layer.gate_gradient.assign_add(ops.cast(gradient, layer.gate_gradient.dtype))
        self.counters.assign_add(ops.convert_to_tensor([1, 0], "int32"))

    def apply(self, trainer):
        """Turns the accumulated gate gradient into one switcher update.

        The update is the gradient of `sum(gate * mean accumulated gradient)`
        with respect to the switchers' variables. Then a layer whose
        switcher reads the gate gradient moves its running average
        (`SwitchedDense.gate_gradient_average`) towards that mean, and the
        gates are refreshed and the accumulators emptied.
        """
        count = ops.cast(self.counters[0], "float32")
        optimizer = trainer.switcher_optimizer

        def surrogate():
            total = sum(
                ops.sum(layer.compute_gate(layer.kernel) * layer.gate_gradient)
                for layer in self.layers
            )
            # Scaled as the optimiser expects (a `LossScaleOptimizer`
            # divides the gradients by its scale).
            return optimizer.scale_loss(total / count), None

        variables = trainer.switcher_variables
        _, _, gradients = trainer._gradients(surrogate, variables)
        trainer._apply_gradients(optimizer, gradients, variables)
        for layer in self.layers:
            if layer.reads_gate_gradient:
                layer.update_gate_gradient_average(layer.gate_gradient / count)
            layer.gate_gradient.assign(ops.zeros(layer.gate_gradient.shape))
        self.refresh()
        self.counters.assign(ops.convert_to_tensor([0, 1], "int32"))
