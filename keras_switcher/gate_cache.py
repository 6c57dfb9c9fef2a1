"""Cached gates: run the switchers once per many steps instead of every step.

A switcher's cost depends on the kernel's size, not on the batch, and for a
small dense head it is far larger than the head itself. With a cache:

- in the task phase the gates are computed once every `steps` steps and
  held fixed in between (no gradient flows through the switchers into the
  kernels);
- in the switcher phase the kernels are frozen, so the gates only change
  when the switchers do. Each step adds the loss gradient with respect to
  the gates to an accumulator; every `steps` steps (and when the phase
  ends) one backward pass through the switchers turns the mean accumulated
  gradient into one switcher update, which is exactly the gradient of a
  batch `steps` times larger.
"""

import keras
from keras import ops


class GateCache:
    """Holds the cached gates, their gradient accumulators and two counters.

    Args:
        layers: The `SwitchedDense` layers of the model, built.
        steps: Positive integer: task steps between gate refreshes, and
            switcher steps accumulated per switcher update.
    """

    def __init__(self, layers, steps):
        self.layers = layers
        self.steps = steps

        def state(layer, kind, aggregation):
            return keras.Variable(
                ops.zeros(layer.kernel.shape),
                trainable=False,
                name=f"{layer.name}_{kind}",
                aggregation=aggregation,
            )

        self.gates = [state(layer, "cached_gate", "only_first_replica") for layer in layers]
        self.gradients = [state(layer, "gate_gradient", "sum") for layer in layers]
        # [switcher steps accumulated, task steps since the last refresh + 1;
        #  0 means the cache was never filled].
        self.counters = keras.Variable(
            [0, 0],
            dtype="int64",
            trainable=False,
            name="gate_cache_counters",
            aggregation="only_first_replica",
        )

    def variables(self):
        """All the cache's variables, for the model to track and save."""
        return self.gates + self.gradients + [self.counters]

    def counts(self):
        """Reads both counters at once.

        Returns:
            `(pending, age)`: switcher steps accumulated but not yet
            applied, and task steps since the last refresh plus one (`0`
            when the cache was never filled).
        """
        pending, age = ops.convert_to_numpy(self.counters)
        return int(pending), int(age)

    def refresh_due(self, age, task_phase):
        """Whether the gates must be recomputed before the next step.

        Args:
            age: The second value of `counts()`.
            task_phase: `True` before a task step, `False` before a switcher
                step, which needs gates of the current kernels.
        """
        return age == 0 or age > (self.steps if task_phase else 1)

    def mapping(self):
        """Dict from layer to its cached gate, for `given_gates`."""
        return {layer: gate.value for layer, gate in zip(self.layers, self.gates)}

    def refresh(self):
        """Recomputes every gate with the switchers."""
        for layer, gate in zip(self.layers, self.gates):
            gate.assign(ops.cast(layer.switcher(layer.kernel), gate.dtype))
        self.counters.assign([self.counters[0], 1])

    def invalidate(self):
        """Makes the next training step recompute the gates first."""
        self.counters.assign([self.counters[0], 0])

    def count_task_step(self):
        self.counters.assign_add([0, 1])

    def accumulate(self, gradients):
        """Adds the loss gradient with respect to each gate."""
        for total, gradient in zip(self.gradients, gradients):
            total.assign_add(ops.cast(gradient, total.dtype))
        self.counters.assign_add([1, 0])

    def apply(self, optimizer, switcher_variables, tape_class):
        """Turns the accumulated gate gradient into one switcher update.

        Args:
            optimizer: The switcher optimiser.
            switcher_variables: Trainable variables of all switchers.
            tape_class: The backend's gradient tape (`tf.GradientTape`).
        """
        count = ops.cast(self.counters[0], "float32")
        with tape_class() as tape:
            surrogate = sum(
                ops.sum(layer.switcher(layer.kernel) * total)
                for layer, total in zip(self.layers, self.gradients)
            ) / count
        optimizer.apply(tape.gradient(surrogate, switcher_variables), switcher_variables)
        for total in self.gradients:
            total.assign(ops.zeros_like(total))
        self.refresh()
        self.counters.assign([0, 1])
