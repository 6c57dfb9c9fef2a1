"""`SwitchedModel`'s training step on the JAX backend."""

import functools

import jax
import keras
from keras import StatelessScope
from keras import ops
from keras.src.backend.common.stateless_scope import get_stateless_scope

from keras_switcher.trainers.base import SwitchedTrainer

_STATE_KEYS = (
    "trainable_variables",
    "non_trainable_variables",
    "optimizer_variables",
    "metrics_variables",
)


class JAXSwitchedTrainer(SwitchedTrainer):
    """Trains a `SwitchedModel` with a stateless `train_step`.

    As in Keras's JAX trainer, the state is the tuple `(trainable,
    non_trainable, optimizer, metrics)` of variable values; its optimizer
    part holds the task optimiser's variables followed by the switcher
    optimiser's. The phase is read on the host from the step counters in
    the state before every step, and one jitted function per phase runs
    it. (Choosing it on the device with `jax.lax.switch` made the task step
    four times slower on CPU.)
    """

    def _state_variables(self):
        """The variables behind the four parts of the state, in order."""
        optimizer_variables = list(self.optimizer.variables) if self.optimizer else []
        if self.switcher_optimizer is not None:
            optimizer_variables += list(self.switcher_optimizer.variables)
        return (
            list(self.trainable_variables),
            list(self.non_trainable_variables),
            optimizer_variables,
            list(self.metrics_variables),
        )

    def _flat_state_variables(self):
        return [v for group in self._state_variables() for v in group]

    def _phase_of_state(self, state):
        """The phase of the next step, read from the counters in `state`."""
        positions = {id(v): i for i, v in enumerate(self.non_trainable_variables)}
        epochs, steps = (
            int(state[1][positions[id(counter)]])
            for counter in (self.epochs_seen, self.steps_seen)
        )
        return self.schedule.phase(epochs, steps)

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

    def _switch(self, index, branches):
        """Runs `branches[index]()` on the device, threading the state.

        Each branch is stateful Keras code; it runs as a pure function of
        the current values of all variables, which `jax.lax.switch` needs.
        """
        scope = get_stateless_scope()
        variables = self._flat_state_variables()

        def pure(branch):
            def run(values):
                with StatelessScope(state_mapping=list(zip(variables, values))) as inner:
                    outputs = branch()
                return outputs, [inner.get_current_value(v) for v in variables]

            return run

        values = [scope.get_current_value(v) for v in variables]
        outputs, values = jax.lax.switch(index, [pure(b) for b in branches], values)
        for variable, value in zip(variables, values):
            scope.add_update((variable, value))
        return outputs

    def _run_if(self, condition, fn):
        self._switch(ops.cast(condition, "int32"), [lambda: None, fn])

    def _gradients(self, loss_fn, variables):
        scope = get_stateless_scope()
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
            out_shardings = (None, self._get_state_sharding_spec())
        jitted = {
            phase: jax.jit(
                functools.partial(self._stateless_phase_step, phase),
                donate_argnums=0,
                out_shardings=out_shardings,
            )
            for phase in self.schedule.phases()
        }

        def step(state, data):
            return jitted[self._phase_of_state(state)](state, data)

        eager = self.run_eagerly or not self.jit_compile
        self.train_function = self._make_function(self.train_step if eager else step)
        return self.train_function

    # Keras's JAX trainer moves `self.optimizer.variables` in and out of the
    # jitted step through these three private methods; the overrides add
    # the switcher optimiser's variables to that part of the state.

    def _get_jax_state(
        self,
        trainable_variables=False,
        non_trainable_variables=False,
        optimizer_variables=False,
        metrics_variables=False,
        purge_model_variables=False,
    ):
        wanted = (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            metrics_variables,
        )
        groups = self._state_variables()
        state = tuple(
            [v.value for v in group] for want, group in zip(wanted, groups) if want
        )
        if purge_model_variables:
            for want, group in zip(wanted, groups):
                for variable in group if want else ():
                    variable._value = None
        return state

    def jax_state_sync(self):
        if not getattr(self, "_jax_state", None) or self._jax_state_synced:
            return
        for key, group in zip(_STATE_KEYS, self._state_variables()):
            for variable, value in zip(group, self._jax_state.get(key) or ()):
                variable.assign(value)
        self._jax_state_synced = True

    def _get_state_sharding_spec(self):
        return tuple(
            [v.value.sharding for v in group] for group in self._state_variables()
        )
