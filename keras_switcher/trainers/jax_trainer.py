"""`SwitchedModel`'s training step on the JAX backend."""

import functools

import jax
import keras
from keras import StatelessScope

from keras_switcher import keras_internals
from keras_switcher.trainers.base import SwitchedTrainer


class JAXSwitchedTrainer(SwitchedTrainer):
    """Trains a `SwitchedModel` with a stateless `train_step`.

    As in Keras's JAX trainer, the state is the tuple `(trainable,
    non_trainable, optimizer, metrics)` of variable values; its optimizer
    part is `model.optimizer.variables`, the `PairedOptimizer`'s: the task
    optimiser's followed by the switcher optimiser's, so that Keras's JAX
    trainer moves both in and out of the jitted step. The phase is read on
    the host from the step counters in the state before every step, and
    one jitted function per phase runs it. (Choosing it on the device with
    `jax.lax.switch` made the task step four times slower on CPU.)
    """

    def _state_variables(self):
        """The variables behind the four parts of the state, in order."""
        # An uncompiled model (built in code, or loaded with `compile=False`)
        # has no `optimizer` attribute, and still predicts.
        optimizer = getattr(self, "optimizer", None)
        return (
            list(self.trainable_variables),
            list(self.non_trainable_variables),
            list(optimizer.variables) if optimizer else [],
            list(self.metrics_variables),
        )

    def _flat_state_variables(self):
        return [v for group in self._state_variables() for v in group]

    def _counter_positions(self):
        """Where `epochs_seen` and `steps_seen` sit in the non-trainable state."""
        ids = [id(v) for v in self.non_trainable_variables]
        return ids.index(id(self.epochs_seen)), ids.index(id(self.steps_seen))

    def _phase_of_state(self, state, positions=None):
        """The phase of the next step, read from the counters in `state`."""
        epochs, steps = positions or self._counter_positions()
        return self.schedule.phase(int(state[1][epochs]), int(state[1][steps]))

    def _stateless_phase_step(self, phase, state, data):
        """`_cached_phase_train_step` as a pure function of the state."""
        groups = self._state_variables()
        mapping = [
            (variable, value)
            for group, values in zip(groups, state)
            for variable, value in zip(group, values)
        ]
        with StatelessScope(state_mapping=mapping) as scope:
            logs = self._cached_phase_train_step(phase, data)
        new_state = tuple(
            [scope.get_current_value(variable) for variable in group] for group in groups
        )
        return logs, new_state

    def train_step(self, state, data):
        """Runs one training step in the phase the step counters give.

        Args:
            state: `(trainable, non_trainable, optimizer, metrics)` values.
            data: A batch `(x, y)` or `(x, y, sample_weight)`.

        Returns:
            `(logs, new_state)`.
        """
        return self._stateless_phase_step(self._phase_of_state(state), state, data)

    def _run_if(self, condition, fn, *args):
        """Runs `fn(*args)` when `condition` holds, as `jax.lax.cond` needs it:
        a pure function of the current values of all the state's variables."""
        scope = keras_internals.stateless_scope()
        variables = self._flat_state_variables()

        def run(values):
            with StatelessScope(state_mapping=list(zip(variables, values))) as inner:
                fn(*args)
            return [inner.get_current_value(v) for v in variables]

        values = [scope.get_current_value(v) for v in variables]
        values = jax.lax.cond(condition, run, lambda values: values, values)
        for variable, value in zip(variables, values):
            scope.add_update((variable, value))

    def _apply_gradients(self, optimizer, gradients, variables):
        """`optimizer.stateless_apply`, as Keras's JAX trainer calls it.

        `LossScaleOptimizer.apply` (the task optimiser under
        `mixed_float16`) assigns its variables inside `ops.cond`, whose
        values would leak out of the branch's trace into the stateless scope.
        """
        scope = keras_internals.stateless_scope()
        new_variables, new_optimizer_variables = optimizer.stateless_apply(
            [scope.get_current_value(v) for v in optimizer.variables],
            gradients,
            [scope.get_current_value(v) for v in variables],
        )
        for variable, value in zip(
            variables + list(optimizer.variables),
            new_variables + new_optimizer_variables,
        ):
            scope.add_update((variable, value))

    def _gradients(self, loss_fn, variables):
        scope = keras_internals.stateless_scope()
        targets = {id(v) for v in variables}
        others = [v for v in self._flat_state_variables() if id(v) not in targets]
        fixed = [scope.get_current_value(v) for v in others]

        def compute(values):
            mapping = list(zip(others, fixed)) + list(zip(variables, values))
            # Layer losses (activity regularisers) are collected in the scope,
            # where `compute_loss` finds them.
            with StatelessScope(state_mapping=mapping, collect_losses=True) as inner:
                loss, aux = loss_fn()
            return loss, (aux, [inner.get_current_value(v) for v in others])

        (loss, (aux, updated)), gradients = jax.value_and_grad(compute, has_aux=True)(
            [scope.get_current_value(v) for v in variables]
        )
        for variable, value in zip(others, updated):
            scope.add_update((variable, value))
        return loss, aux, gradients

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        self._prepare_training()
        # Compiled as Keras's JAX trainer compiles `train_step` (its
        # `_make_function` runs `steps_per_execution` steps), one per phase.
        out_shardings = None
        if keras.distribution.distribution() is not None:
            out_shardings = (None, self._state_shardings())
        jitted = {
            phase: jax.jit(
                functools.partial(self._stateless_phase_step, phase),
                donate_argnums=0,
                out_shardings=out_shardings,
            )
            for phase in self.schedule.phases()
        }

        positions = self._counter_positions()

        def step(state, data):
            return jitted[self._phase_of_state(state, positions)](state, data)

        eager = self.run_eagerly or not self.jit_compile
        self.train_function = keras_internals.make_function(self, self.train_step if eager else step)
        return self.train_function

    def _state_shardings(self):
        """The sharding of each value of the state, in its four parts."""
        return tuple([v.value.sharding for v in group] for group in self._state_variables())
