"""What one training step of a `SwitchedModel` does, for every backend."""

import math

import keras
from keras import ops
from keras import tree

from keras_switcher import keras_internals
from keras_switcher import schedule as schedule_lib
from keras_switcher.layers import gate_source

SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")


class SwitchedTrainer:
    """The phase step shared by the backends' trainers.

    A backend's trainer subclasses it and provides:

    - `_gradients(loss_fn, variables)`: calls `loss_fn()`, which returns
      `(loss, aux)`, and returns `(loss, aux, gradients)` with the gradient
      of `loss` with respect to each variable (trainable or not);
    - `_run_if(condition, fn, *args)`: runs `fn(*args)`, which updates
      variables, when the scalar tensor `condition` is true (inside a
      compiled step, or between steps for the gate cache's work);
    - `_read(variable)`: the variable's value, as the conditions of
      `_run_if` take it (on the host between steps, where that is one
      transfer instead of an operation per comparison);
    - `train_step`, which chooses the phase and calls
      `_cached_phase_train_step`;

    and may override `_apply_gradients(optimizer, gradients, variables)`,
    which updates `variables` and the optimiser's own. Each phase applies
    one of `model.optimizer`'s two optimisers (a `PairedOptimizer`) to its
    own variables.
    """

    def _check_backend(self):
        backend = keras.backend.backend()
        if backend not in SUPPORTED_BACKENDS:
            names = ", ".join(SUPPORTED_BACKENDS[:-1]) + f" and {SUPPORTED_BACKENDS[-1]}"
            settings = [f"KERAS_BACKEND={name}" for name in SUPPORTED_BACKENDS]
            raise ValueError(
                f"`SwitchedModel` trains on the {names} backends; the Keras "
                f"backend in use is '{backend}'. Set {', '.join(settings[:-1])} "
                f"or {settings[-1]} before importing Keras. Inference "
                "(`predict`, `evaluate`) works on any backend."
            )

    def _read(self, variable):
        return ops.convert_to_tensor(variable)

    def _apply_gradients(self, optimizer, gradients, variables):
        optimizer.apply(gradients, variables)

    def _cached_phase_train_step(self, phase, data):
        """`_phase_train_step` with the gate cache's work before and after."""
        return self._with_gate_cache(phase, self._phase_train_step, phase, data)

    def _with_gate_cache(self, phase, step, *args):
        """Runs `step(*args)`, a step in `phase`, between the gate cache's
        `before_step` and `after_step` (none in the warm-up)."""
        cache = self._gate_cache if phase != schedule_lib.WARMUP else None
        if cache:
            cache.before_step(self, phase)
        logs = step(*args)
        if cache:
            cache.after_step(self, phase)
        return logs

    def _phase_train_step(self, phase, data):
        """Runs one training step in `phase` and returns its logs.

        With cached gates it uses them as they are and only counts the
        step; `GateCache.before_step` and `after_step` refresh and apply.

        Args:
            phase: One of `"warmup"`, `"task"` and `"switcher"`.
            data: A batch `(x, y)` or `(x, y, sample_weight)`.

        Returns:
            The logs: the compiled metrics, `sparsity` and `phase`.
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        layers = self.switched_layers
        cache = self._gate_cache if phase != schedule_lib.WARMUP else None
        if phase == schedule_lib.WARMUP:
            source = "none"
        else:
            source = "cache" if cache else "switcher"
        if phase == schedule_lib.SWITCHER and cache:
            # The kernels are frozen: accumulate the gradient on the gates.
            optimizer, targets = None, cache.gates
        elif phase == schedule_lib.SWITCHER:
            optimizer, targets = self.switcher_optimizer, self.switcher_variables
        else:
            optimizer, targets = self.optimizer.task_optimizer, self.task_variables
        # With concurrent switcher updates, or switchers that observe the
        # task steps (movement), the task step also measures the gradient on
        # the cached gates.
        observers = [layer.switcher for layer in layers if layer.observes_task_gradient]
        measures = cache and phase == schedule_lib.TASK and (cache.concurrent_steps or observers)
        gates = cache.gates if measures else []

        def loss_fn():
            with gate_source(layers, source):
                y_pred = self(x, training=True)
            loss = self.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
            )
            scaled = optimizer.scale_loss(loss) if optimizer else loss
            return scaled, (loss, y_pred)

        _, (loss, y_pred), gradients = self._gradients(loss_fn, targets + gates)
        if gates:  # Measured on the loss scaled for the task optimiser.
            gate_gradients = self._unscaled(optimizer, gradients[len(targets) :])
        if optimizer is None:
            cache.accumulate(gradients)
        else:
            self._apply_gradients(optimizer, gradients[: len(targets)], targets)
        if gates and isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            # It skips a step whose gradients are not finite (and lowers its
            # scale); the switchers skip that step's gate gradients too.
            self._run_if(
                optimizer.check_finite(gradients),
                self._run_unless_frozen,
                self._learn_from_task_step,
                cache,
                gate_gradients,
            )
        elif gates:
            self._run_unless_frozen(self._learn_from_task_step, cache, gate_gradients)
        if cache and phase == schedule_lib.TASK:
            cache.count_task_step()
        if phase != schedule_lib.WARMUP:
            self.steps_seen.assign_add(1)
        # Under tf.distribute `compute_loss` divides by the replicas; the
        # tracked loss is the global one, as in Keras's TensorFlow trainer.
        keras_internals.loss_tracker(self).update_state(
            keras_internals.unscale_loss_for_distribution(loss),
            sample_weight=ops.shape(tree.flatten(x)[0])[0],
        )
        logs = self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
        if phase == schedule_lib.WARMUP:
            logs["sparsity"] = ops.zeros(())
        else:
            logs["sparsity"] = self._observed_sparsity()
        logs["phase"] = ops.convert_to_tensor(
            float(schedule_lib.PHASE_CODES[phase]), "float32"
        )
        return logs

    def _unscaled(self, optimizer, gradients):
        """Gradients of the loss that `optimizer.scale_loss` scaled, unscaled.

        The scale (a `LossScaleOptimizer`'s `dynamic_scale`, or the
        `loss_scale_factor`) is read before the optimiser's update, which
        may change it.
        """
        scale = optimizer.scale_loss(1.0)
        return [g / ops.cast(scale, g.dtype) for g in gradients]

    def _run_unless_frozen(self, fn, *args):
        """Runs `fn(*args)` unless the switchers are frozen by now."""
        freeze = self.schedule.freeze_switchers_after
        if freeze is None:
            fn(*args)
        else:  # Frozen switchers gather nothing, so they do not change.
            self._run_if(self.epochs_seen < freeze, fn, *args)

    def _learn_from_task_step(self, cache, gate_gradients):
        """Hands a task step's gate gradients to the switchers that use them."""
        if cache.concurrent_steps:
            cache.accumulate(gate_gradients)
        for layer, gradient in zip(cache.layers, gate_gradients):
            if layer.observes_task_gradient:
                layer.observe_gate_gradient(gradient)

    def _observed_sparsity(self):
        """Share of switched connections off in the gates of the last call."""
        layers = self.switched_layers
        sizes = [float(math.prod(layer.kernel.shape)) for layer in layers]
        off = sum(layer.observed_sparsity * size for layer, size in zip(layers, sizes))
        return off / sum(sizes)
