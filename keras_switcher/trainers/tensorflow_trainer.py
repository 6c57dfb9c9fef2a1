"""`SwitchedModel`'s training step on the TensorFlow backend."""

import functools

import tensorflow as tf

from keras_switcher import keras_internals
from keras_switcher.trainers.base import SwitchedTrainer


class TensorFlowSwitchedTrainer(SwitchedTrainer):
    """Trains a `SwitchedModel` with `tf.GradientTape` and `tf.cond`.

    The phase is chosen on the host before each execution (each step, or
    each `steps_per_execution` steps), and one compiled function per phase
    runs it: under `tf.distribute`, an optimiser inside a `tf.cond` could
    not aggregate gradients across replicas. The gate cache's work before
    and after a step (refreshing the gates, applying a switcher update) is
    also decided on the host, from its counters, and runs in compiled
    functions of its own: inside the step's function, TensorFlow's parallel
    executor made runs with the same seed differ in the last bits, and a
    `tf.cond` holding the switchers' forward and backward passes cost about
    2 ms a step even when not taken.
    """

    def _gradients(self, loss_fn, variables):
        # The underlying tf.Variables: non-trainable ones (cached gates)
        # must be watched explicitly.
        sources = [variable.value for variable in variables]
        with tf.GradientTape() as tape:
            tape.watch(sources)
            loss, aux = loss_fn()
        return loss, aux, tape.gradient(loss, sources)

    def _read(self, variable):
        if tf.executing_eagerly():  # Between steps: one transfer to the host.
            return variable.numpy()
        return variable.value

    def _run_if(self, condition, fn, *args):
        if tf.executing_eagerly():  # Decided on the host.
            if bool(condition):
                (fn if self.run_eagerly else self._compiled(fn))(*args)
            return

        def run():
            fn(*args)
            return tf.constant(True)

        tf.cond(condition, run, lambda: tf.constant(False))

    def _compiled(self, fn):
        """`fn` (a method, such as the gate cache's `refresh`) compiled once
        per train function."""
        if getattr(self, "_compiled_methods", None) is None:
            self._compiled_methods = {}
        if fn not in self._compiled_methods:
            self._compiled_methods[fn] = tf.function(fn)
        return self._compiled_methods[fn]

    def train_step(self, data):
        """Runs one training step in the current phase of the schedule.

        Args:
            data: A batch `(x, y)` or `(x, y, sample_weight)`.

        Returns:
            The step's logs.
        """
        return self._cached_phase_train_step(self.current_phase(), data)

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        self._prepare_training()
        # `_make_function` is how Keras's own TensorFlow trainer compiles
        # `train_step` (tf.function, distribution, steps_per_execution);
        # here it compiles the step of each phase.
        steps = {
            phase: keras_internals.make_function(self, functools.partial(self._phase_train_step, phase))
            for phase in self.schedule.phases()
        }

        self._compiled_methods = {}  # Compiled again with the optimisers of now.

        def train_function(iterator):
            phase = self.current_phase()
            return self._with_gate_cache(phase, steps[phase], iterator)

        self.train_function = train_function
        return train_function
